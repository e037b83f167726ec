/**
 * Variables in config values: `$NAME` and `${NAME}` are replaced from the
 * --variable flags first, then from the environment; `$$` is a literal `$`.
 * One pass: a substituted value is not scanned again, so a value that holds
 * a `$` stays as it is. Any other `$` is an error rather than a guess.
 */
import { PosternError } from '../../protocol/errors.ts';
import { quote } from './schema.ts';

const NAME_START = /[A-Za-z_]/;
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME_AT = /[A-Za-z_][A-Za-z0-9_]*/y;
const SYNTAX_HINT = 'write $NAME or ${NAME} for a variable, and $$ for a literal $';

export type Variables = Record<string, string>;
export type Environment = Record<string, string | undefined>;

function lookup(name: string, variables: Variables, env: Environment): string | undefined {
  if (Object.hasOwn(variables, name)) {
    const v = variables[name];
    if (typeof v === 'string') return v;
  }
  if (Object.hasOwn(env, name)) {
    const v = env[name];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/**
 * Replace variables in one value. Throws PosternError
 * POSTERN_CONFIG_VARIABLE for a variable that is not set, and
 * POSTERN_CONFIG_INVALID for a malformed reference.
 */
export function interpolate(text: string, variables: Variables = {}, env: Environment = {}): string {
  let i = text.indexOf('$');
  if (i < 0) return text;
  let out = text.slice(0, i);
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      const next = text.indexOf('$', i);
      const end = next < 0 ? text.length : next;
      out += text.slice(i, end);
      i = end;
      continue;
    }
    const after = text[i + 1];
    let name: string;
    if (after === '$') {
      out += '$';
      i += 2;
      continue;
    } else if (after === '{') {
      const close = text.indexOf('}', i + 2);
      const inner = close < 0 ? '' : text.slice(i + 2, close);
      if (close < 0 || !NAME_RE.test(inner)) {
        const ref = close < 0 ? text.slice(i) : text.slice(i, close + 1);
        throw new PosternError('POSTERN_CONFIG_INVALID', `malformed variable reference ${quote(ref, 40)}`, SYNTAX_HINT);
      }
      name = inner;
      i = close + 1;
    } else if (after !== undefined && NAME_START.test(after)) {
      NAME_AT.lastIndex = i + 1;
      name = NAME_AT.exec(text)![0];
      i += 1 + name.length;
    } else {
      throw new PosternError('POSTERN_CONFIG_INVALID', `a lone "$" in ${quote(text, 60)}`, SYNTAX_HINT);
    }
    const value = lookup(name, variables, env);
    if (value === undefined) {
      throw new PosternError(
        'POSTERN_CONFIG_VARIABLE',
        `variable ${name} is not set`,
        `pass --variable ${name}=VALUE, or set ${name} in the environment`,
      );
    }
    out += value;
  }
  return out;
}

/**
 * `--variable K=V` flags to a record (a later flag for the same name wins).
 * The value is everything after the first "=" and may be empty.
 */
export function parseVariableFlags(flags: string[]): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq < 0) {
      throw new PosternError('POSTERN_BAD_VARIABLE', `--variable ${quote(flag, 60)} has no "="`, 'write --variable NAME=VALUE');
    }
    const name = flag.slice(0, eq);
    if (!NAME_RE.test(name)) {
      throw new PosternError(
        'POSTERN_BAD_VARIABLE',
        `--variable ${quote(flag, 60)}: ${quote(name, 60)} is not a variable name`,
        'a variable name is letters, digits and "_", not starting with a digit',
      );
    }
    out[name] = flag.slice(eq + 1);
  }
  return out;
}
