import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  PolicySyntaxError,
  evaluatePolicy,
  parsePolicy,
  policyAllows,
  printPolicy,
  type PolicyExpr,
  type PolicySubject,
} from '../../protocol/policy/index.ts';

const RUNS = { numRuns: 400 };
const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false']);

// ---- generators -------------------------------------------------------------

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_';
const NAME_CHARS = `${LETTERS}0123456789-.:`;

/** Any NAME token except subject.identifier, biased towards near-keywords. */
const nameArb: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...LETTERS), fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength: 10 }))
    .map(([h, t]) => h + t)
    .filter((n) => !KEYWORDS.has(n) && n !== 'subject.identifier'),
  fc.constantFrom('android', 'order', 'nota', 'true-ish', 'and:x', 'or.y', 'AND', 'inlet-from-saas', '__proto__', 'subject.identifierx'),
);

const cmpNameArb = fc.oneof(nameArb, fc.constant('subject.identifier'));

const noControl = (s: string) => !/[\u0000-\u001f]/.test(s);

/** String values with quotes, backslashes, keyword text and non-ASCII mixed in. */
const valueArb: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    fc.constantFrom('"', '\\', '\\"', ' ', 'and', ')', '(', '=', "'", 'é', '😀', '\u007f', '\u2028'),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter(noControl),
  ),
  maxLength: 12,
});

function exprArb(name: fc.Arbitrary<string>, cmpName: fc.Arbitrary<string>, value: fc.Arbitrary<string>) {
  return fc.letrec<{ expr: PolicyExpr }>((tie) => ({
    expr: fc.oneof(
      { maxDepth: 6, depthIdentifier: 'policy', withCrossShrink: true },
      fc.oneof(
        fc.boolean().map((v): PolicyExpr => ({ kind: 'const', value: v })),
        name.map((n): PolicyExpr => ({ kind: 'attr', name: n })),
        fc.tuple(cmpName, value).map(([n, v]): PolicyExpr => ({ kind: 'eq', name: n, value: v })),
        fc.tuple(cmpName, value).map(([n, v]): PolicyExpr => ({ kind: 'ne', name: n, value: v })),
      ),
      tie('expr').map((e): PolicyExpr => ({ kind: 'not', expr: e })),
      fc.tuple(tie('expr'), tie('expr')).map(([l, r]): PolicyExpr => ({ kind: 'and', left: l, right: r })),
      fc.tuple(tie('expr'), tie('expr')).map(([l, r]): PolicyExpr => ({ kind: 'or', left: l, right: r })),
    ),
  })).expr;
}

const anyExprArb = exprArb(nameArb, cmpNameArb, valueArb);

// A small vocabulary so that evaluation actually hits present attributes.
const POOL_NAMES = ['a', 'b', 'role', '__proto__', 'constructor', 'toString'];
const POOL_VALUES = ['true', 'false', 'reader', '', 'I1'];
const pooledExprArb = exprArb(
  fc.constantFrom(...POOL_NAMES),
  fc.constantFrom(...POOL_NAMES, 'subject.identifier'),
  fc.constantFrom(...POOL_VALUES),
);

const subjectArb: fc.Arbitrary<PolicySubject> = fc
  .tuple(
    fc.constantFrom('I1', 'I2', 'true'),
    fc.array(fc.tuple(fc.constantFrom(...POOL_NAMES, 'subject.identifier'), fc.constantFrom(...POOL_VALUES)), {
      maxLength: 6,
    }),
    fc.boolean(),
  )
  .map(([identifier, entries, nullProto]) => {
    const attributes: Record<string, string> = nullProto ? Object.create(null) : {};
    for (const [k, v] of entries) Object.defineProperty(attributes, k, { value: v, enumerable: true, writable: true, configurable: true });
    return { identifier, attributes };
  });

// ---- the naive twin of evaluatePolicy (docs/PROTOCOL.md §12.4) -----------

