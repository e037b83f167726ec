/**
 * Evaluation of a policy against a subject (docs/PROTOCOL.md §12.4).
 *
 * Closed by default: a missing attribute satisfies neither `name`,
 * `name = "v"` nor `name != "v"`. Only own properties of `attributes` are
 * attributes, so `constructor` or `__proto__` never match by accident.
 * Never throws: a malformed tree or subject evaluates to false (deny).
 * Iterative with short-circuiting, so tree depth cannot overflow the stack.
 */
import { SUBJECT_IDENTIFIER, type PolicyExpr, type PolicySubject } from './ast.ts';
import { compilePolicy } from './parser.ts';

/** The subject's value for `name`, or undefined when it has none. */
function lookup(subject: PolicySubject, name: string): string | undefined {
  if (name === SUBJECT_IDENTIFIER) {
    return typeof subject.identifier === 'string' ? subject.identifier : undefined;
  }
  const attrs = subject.attributes;
  if (attrs === null || typeof attrs !== 'object' || !Object.hasOwn(attrs, name)) return undefined;
  const v = attrs[name];
  return typeof v === 'string' ? v : undefined;
}

function leaf(e: PolicyExpr, subject: PolicySubject): boolean {
  switch (e.kind) {
    case 'const':
      return e.value === true;
    case 'attr':
      return lookup(subject, e.name) === 'true';
    case 'eq':
      return typeof e.value === 'string' && lookup(subject, e.name) === e.value;
    case 'ne': {
      if (typeof e.value !== 'string') return false;
      const v = lookup(subject, e.name);
      return v !== undefined && v !== e.value;
    }
    default:
      return false;
  }
}

interface Frame {
  readonly expr: PolicyExpr;
  /** 0: not started; 1: first operand done; 2: second operand done. */
  stage: 0 | 1 | 2;
}

function run(root: PolicyExpr, subject: PolicySubject): boolean {
  const stack: Frame[] = [{ expr: root, stage: 0 }];
  let result = false; // value of the operand that finished last
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    const e = f.expr;
    if (e === null || typeof e !== 'object') return false;
    if (e.kind === 'and' || e.kind === 'or') {
      if (f.stage === 0) {
        f.stage = 1;
        stack.push({ expr: e.left, stage: 0 });
      } else if (f.stage === 1 && result === (e.kind === 'and')) {
        f.stage = 2; // left did not decide it: the right operand's value is the answer
        stack.push({ expr: e.right, stage: 0 });
      } else {
        stack.pop(); // short-circuited, or right done: `result` already holds the value
      }
    } else if (e.kind === 'not') {
      if (f.stage === 0) {
        f.stage = 1;
        stack.push({ expr: e.expr, stage: 0 });
      } else {
        result = !result;
        stack.pop();
      }
    } else {
      result = leaf(e, subject);
      stack.pop();
    }
  }
  return result;
}

/** Whether `subject` satisfies `expr`. Never throws; anything malformed denies. */
export function evaluatePolicy(expr: PolicyExpr, subject: PolicySubject): boolean {
  try {
    if (subject === null || typeof subject !== 'object') return false;
    return run(expr, subject);
  } catch {
    return false;
  }
}

/**
 * Parse and evaluate in one step. A policy that does not parse denies, and so
 * does an absent one: callers decide what "no policy" means before calling.
 */
export function policyAllows(source: string | undefined, subject: PolicySubject): boolean {
  if (typeof source !== 'string') return false;
  try {
    const compiled = compilePolicy(source);
    return compiled.ok && evaluatePolicy(compiled.expr, subject);
  } catch {
    return false;
  }
}
