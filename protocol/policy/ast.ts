/**
 * The attribute-based policy language: its syntax tree, its subject, its
 * limits and its one error type. The grammar, the lexical rules and the
 * evaluation semantics are specified in docs/PROTOCOL.md §12.
 */
import { PosternError } from '../errors.ts';

/** A literal `true` or `false`. */
export interface PolicyConst {
  readonly kind: 'const';
  readonly value: boolean;
}

/** A bare name: attribute `name` equals the string "true". */
export interface PolicyAttr {
  readonly kind: 'attr';
  readonly name: string;
}

/** `name = "value"`. */
export interface PolicyEq {
  readonly kind: 'eq';
  readonly name: string;
  readonly value: string;
}

/** `name != "value"`: the attribute exists and differs (closed by default). */
export interface PolicyNe {
  readonly kind: 'ne';
  readonly name: string;
  readonly value: string;
}

export interface PolicyNot {
  readonly kind: 'not';
  readonly expr: PolicyExpr;
}

export interface PolicyAnd {
  readonly kind: 'and';
  readonly left: PolicyExpr;
  readonly right: PolicyExpr;
}

export interface PolicyOr {
  readonly kind: 'or';
  readonly left: PolicyExpr;
  readonly right: PolicyExpr;
}

export type PolicyExpr = PolicyConst | PolicyAttr | PolicyEq | PolicyNe | PolicyNot | PolicyAnd | PolicyOr;

/** What a policy is evaluated against: the peer's verified identity. */
export interface PolicySubject {
  identifier: string;
  attributes: Readonly<Record<string, string>>;
}

/** The one name that refers to the peer's identifier rather than an attribute. */
export const SUBJECT_IDENTIFIER = 'subject.identifier';

/** Reserved words; they are never names. Matched case-sensitively. */
export const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'true', 'false']);

/** Longest accepted source, in Unicode code points. */
export const MAX_POLICY_LENGTH = 4096;

/** Deepest accepted nesting of `(` and `not`, counted together. */
export const MAX_POLICY_DEPTH = 64;

export const POLICY_SYNTAX = 'POSTERN_POLICY_SYNTAX';
export const POLICY_INVALID = 'POSTERN_POLICY_INVALID';

/**
 * A policy source that does not parse. `column` is 1-based and counts Unicode
 * code points; it is also spelled out in the message ("… at column 7").
 */
export class PolicySyntaxError extends PosternError {
  readonly column: number;

  constructor(column: number, message: string, hint?: string) {
    super(POLICY_SYNTAX, message, hint);
    this.name = 'PolicySyntaxError';
    this.column = column;
  }
}
