/**
 * The attribute-based policy language: which verified peers may use a portal.
 * Grammar and semantics: docs/PROTOCOL.md §12.
 */
export { PolicySyntaxError, type PolicyExpr, type PolicySubject } from './ast.ts';
export { parsePolicy, compilePolicy } from './parser.ts';
export { printPolicy } from './print.ts';
export { evaluatePolicy, policyAllows } from './evaluate.ts';