function naive(e: PolicyExpr, s: PolicySubject): boolean {
  const get = (n: string): string | undefined =>
    n === 'subject.identifier' ? s.identifier : Object.hasOwn(s.attributes, n) ? s.attributes[n] : undefined;
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'attr':
      return get(e.name) === 'true';
    case 'eq':
      return get(e.name) === e.value;
    case 'ne':
      return get(e.name) !== undefined && get(e.name) !== e.value;
    case 'not':
      return !naive(e.expr, s);
    case 'and':
      return naive(e.left, s) && naive(e.right, s);
    case 'or':
      return naive(e.left, s) || naive(e.right, s);
  }
}

// ---- properties -------------------------------------------------------------

describe('policy properties', () => {
  it('parse(print(e)) = e for generated trees', () => {
    fc.assert(
      fc.property(anyExprArb, (e) => {
        const text = printPolicy(e);
        fc.pre(text.length <= 4096);
        expect(parsePolicy(text)).toStrictEqual(e);
        expect(printPolicy(parsePolicy(text))).toBe(text);
      }),
      RUNS,
    );
  });

  it('evaluatePolicy agrees with a naive recursive evaluator', () => {
    fc.assert(
      fc.property(pooledExprArb, subjectArb, (e, s) => {
        expect(evaluatePolicy(e, s)).toBe(naive(e, s));
        expect(policyAllows(printPolicy(e), s)).toBe(naive(e, s));
      }),
      RUNS,
    );
  });

  it('evaluatePolicy never throws, whatever the subject or tree', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyExprArb, fc.anything() as fc.Arbitrary<PolicyExpr>),
        fc.oneof(
          subjectArb,
          fc.record({ identifier: fc.string(), attributes: fc.dictionary(fc.string(), fc.string()) }),
          fc.anything() as fc.Arbitrary<PolicySubject>,
        ),
        (e, s) => {
          expect(typeof evaluatePolicy(e, s)).toBe('boolean');
        },
      ),
      RUNS,
    );
  });

  const tokenSoup = fc
    .array(
      fc.constantFrom(
        'a', 'b-c', 'x.y', 'and', 'or', 'not', 'true', 'false', '(', ')', '=', '!=', '!', '"v"', '"', '\\', '"\\"',
        '"\\q', ' ', '\t', '\n', 'subject.identifier', '😀', 'é', '1', "'", '&&',
      ),
      { maxLength: 30 },
    )
    .map((parts) => parts.join(''));

  const anySource = fc.oneof(
    tokenSoup,
    fc.string({ maxLength: 60 }),
    fc.string({ unit: 'grapheme', maxLength: 60 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
  );

  it('parsePolicy returns a tree or throws PolicySyntaxError with a valid column', () => {
    fc.assert(
      fc.property(anySource, (source) => {
        let parsed: PolicyExpr | undefined;
        try {
          parsed = parsePolicy(source);
        } catch (err) {
          expect(err).toBeInstanceOf(PolicySyntaxError);
          const e = err as PolicySyntaxError;
          const codePoints = [...source].length;
          expect(Number.isInteger(e.column)).toBe(true);
          expect(e.column).toBeGreaterThanOrEqual(1);
          expect(e.column).toBeLessThanOrEqual(codePoints + 1);
          expect(e.message).toContain(`at column ${e.column}`);
          expect(e.code).toBe('POSTERN_POLICY_SYNTAX');
          return;
        }
        // Whatever parses prints to text that parses back to the same tree.
        expect(parsePolicy(printPolicy(parsed))).toStrictEqual(parsed);
      }),
      RUNS,
    );
  });

  it('appending a stray token to a printed policy fails at that token', () => {
    fc.assert(
      fc.property(anyExprArb, fc.constantFrom(')', '=', 'and', '"', '!'), (e, extra) => {
        const text = printPolicy(e);
        fc.pre(text.length + extra.length + 1 <= 4096);
        const bad = `${text} ${extra}`;
        let err: unknown;
        try {
          parsePolicy(bad);
        } catch (x) {
          err = x;
        }
        expect(err).toBeInstanceOf(PolicySyntaxError);
        const col = (err as PolicySyntaxError).column;
        const start = [...text].length + 2; // column of `extra`
        expect(col).toBeGreaterThanOrEqual(start);
        expect(col).toBeLessThanOrEqual(start + [...extra].length);
      }),
      RUNS,
    );
  });
});
