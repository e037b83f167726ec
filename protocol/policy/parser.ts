/**
 * Recursive-descent parser for the policy grammar (docs/PROTOCOL.md §12.1):
 *
 *   policy     = or-expr EOF
 *   or-expr    = and-expr { "or" and-expr }
 *   and-expr   = not-expr { "and" not-expr }
 *   not-expr   = "not" not-expr | primary
 *   primary    = "true" | "false" | NAME [ ("=" | "!=") STRING ] | "(" or-expr ")"
 *
 * Recursion happens only through "(" and "not", both bounded by
 * MAX_POLICY_DEPTH; and/or chains are loops.
 */
import {
  MAX_POLICY_DEPTH,
  MAX_POLICY_LENGTH,
  PolicySyntaxError,
  SUBJECT_IDENTIFIER,
  type PolicyExpr,
} from './ast.ts';
import { Lexer, columnAt, syntaxError, type Token } from './lexer.ts';

const GENERAL_HINT =
  'a policy combines names, comparisons such as role = "reader", true and false with and, or, not and parentheses';

class Parser {
  private readonly lexer: Lexer;
  private readonly source: string;
  private tok: Token;
  private prev: Token | undefined;
  private depth = 0;
  /** Offsets of the "(" still open, for the hint when one is never closed. */
  private readonly open: number[] = [];

  constructor(source: string) {
    this.source = source;
    this.lexer = new Lexer(source);
    this.tok = this.lexer.next();
  }

  parse(): PolicyExpr {
    const expr = this.orExpr();
    if (this.tok.kind !== 'eof') throw this.unexpected();
    return expr;
  }

  private advance(): Token {
    const t = this.tok;
    this.prev = t;
    this.tok = this.lexer.next();
    return t;
  }

  private orExpr(): PolicyExpr {
    let left = this.andExpr();
    while (this.tok.kind === 'or') {
      this.advance();
      left = { kind: 'or', left, right: this.andExpr() };
    }
    return left;
  }

  private andExpr(): PolicyExpr {
    let left = this.notExpr();
    while (this.tok.kind === 'and') {
      this.advance();
      left = { kind: 'and', left, right: this.notExpr() };
    }
    return left;
  }

  private notExpr(): PolicyExpr {
    if (this.tok.kind !== 'not') return this.primary();
    this.enter();
    this.advance();
    const expr = this.notExpr();
    this.depth--;
    return { kind: 'not', expr };
  }

  private primary(): PolicyExpr {
    const t = this.tok;
    switch (t.kind) {
      case 'true':
      case 'false':
        this.advance();
        return { kind: 'const', value: t.kind === 'true' };
      case 'name':
        return this.nameOrComparison();
      case '(': {
        this.enter();
        this.open.push(t.offset);
        this.advance();
        const expr = this.orExpr();
        if (this.tok.kind !== ')') throw this.unexpected();
        this.advance();
        this.open.pop();
        this.depth--;
        return expr;
      }
      default:
        throw this.unexpected();
    }
  }

  private nameOrComparison(): PolicyExpr {
    const nameTok = this.advance();
    const name = nameTok.value;
    const op = this.tok;
    if (op.kind !== '=' && op.kind !== '!=') {
      if (name === SUBJECT_IDENTIFIER) {
        throw syntaxError(
          this.source,
          nameTok.offset,
          `${SUBJECT_IDENTIFIER} must be compared with = or !=`,
          `write ${SUBJECT_IDENTIFIER} = "I…" to match one peer`,
        );
      }
      return { kind: 'attr', name };
    }
    this.advance();
    const value = this.tok;
    if (value.kind !== 'string') {
      throw this.unexpected(
        `the right side of ${op.kind} is a double-quoted string, e.g. ${name} ${op.kind} "value"`,
      );
    }
    this.advance();
    return op.kind === '=' ? { kind: 'eq', name, value: value.value } : { kind: 'ne', name, value: value.value };
  }

