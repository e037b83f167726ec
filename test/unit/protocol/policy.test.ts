import { describe, expect, it } from 'vitest';
import { PosternError } from '../../../protocol/errors.ts';
import {
  PolicySyntaxError,
  compilePolicy,
  evaluatePolicy,
  parsePolicy,
  policyAllows,
  printPolicy,
  type PolicyExpr,
  type PolicySubject,
} from '../../../protocol/policy/index.ts';

const attr = (name: string): PolicyExpr => ({ kind: 'attr', name });
const eq = (name: string, value: string): PolicyExpr => ({ kind: 'eq', name, value });
const ne = (name: string, value: string): PolicyExpr => ({ kind: 'ne', name, value });
const not = (expr: PolicyExpr): PolicyExpr => ({ kind: 'not', expr });
const and = (left: PolicyExpr, right: PolicyExpr): PolicyExpr => ({ kind: 'and', left, right });
const or = (left: PolicyExpr, right: PolicyExpr): PolicyExpr => ({ kind: 'or', left, right });
const T: PolicyExpr = { kind: 'const', value: true };
const F: PolicyExpr = { kind: 'const', value: false };

function subject(attributes: Record<string, string>, identifier = 'I00'): PolicySubject {
  return { identifier, attributes };
}

/** The PolicySyntaxError that parsing `source` throws. */
function syntaxError(source: string): PolicySyntaxError {
  try {
    parsePolicy(source);
  } catch (e) {
    if (e instanceof PolicySyntaxError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(source)} not to parse`);
}

describe('parsePolicy: operators', () => {
  it('parses a bare name as an attribute test', () => {
    expect(parsePolicy('inlet-from-saas')).toStrictEqual(attr('inlet-from-saas'));
  });

  it('parses = and != comparisons', () => {
    expect(parsePolicy('customer = "acme"')).toStrictEqual(eq('customer', 'acme'));
    expect(parsePolicy('customer != "acme"')).toStrictEqual(ne('customer', 'acme'));
  });

  it('parses the constants', () => {
    expect(parsePolicy('true')).toStrictEqual(T);
    expect(parsePolicy('false')).toStrictEqual(F);
  });

  it('parses not, and, or', () => {
    expect(parsePolicy('not a')).toStrictEqual(not(attr('a')));
    expect(parsePolicy('not not a')).toStrictEqual(not(not(attr('a'))));
    expect(parsePolicy('a and b')).toStrictEqual(and(attr('a'), attr('b')));
    expect(parsePolicy('a or b')).toStrictEqual(or(attr('a'), attr('b')));
  });

  it('parses subject.identifier comparisons as comparisons on that name', () => {
    expect(parsePolicy('subject.identifier = "I3f09"')).toStrictEqual(eq('subject.identifier', 'I3f09'));
    expect(parsePolicy('subject.identifier != "I3f09"')).toStrictEqual(ne('subject.identifier', 'I3f09'));
  });
});

describe('parsePolicy: precedence and grouping', () => {
  it('binds and tighter than or', () => {
    expect(parsePolicy('a or b and c')).toStrictEqual(or(attr('a'), and(attr('b'), attr('c'))));
    expect(parsePolicy('a and b or c')).toStrictEqual(or(and(attr('a'), attr('b')), attr('c')));
  });

  it('binds not tighter than and', () => {
    expect(parsePolicy('not a and b')).toStrictEqual(and(not(attr('a')), attr('b')));
    expect(parsePolicy('not a = "x" or b')).toStrictEqual(or(not(eq('a', 'x')), attr('b')));
  });

  it('associates and/or to the left', () => {
    expect(parsePolicy('a or b or c')).toStrictEqual(or(or(attr('a'), attr('b')), attr('c')));
    expect(parsePolicy('a and b and c')).toStrictEqual(and(and(attr('a'), attr('b')), attr('c')));
  });

  it('lets parentheses override precedence', () => {
    expect(parsePolicy('(a or b) and c')).toStrictEqual(and(or(attr('a'), attr('b')), attr('c')));
    expect(parsePolicy('not (a and b)')).toStrictEqual(not(and(attr('a'), attr('b'))));
    expect(parsePolicy('a and (b and c)')).toStrictEqual(and(attr('a'), and(attr('b'), attr('c'))));
    expect(parsePolicy('((((a))))')).toStrictEqual(attr('a'));
  });

  it('needs no spaces between tokens that are not names', () => {
    expect(parsePolicy('a="x"and(b!="y"or not(c))')).toStrictEqual(
      and(eq('a', 'x'), or(ne('b', 'y'), not(attr('c')))),
    );
  });

  it('accepts space, tab, CR and LF as whitespace', () => {
    expect(parsePolicy(' \t\r\n a \n and\tb \r\n')).toStrictEqual(and(attr('a'), attr('b')));
  });
});

describe('parsePolicy: lexical rules', () => {
  it('accepts names with letters, digits, -, _, . and :', () => {
    for (const n of ['a', '_', 'A1', 'inlet-from-saas', 'subject.identifier2', 'ns:role', '_x.y-z:9', 'a--b..c']) {
      expect(parsePolicy(n === 'subject.identifier' ? `${n} = "x"` : n)).toStrictEqual(attr(n));
    }
  });

  it('treats words that merely start with a keyword as names', () => {
    for (const n of ['android', 'order', 'nothing', 'true-ish', 'falsey', 'and:x', 'or.y', 'not_z']) {
      expect(parsePolicy(n)).toStrictEqual(attr(n));
    }
  });

  it('matches keywords case-sensitively', () => {
    expect(parsePolicy('AND')).toStrictEqual(attr('AND'));
    expect(parsePolicy('True')).toStrictEqual(attr('True'));
    expect(syntaxError('a AND b').column).toBe(3);
  });

  it('decodes the two escapes and nothing else', () => {
    expect(parsePolicy('a = "say \\"hi\\""')).toStrictEqual(eq('a', 'say "hi"'));
    expect(parsePolicy('a = "back\\\\slash"')).toStrictEqual(eq('a', 'back\\slash'));
    expect(parsePolicy('a = "\\\\\\""')).toStrictEqual(eq('a', '\\"'));
    expect(parsePolicy('a = ""')).toStrictEqual(eq('a', ''));
  });

  it('keeps non-ASCII characters in strings as they are', () => {
    expect(parsePolicy('team = "Zürich 😀"')).toStrictEqual(eq('team', 'Zürich 😀'));
    expect(parsePolicy('a = "\u007f\u00a0"')).toStrictEqual(eq('a', '\u007f\u00a0'));
  });
});

describe('parsePolicy: errors', () => {
  // [source, column, message]
  const cases: [string, number, string][] = [
    ['"abc', 1, 'unterminated string starting at column 1'],
    ['role = "reader', 8, 'unterminated string starting at column 8'],
    ['a = "x\\', 5, 'unterminated string starting at column 5'],
    [')', 1, 'unexpected token ")" at column 1'],
    ['(a or )', 7, 'unexpected token ")" at column 7'],
    ['(a))', 4, 'unexpected token ")" at column 4'],
    ['a and', 6, 'unexpected end of policy at column 6'],
    ['a and   ', 9, 'unexpected end of policy at column 9'],
    ['= "x"', 1, 'unexpected token "=" at column 1'],
    ['a = "x\\n"', 7, 'invalid escape "\\n" at column 7'],
    ['a = "\\u0041"', 6, 'invalid escape "\\u" at column 6'],
    ['a = "x\ny"', 7, 'control character U+000A in string at column 7'],
    ['a = "\t"', 6, 'control character U+0009 in string at column 6'],
    ['', 1, 'unexpected end of policy at column 1'],
    ['   ', 4, 'unexpected end of policy at column 4'],
    ['a b', 3, 'unexpected name "b" at column 3'],
    ['a = b', 5, 'unexpected name "b" at column 5'],
    ['a =', 4, 'unexpected end of policy at column 4'],
    ['a = true', 5, 'unexpected token "true" at column 5'],
    ['"x"', 1, 'unexpected string at column 1'],
    ['a "x"', 3, 'unexpected string at column 3'],
    ['not', 4, 'unexpected end of policy at column 4'],
    ['()', 2, 'unexpected token ")" at column 2'],
    ['(a', 3, 'unexpected end of policy at column 3'],
    ['a or or b', 6, 'unexpected token "or" at column 6'],
    ['and a', 1, 'unexpected token "and" at column 1'],
    ['true = "x"', 6, 'unexpected token "=" at column 6'],
    ['a ! b', 3, 'unexpected character "!" at column 3'],
    ['!a', 1, 'unexpected character "!" at column 1'],
    ['a && b', 3, 'unexpected character "&" at column 3'],
    ["a = 'x'", 5, 'unexpected character "\'" at column 5'],
    ['1a', 1, 'unexpected character "1" at column 1'],
    ['-a', 1, 'unexpected character "-" at column 1'],
    ['a\u00a0', 2, 'unexpected character U+00A0 at column 2'],
    ['subject.identifier', 1, 'subject.identifier must be compared with = or != at column 1'],
    ['a or subject.identifier', 6, 'subject.identifier must be compared with = or != at column 6'],
  ];

  it.each(cases)('%j fails at column %i', (source, column, message) => {
    const e = syntaxError(source);
    expect(e.column).toBe(column);
    expect(e.message).toBe(message);
  });

  it('throws a PosternError with the stable code, a hint and the column in the message', () => {
    for (const [source] of cases) {
      const e = syntaxError(source);
      expect(e).toBeInstanceOf(PosternError);
      expect(e.name).toBe('PolicySyntaxError');
      expect(e.code).toBe('POSTERN_POLICY_SYNTAX');
      expect(e.hint, source).toMatch(/\S/);
      expect(e.message).toContain(`at column ${e.column}`);
    }
  });

  it('gives hints that point at the cause', () => {
    expect(syntaxError('a)').hint).toContain('no matching "("');
    expect(syntaxError('x and (a or (b').hint).toContain('column 13');
    expect(syntaxError('a = "x\\q"').hint).toContain('\\"');
    expect(syntaxError('a b').hint).toContain('"and" or "or"');
  });

  it('counts columns in code points, not UTF-16 units', () => {
    expect(syntaxError('a = "😀😀" )').column).toBe(10);
    expect(syntaxError('a = "😀\\x"').column).toBe(7);
  });

  it('reports the first problem in source order', () => {
    // The stray ")" comes before the unterminated string.
    expect(syntaxError(') "abc').column).toBe(1);
    expect(syntaxError('a = "\\q" )').column).toBe(6);
  });

  it('accepts nesting up to 64 levels and rejects 65', () => {
    const parens = (n: number) => `${'('.repeat(n)}a${')'.repeat(n)}`;
    expect(parsePolicy(parens(64))).toStrictEqual(attr('a'));
    const e = syntaxError(parens(65));
    expect(e.column).toBe(65);
    expect(e.message).toBe('policy nested more than 64 levels deep at column 65');

    const nots = (n: number) => `${'not '.repeat(n)}a`;
    expect(() => parsePolicy(nots(64))).not.toThrow();
    expect(syntaxError(nots(65)).column).toBe(64 * 4 + 1);

    // "(" and "not" count together: 32 of each is fine, one more is not.
    expect(() => parsePolicy(`${'not ('.repeat(32)}a${')'.repeat(32)}`)).not.toThrow();
    expect(syntaxError(`${'not ('.repeat(32)}not a${')'.repeat(32)}`).column).toBe(32 * 5 + 1);
  });

  it('does not limit the length of and/or chains, only nesting', () => {
    const chain = Array.from({ length: 800 }, () => 'a').join(' or ');
    expect(chain.length).toBeLessThanOrEqual(4096);
    let e = parsePolicy(chain);
    let depth = 0;
    while (e.kind === 'or') {
      e = e.left;
      depth++;
    }
    expect(depth).toBe(799);
  });

  it('accepts 4096 characters and rejects 4097', () => {
    expect(parsePolicy('a'.repeat(4096))).toStrictEqual(attr('a'.repeat(4096)));
    const e = syntaxError('a'.repeat(4097));
    expect(e.column).toBe(4097);
    expect(e.message).toBe('policy longer than 4096 characters at column 4097');
    expect(syntaxError(`${'a or '.repeat(5000)}a`).column).toBe(4097);
  });

  it('counts the length limit in code points', () => {
    const inside = `a = "${'😀'.repeat(4090)}"`; // 4096 code points, 8186 UTF-16 units
    expect(inside.length).toBeGreaterThan(4096);
    expect(parsePolicy(inside)).toStrictEqual(eq('a', '😀'.repeat(4090)));
    expect(syntaxError(`a = "${'😀'.repeat(4091)}"`).column).toBe(4097);
  });

  it('rejects a non-string source with a syntax error', () => {
    expect(syntaxError(undefined as unknown as string).column).toBe(1);
  });
});

describe('printPolicy', () => {
  it('prints canonical text with minimal parentheses', () => {
    const cases: [string, string][] = [
      ['a  or(b and c)', 'a or b and c'],
      ['(a or b) and c', '(a or b) and c'],
      ['(a and b) or c', 'a and b or c'],
      ['(a or b) or c', 'a or b or c'],
      ['a or (b or c)', 'a or (b or c)'],
      ['a and (b and c)', 'a and (b and c)'],
      ['not(a)', 'not a'],
      ['not (not a)', 'not not a'],
      ['not (a or b)', 'not (a or b)'],
      ['(not a) and b', 'not a and b'],
      ['a="x"and b!="y"', 'a = "x" and b != "y"'],
      ['(true)or(false)', 'true or false'],
      ['subject.identifier="I1"', 'subject.identifier = "I1"'],
    ];
    for (const [source, canonical] of cases) expect(printPolicy(parsePolicy(source)), source).toBe(canonical);
  });

  it('escapes quotes and backslashes only', () => {
    expect(printPolicy(eq('a', 'say "hi" \\ 😀'))).toBe('a = "say \\"hi\\" \\\\ 😀"');
  });

  it('refuses trees that no source can produce', () => {
    const bad: PolicyExpr[] = [
      attr('and'),
      attr('1a'),
      attr('a b'),
      attr(''),
      attr('subject.identifier'),
      eq('a', 'line\nbreak'),
      { kind: 'const', value: 'yes' as unknown as boolean },
      { kind: 'xor' } as unknown as PolicyExpr,
    ];
    for (const e of bad) {
      let err: unknown;
      try {
        printPolicy(e);
      } catch (x) {
        err = x;
      }
      expect(err, JSON.stringify(e)).toBeInstanceOf(PosternError);
      expect((err as PosternError).code).toBe('POSTERN_POLICY_INVALID');
    }
  });

  it('prints deep trees without overflowing the stack', () => {
    let e: PolicyExpr = attr('a');
    for (let i = 0; i < 100_000; i++) e = not(e);
    expect(printPolicy(e)).toBe(`${'not '.repeat(100_000)}a`);
  });
});

describe('evaluatePolicy', () => {
  it('evaluates the walk-through policies', () => {
    const saas = parsePolicy('inlet-from-saas');
    expect(evaluatePolicy(saas, subject({ 'inlet-from-saas': 'true' }))).toBe(true);
    expect(evaluatePolicy(saas, subject({ 'inlet-from-saas': 'false' }))).toBe(false);
    expect(evaluatePolicy(saas, subject({}))).toBe(false);
    expect(evaluatePolicy(saas, subject({ 'inlet-from-saas': 'TRUE' }))).toBe(false);

    const reader = parsePolicy('customer = "acme" and role = "reader"');
    expect(evaluatePolicy(reader, subject({ customer: 'acme', role: 'reader' }))).toBe(true);
    expect(evaluatePolicy(reader, subject({ customer: 'acme', role: 'writer' }))).toBe(false);
    expect(evaluatePolicy(reader, subject({ customer: 'globex', role: 'reader' }))).toBe(false);
    expect(evaluatePolicy(reader, subject({ customer: 'acme' }))).toBe(false);
  });

  it('evaluates constants', () => {
    expect(evaluatePolicy(T, subject({}))).toBe(true);
    expect(evaluatePolicy(F, subject({}))).toBe(false);
  });

  it('evaluates each operator by its truth table', () => {
    const s = subject({ t: 'true', f: 'false' });
    const table: [string, boolean][] = [
      ['t and t', true],
      ['t and f', false],
      ['f and t', false],
      ['f and f', false],
      ['t or t', true],
      ['t or f', true],
      ['f or t', true],
      ['f or f', false],
      ['not t', false],
      ['not f', true],
      ['not not t', true],
      ['f or t and t', true],
      ['(f or t) and f', false],
      ['not t or t', true],
      ['not (t or t)', false],
    ];
    for (const [source, want] of table) expect(evaluatePolicy(parsePolicy(source), s), source).toBe(want);
  });

  it('compares strings exactly', () => {
    const s = subject({ role: 'reader', quote: 'a"b\\c' });
    expect(evaluatePolicy(parsePolicy('role = "reader"'), s)).toBe(true);
    expect(evaluatePolicy(parsePolicy('role = "Reader"'), s)).toBe(false);
    expect(evaluatePolicy(parsePolicy('role = "reader "'), s)).toBe(false);
    expect(evaluatePolicy(parsePolicy('role != "reader"'), s)).toBe(false);
    expect(evaluatePolicy(parsePolicy('role != "writer"'), s)).toBe(true);
    expect(evaluatePolicy(parsePolicy('quote = "a\\"b\\\\c"'), s)).toBe(true);
  });

  it('is closed by default for unknown attributes', () => {
    const s = subject({ role: 'reader' });
    expect(evaluatePolicy(parsePolicy('team'), s)).toBe(false);
    expect(evaluatePolicy(parsePolicy('team = "x"'), s)).toBe(false);
    expect(evaluatePolicy(parsePolicy('team != "x"'), s)).toBe(false);
    // not inverts whatever the comparison said, including for an absent attribute.
    expect(evaluatePolicy(parsePolicy('not team = "x"'), s)).toBe(true);
  });

  it('matches only own attributes, never prototype keys', () => {
    const s = subject({});
    for (const key of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(evaluatePolicy(attr(key), s), key).toBe(false);
      expect(evaluatePolicy(ne(key, 'x'), s), key).toBe(false);
      expect(evaluatePolicy(eq(key, '[object Object]'), s), key).toBe(false);
    }
    // Inherited string properties (as after prototype pollution) are not attributes.
    const inherited = subject(Object.create({ role: 'admin', flag: 'true' }) as Record<string, string>);
    expect(evaluatePolicy(eq('role', 'admin'), inherited)).toBe(false);
    expect(evaluatePolicy(ne('role', 'reader'), inherited)).toBe(false);
    expect(evaluatePolicy(attr('flag'), inherited)).toBe(false);
    const own = subject(Object.fromEntries([['__proto__', 'true']]));
    expect(evaluatePolicy(attr('__proto__'), own)).toBe(true);
    const nullProto = subject(Object.assign(Object.create(null) as Record<string, string>, { role: 'reader' }));
    expect(evaluatePolicy(eq('role', 'reader'), nullProto)).toBe(true);
  });

  it('compares subject.identifier against the identifier, not an attribute', () => {
    const s = subject({ 'subject.identifier': 'Ifake' }, 'I3f09');
    expect(evaluatePolicy(parsePolicy('subject.identifier = "I3f09"'), s)).toBe(true);
    expect(evaluatePolicy(parsePolicy('subject.identifier = "Ifake"'), s)).toBe(false);
    expect(evaluatePolicy(parsePolicy('subject.identifier != "Ifake"'), s)).toBe(true);
    expect(evaluatePolicy(parsePolicy('subject.identifier != "I3f09"'), s)).toBe(false);
    const either = parsePolicy('subject.identifier = "Ia" or subject.identifier = "Ib"');
    expect(evaluatePolicy(either, subject({}, 'Ib'))).toBe(true);
    expect(evaluatePolicy(either, subject({}, 'Ic'))).toBe(false);
  });

  it('denies rather than throws on malformed trees and subjects', () => {
    const s = subject({ a: 'true' });
    expect(evaluatePolicy({ kind: 'xor' } as unknown as PolicyExpr, s)).toBe(false);
    expect(evaluatePolicy(null as unknown as PolicyExpr, s)).toBe(false);
    expect(evaluatePolicy(and(attr('a'), null as unknown as PolicyExpr), s)).toBe(false);
    expect(evaluatePolicy(ne('a', 5 as unknown as string), s)).toBe(false);
    expect(evaluatePolicy(attr('a'), null as unknown as PolicySubject)).toBe(false);
    expect(evaluatePolicy(attr('a'), { identifier: 'I', attributes: null } as unknown as PolicySubject)).toBe(false);
    expect(evaluatePolicy(ne('a', 'x'), subject({ a: 7 } as unknown as Record<string, string>))).toBe(false);
    const hostile = new Proxy({}, { has: () => { throw new Error('boom'); }, getOwnPropertyDescriptor: () => { throw new Error('boom'); } });
    expect(evaluatePolicy(attr('a'), { identifier: 'I', attributes: hostile })).toBe(false);
  });

  it('evaluates deep trees without overflowing the stack', () => {
    let e: PolicyExpr = attr('a');
    for (let i = 0; i < 100_001; i++) e = not(e);
    expect(evaluatePolicy(e, subject({ a: 'true' }))).toBe(false);
    let chain: PolicyExpr = attr('x');
    for (let i = 0; i < 100_000; i++) chain = or(chain, attr(`y${i}`));
    expect(evaluatePolicy(chain, subject({ y99999: 'true' }))).toBe(true);
  });
});

describe('compilePolicy and policyAllows', () => {
  it('compilePolicy returns the tree or the error', () => {
    expect(compilePolicy('a or b')).toStrictEqual({ ok: true, expr: or(attr('a'), attr('b')) });
    const r = compilePolicy('a or');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(PolicySyntaxError);
      expect(r.error.column).toBe(5);
    }
  });

  it('policyAllows evaluates a good policy', () => {
    const s = subject({ customer: 'acme', role: 'reader' });
    expect(policyAllows('customer = "acme" and role = "reader"', s)).toBe(true);
    expect(policyAllows('customer = "acme" and role = "admin"', s)).toBe(false);
    expect(policyAllows('true', s)).toBe(true);
  });

  it('policyAllows denies a broken or absent policy and never throws', () => {
    const s = subject({ a: 'true' });
    for (const broken of ['a or', ')', '"open', 'a = "\\x"', '', '('.repeat(65) + 'a' + ')'.repeat(65), 'a'.repeat(4097)]) {
      expect(policyAllows(broken, s), broken).toBe(false);
    }
    expect(policyAllows(undefined, s)).toBe(false);
    expect(policyAllows(42 as unknown as string, s)).toBe(false);
    expect(policyAllows('a', null as unknown as PolicySubject)).toBe(false);
  });

  it('policyAllows ignores policy text that only looks permissive', () => {
    // A broken policy must not fall back to "allow" even when it starts with true.
    expect(policyAllows('true or', subject({}))).toBe(false);
    expect(policyAllows('true )', subject({}))).toBe(false);
  });
});
