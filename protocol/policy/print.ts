/**
 * Canonical text of a policy: single spaces around operators, `not ` before
 * its operand, strings with only \" and \\ escaped, and the fewest
 * parentheses that keep the tree's shape (so parse(print(e)) = e).
 *
 * Iterative, so a deep tree built in code cannot overflow the stack.
 */
import { PosternError } from '../errors.ts';
import { POLICY_INVALID, SUBJECT_IDENTIFIER, type PolicyExpr } from './ast.ts';
import { isPolicyName } from './lexer.ts';

// Binding strength; a child binding less tightly than its slot needs parentheses.
const OR = 1;
const AND = 2;
const NOT = 3;
const ATOM = 4;

function strength(e: PolicyExpr): number {
  switch (e.kind) {
    case 'or':
      return OR;
    case 'and':
      return AND;
    case 'not':
      return NOT;
    default:
      return ATOM;
  }
}

function invalid(message: string): PosternError {
  return new PosternError(
    POLICY_INVALID,
    message,
    'build policy trees with parsePolicy, or check names and strings against docs/PROTOCOL.md §12',
  );
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !isPolicyName(name)) {
    throw invalid(`${JSON.stringify(String(name)).slice(0, 60)} is not a policy name`);
  }
  return name;
}

/** A double-quoted string literal; control characters have no spelling. */
export function quoteString(value: unknown): string {
  if (typeof value !== 'string') throw invalid('a comparison value is not a string');
  let out = '"';
  let run = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20) throw invalid('a comparison value contains a control character, which policies cannot spell');
    if (c === 0x22 || c === 0x5c) {
      out += `${value.slice(run, i)}\\${value[i]}`;
      run = i + 1;
    }
  }
  return `${out}${value.slice(run)}"`;
}

type Task = string | { readonly expr: PolicyExpr; readonly min: number };

/** Canonical source text for `expr`; throws POSTERN_POLICY_INVALID for a tree no source can produce. */
export function printPolicy(expr: PolicyExpr): string {
  const out: string[] = [];
  const stack: Task[] = [{ expr, min: OR }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if (typeof task === 'string') {
      out.push(task);
      continue;
    }
    const e = task.expr;
    if (e === null || typeof e !== 'object') throw invalid('a policy node is not an object');
    const paren = strength(e) < task.min;
    // Pushed in reverse: the stack pops the last push first.
    if (paren) stack.push(')');
    switch (e.kind) {
      case 'or':
        stack.push({ expr: e.right, min: AND }, ' or ', { expr: e.left, min: OR });
        break;
      case 'and':
        stack.push({ expr: e.right, min: NOT }, ' and ', { expr: e.left, min: AND });
        break;
      case 'not':
        stack.push({ expr: e.expr, min: NOT }, 'not ');
        break;
      case 'const':
        if (typeof e.value !== 'boolean') throw invalid('a constant is not a boolean');
        stack.push(e.value ? 'true' : 'false');
        break;
      case 'attr':
        if (e.name === SUBJECT_IDENTIFIER) throw invalid(`${SUBJECT_IDENTIFIER} cannot stand alone; compare it`);
        stack.push(checkName(e.name));
        break;
      case 'eq':
        stack.push(`${checkName(e.name)} = ${quoteString(e.value)}`);
        break;
      case 'ne':
        stack.push(`${checkName(e.name)} != ${quoteString(e.value)}`);
        break;
      default:
        throw invalid(`unknown policy node kind ${JSON.stringify(String((e as { kind: unknown }).kind)).slice(0, 40)}`);
    }
    if (paren) stack.push('(');
  }
  return out.join('');
}