  /** Count one level of "(" or "not" at the current token. */
  private enter(): void {
    if (++this.depth > MAX_POLICY_DEPTH) {
      throw syntaxError(
        this.source,
        this.tok.offset,
        `policy nested more than ${MAX_POLICY_DEPTH} levels deep`,
        `parentheses and "not" nest at most ${MAX_POLICY_DEPTH} levels; simplify the expression`,
      );
    }
  }

  private unexpected(hint?: string): PolicySyntaxError {
    const t = this.tok;
    const src = this.source;
    if (t.kind === 'eof') {
      const last = this.open[this.open.length - 1];
      const eofHint =
        hint ??
        (last !== undefined
          ? `the "(" at column ${columnAt(src, last)} is never closed`
          : this.prev === undefined
            ? 'a policy cannot be empty; write true or false to allow or deny everyone'
            : 'the policy ends too early; finish the expression');
      return syntaxError(src, t.offset, 'unexpected end of policy', eofHint);
    }
    if (t.kind === 'name') {
      const shown = t.value.length > 40 ? `${t.value.slice(0, 40)}…` : t.value;
      const p = this.prev?.kind;
      const nameHint =
        hint ??
        (p === 'name' || p === 'string' || p === ')' || p === 'true' || p === 'false'
          ? 'join conditions with "and" or "or"'
          : GENERAL_HINT);
      return syntaxError(src, t.offset, `unexpected name "${shown}"`, nameHint);
    }
    if (t.kind === 'string') {
      return syntaxError(src, t.offset, 'unexpected string', hint ?? 'a string can only follow = or !=');
    }
    return syntaxError(src, t.offset, `unexpected token "${t.kind}"`, hint ?? this.tokenHint(t));
  }

  private tokenHint(t: Token): string {
    const p = this.prev?.kind;
    if (t.kind === ')') return this.open.length === 0 ? 'this ")" has no matching "("' : GENERAL_HINT;
    if (t.kind === '=' || t.kind === '!=') {
      if (p === 'and' || p === 'or' || p === 'not' || p === 'true' || p === 'false') {
        return 'and, or, not, true and false are keywords, not attribute names';
      }
      return `a comparison needs an attribute name on the left: role ${t.kind} "reader"`;
    }
    if ((t.kind === 'and' || t.kind === 'or') && (p === undefined || p === 'and' || p === 'or' || p === 'not' || p === '(')) {
      return `"${t.kind}" needs an expression on both sides`;
    }
    return GENERAL_HINT;
  }
}

/** The limit counts code points; a code point is one or two UTF-16 units. */
function tooLong(source: string): boolean {
  if (source.length <= MAX_POLICY_LENGTH) return false;
  if (source.length > 2 * MAX_POLICY_LENGTH) return true;
  return columnAt(source, source.length) - 1 > MAX_POLICY_LENGTH;
}

/** Parse a policy source; throws PolicySyntaxError (and nothing else) on bad input. */
export function parsePolicy(source: string): PolicyExpr {
  if (typeof source !== 'string') {
    throw new PolicySyntaxError(1, 'policy is not a string at column 1', 'pass the policy source text');
  }
  if (tooLong(source)) {
    const column = MAX_POLICY_LENGTH + 1;
    throw new PolicySyntaxError(
      column,
      `policy longer than ${MAX_POLICY_LENGTH} characters at column ${column}`,
      `policies are at most ${MAX_POLICY_LENGTH} characters; give peers an attribute instead of listing them`,
    );
  }
  return new Parser(source).parse();
}

export function compilePolicy(source: string): { ok: true; expr: PolicyExpr } | { ok: false; error: PolicySyntaxError } {
  try {
    return { ok: true, expr: parsePolicy(source) };
  } catch (e) {
    if (e instanceof PolicySyntaxError) return { ok: false, error: e };
    throw e;
  }
}
