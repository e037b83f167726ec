/** Validation of control API arguments (they come from a local client, still untrusted). */
import { PosternError } from '../../protocol/errors.ts';
import { parseHostPort, type InletSpec, type OutletSpec } from '../config/index.ts';
import { compilePolicy } from '../../protocol/policy/index.ts';

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export function str(args: Record<string, unknown>, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v === '') throw new PosternError('POSTERN_BAD_REQUEST', `missing ${key}`);
  return v;
}

function name(args: Record<string, unknown>, key: string): string {
  const v = str(args, key);
  if (!NAME_RE.test(v)) throw new PosternError('POSTERN_BAD_NAME', `invalid name ${JSON.stringify(v)}`, 'names are lowercase letters, digits, ".", "_" and "-"');
  return v;
}

function allow(args: Record<string, unknown>): string | undefined {
  const v = args['allow'];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new PosternError('POSTERN_BAD_REQUEST', 'allow must be a string');
  const c = compilePolicy(v);
  if (!c.ok) throw c.error;
  return v;
}

export function parseOutletArgs(args: Record<string, unknown>): OutletSpec {
  const a = allow(args);
  return { name: name(args, 'from'), to: parseHostPort(str(args, 'to')), ...(a !== undefined ? { allow: a } : {}) };
}

export function parseInletArgs(args: Record<string, unknown>): InletSpec {
  const a = allow(args);
  return {
    from: parseHostPort(str(args, 'from'), { allowZeroPort: true }),
    via: name(args, 'via'),
    to: name(args, 'to'),
    ...(a !== undefined ? { allow: a } : {}),
  };
}
