/** Validation of untrusted request objects sent to the authority. */
import { PosternError } from '../../../protocol/errors.ts';
import { isAttributeKey } from '../../../protocol/credential/credential.ts';
import { isIdentifier } from '../../../protocol/identity/identifier.ts';

export const RELAY_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const TICKET_LIMITS = { minExpiresIn: 60, maxExpiresIn: 30 * 86400, maxUses: 1000, maxAttributes: 32, maxValue: 256 };
export const RESERVED_PREFIX = 'postern.';

function bad(message: string, hint?: string): never {
  throw new PosternError('POSTERN_BAD_REQUEST', message, hint);
}

export function asObject(v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('the request must be an object');
  return v as Record<string, unknown>;
}

export function secretHex(v: unknown): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) bad('the ticket secret must be 64 lowercase hex characters');
  return v;
}

export function intIn(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(`${what} must be an integer from ${min} to ${max}`);
  return v;
}

export function attributes(v: unknown): Record<string, string> {
  const o = v === undefined ? {} : asObject(v);
  const out = Object.create(null) as Record<string, string>;
  const keys = Object.keys(o);
  if (keys.length > TICKET_LIMITS.maxAttributes) bad(`at most ${TICKET_LIMITS.maxAttributes} attributes`);
  for (const k of keys) {
    const val = o[k];
    if (!isAttributeKey(k)) {
      throw new PosternError('POSTERN_BAD_ATTRIBUTE', `invalid attribute name ${JSON.stringify(k.slice(0, 60))}`, 'names start with a letter or "_" and use letters, digits, ".", "_", ":", "-"');
    }
    if (k.startsWith(RESERVED_PREFIX)) {
      throw new PosternError('POSTERN_BAD_ATTRIBUTE', `attribute ${k} is reserved`, 'attributes starting with "postern." are set by the authority');
    }
    if (typeof val !== 'string' || val.length > TICKET_LIMITS.maxValue) bad(`attribute ${k} must be a string of at most ${TICKET_LIMITS.maxValue} characters`);
    out[k] = val;
  }
  return out;
}

export function relayName(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || !RELAY_NAME_RE.test(v)) {
    throw new PosternError('POSTERN_BAD_NAME', `invalid relay name ${JSON.stringify(String(v).slice(0, 60))}`, 'lowercase letters, digits, ".", "_" and "-", at most 63 characters');
  }
  return v;
}

export function identifier(v: unknown): string {
  if (!isIdentifier(v)) bad('not an identifier');
  return v;
}
