/** `$VAR`, `${VAR}` and `$$` in config values: --variable first, then the environment. */
import { PosternError } from '../../protocol/errors.ts';

const VAR = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\{[^}]*\}?))/g;

export function interpolate(
  value: string,
  variables: Record<string, string>,
  env: Record<string, string | undefined>,
): string {
  return value.replace(VAR, (whole, braced: string | undefined, bare: string | undefined, broken: string | undefined) => {
    if (whole === '$$') return '$';
    if (broken !== undefined) {
      throw new PosternError('POSTERN_CONFIG_VARIABLE', `malformed variable reference ${JSON.stringify(whole)}`, 'write ${NAME} or $NAME; $$ is a literal $');
    }
    const name = (braced ?? bare)!;
    if (Object.hasOwn(variables, name)) return variables[name]!;
    const e = env[name];
    if (e !== undefined) return e;
    throw new PosternError('POSTERN_CONFIG_VARIABLE', `variable ${name} is not set`, `pass --variable ${name}=VALUE or set ${name} in the environment`);
  });
}

export function parseVariableFlags(flags: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const f of flags) {
    const i = f.indexOf('=');
    const k = i < 0 ? f : f.slice(0, i);
    if (i < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new PosternError('POSTERN_BAD_VARIABLE', `invalid --variable ${JSON.stringify(f)}`, 'use --variable NAME=VALUE');
    }
    out[k] = f.slice(i + 1);
  }
  return out;
}
