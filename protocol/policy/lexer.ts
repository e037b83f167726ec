/**
 * Policy tokens, produced on demand so that the first error in source order
 * is the one reported. Lexical rules: docs/PROTOCOL.md §12.2.
 */
import { KEYWORDS, PolicySyntaxError } from './ast.ts';

export type TokenKind =
  | 'name'
  | 'string'
  | '('
  | ')'
  | '='
  | '!='
  | 'and'
  | 'or'
  | 'not'
  | 'true'
  | 'false'
  | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The name, or the decoded string value; the keyword or symbol otherwise. */
  readonly value: string;
  /** UTF-16 offset of the token's first character in the source. */
  readonly offset: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isNameStart(c: number): boolean {
  return isLetter(c) || c === 0x5f; // _
}

function isNameChar(c: number): boolean {
  return (
    isNameStart(c) ||
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x3a // :
  );
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** True when `s` is a NAME token: the name rule, and not a keyword. */
export function isPolicyName(s: string): boolean {
  if (s.length === 0 || !isNameStart(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) if (!isNameChar(s.charCodeAt(i))) return false;
  return !KEYWORDS.has(s);
}

/** 1-based column of a UTF-16 offset, counting code points (a lone surrogate counts as one). */
export function columnAt(source: string, offset: number): number {
  let col = 1;
  for (let i = 0; i < offset && i < source.length; i++) {
    const c = source.charCodeAt(i);
    const isPair = c >= 0xd800 && c <= 0xdbff && i + 1 < offset;
    if (isPair) {
      const d = source.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    col++;
  }
  return col;
}

/** A character for an error message: printable ASCII quoted, anything else as U+XXXX. */
export function describeChar(source: string, offset: number): string {
  const cp = source.codePointAt(offset) ?? 0;
  if (cp >= 0x21 && cp <= 0x7e) return JSON.stringify(String.fromCodePoint(cp));
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

export function syntaxError(source: string, offset: number, what: string, hint: string): PolicySyntaxError {
  const column = columnAt(source, offset);
  return new PolicySyntaxError(column, `${what} at column ${column}`, hint);
}

const CHAR_HINTS: Readonly<Record<string, string>> = {
  '!': 'use != to compare with a string, or "not" to negate',
  '&': 'write "and" to require both sides',
  '|': 'write "or" to accept either side',
  "'": 'strings are written in double quotes: role = "reader"',
};

export class Lexer {
  readonly source: string;
  private pos = 0;

  constructor(source: string) {
    this.source = source;
  }

  next(): Token {
    const src = this.source;
    while (this.pos < src.length && isSpace(src.charCodeAt(this.pos))) this.pos++;
    const start = this.pos;
    if (start >= src.length) return { kind: 'eof', value: '', offset: start };
    const c = src.charCodeAt(start);

    if (isNameStart(c)) {
      let end = start + 1;
      while (end < src.length && isNameChar(src.charCodeAt(end))) end++;
      this.pos = end;
      const word = src.slice(start, end);
      if (KEYWORDS.has(word)) return { kind: word as TokenKind, value: word, offset: start };
      return { kind: 'name', value: word, offset: start };
    }
    if (c === QUOTE) return this.string(start);
    if (c === 0x28 || c === 0x29 || c === 0x3d) {
      this.pos = start + 1;
      const sym = src[start] as '(' | ')' | '=';
      return { kind: sym, value: sym, offset: start };
    }
    if (c === 0x21 && src.charCodeAt(start + 1) === 0x3d) {
      this.pos = start + 2;
      return { kind: '!=', value: '!=', offset: start };
    }
    const ch = src[start] ?? '';
    const hint =
      CHAR_HINTS[ch] ??
      'names start with a letter or _ and continue with letters, digits, -, _, . and :; strings are in double quotes';
    throw syntaxError(src, start, `unexpected character ${describeChar(src, start)}`, hint);
  }

  /** A double-quoted string; only \" and \\ are escapes, no raw control characters. */
  private string(start: number): Token {
    const src = this.source;
    let out = '';
    let run = start + 1; // start of the current run of plain characters
    let i = start + 1;
    while (i < src.length) {
      const c = src.charCodeAt(i);
      if (c === QUOTE) {
        out += src.slice(run, i);
        this.pos = i + 1;
        return { kind: 'string', value: out, offset: start };
      }
      if (c === BACKSLASH) {
        if (i + 1 >= src.length) break; // unterminated
        const e = src.charCodeAt(i + 1);
        if (e !== QUOTE && e !== BACKSLASH) {
          const shown = e >= 0x21 && e <= 0x7e ? `"\\${src[i + 1]}"` : `before ${describeChar(src, i + 1)}`;
          throw syntaxError(src, i, `invalid escape ${shown}`, 'inside strings only \\" and \\\\ are escapes');
        }
        out += src.slice(run, i) + src[i + 1];
        i += 2;
        run = i;
        continue;
      }
      if (c < 0x20) {
        throw syntaxError(
          src,
          i,
          `control character ${describeChar(src, i)} in string`,
          'strings cannot contain control characters such as newlines or tabs',
        );
      }
      i++;
    }
    throw syntaxError(src, start, 'unterminated string starting', 'close the string with a double quote (")');
  }
}
