/**
 * Validation of what callers send the authority. Everything here treats its
 * input as untrusted: requests arrive as parsed JSON from any node that
 * completed a handshake, so a field may be missing, of any type, huge, or
 * named `__proto__`. Each checker reads only own properties, reads each one
 * once, and returns fresh values (attribute maps have no prototype), so
 * nothing the caller controls reaches the store or a credential unchecked.
 *
 * The same checkers guard the typed methods of `Authority`, so code callers
 * get the same bounds as remote ones.
 */
import { PosternError } from '../../../protocol/errors.ts';
import { isAttributeKey } from '../../../protocol/credential/credential.ts';
import { isIdentifier } from '../../../protocol/identity/identifier.ts';

/**
 * Attributes the authority sets itself on every credential; a ticket may not
 * set any key that starts with `postern.` (in any letter case):
 *   postern.project  the project id (same as the credential's project field)
 *   postern.role     'admin' | 'enroller' | 'member'
 *   postern.relay    the relay name the member may create, when it has one
 */
export const RESERVED_PREFIX = 'postern.';
export const ATTR_PROJECT = 'postern.project';
export const ATTR_ROLE = 'postern.role';
export const ATTR_RELAY = 'postern.relay';

export const RELAY_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Bounds on what a ticket may carry. */
export const TICKET_LIMITS = {
  /** Seconds a ticket stays redeemable: 1 minute to 30 days. */
  minExpiresIn: 60,
  maxExpiresIn: 30 * 86400,
  minUsageCount: 1,
  maxUsageCount: 1000,
  maxAttributes: 32,
  /** Characters (UTF-16 code units) in one attribute value. */
  maxValueLength: 256,
  /**
   * UTF-8 bytes of all names and values together. 32 attributes at the
   * per-item maxima would not fit in a credential (MAX_CREDENTIAL_BODY), so
   * the sum is bounded too and a ticket that was accepted always enrolls.
   */
  maxAttributeBytes: 8192,
} as const;

const SECRET_RE = /^[0-9a-fA-F]{64}$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const ATTRIBUTE_NAME_HINT = 'names start with a letter or "_" and use letters, digits, ".", "_", ":" and "-" (at most 128)';

export interface TicketOptions {
  /** Seconds from now until the ticket can no longer be redeemed. */
  expiresIn: number;
  /** How many distinct identities may enroll with it. */
  usageCount: number;
  attributes: Record<string, string>;
  /** The relay name enrolled nodes may create, or null for none. */
  relay: string | null;
  /** Enrolled nodes may mint tickets themselves (administrator only). */
  enroller: boolean;
}

export interface RevokeTarget {
  identifier?: string;
  relay?: string;
}

export type AuthorityRequest =
  | { op: 'enroll'; secret: string }
  | { op: 'refresh' }
  | { op: 'create-ticket'; options: TicketOptions }
  | { op: 'revoke'; target: RevokeTarget }
  | { op: 'members' };

function badRequest(message: string, hint?: string): never {
  throw new PosternError('POSTERN_BAD_REQUEST', message, hint);
}

function shown(v: string): string {
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
}

/** A plain object (from JSON.parse or a literal), not an array, class instance or null. */
function isRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** An own property only: `{}` has no `constructor` field here. */
function field(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (!isRecord(v)) badRequest(`${what} must be a JSON object`);
  return v;
}

/** The 32-byte ticket secret as 64 hex digits; returned in lowercase. */
export function checkSecretHex(v: unknown): string {
  if (typeof v !== 'string' || v.length !== 64 || !SECRET_RE.test(v)) {
    badRequest('the ticket secret must be 64 hex characters', 'the ticket was damaged when copied; copy the whole line again');
  }
  return v.toLowerCase();
}

export function checkIdentifier(v: unknown, what = 'identifier'): string {
  if (!isIdentifier(v)) {
    const text = typeof v === 'string' ? shown(v) : typeof v;
    throw new PosternError('POSTERN_BAD_IDENTIFIER', `${what} is not an identifier: ${text}`, 'identifiers are "I" followed by 40 lowercase hex digits');
  }
  return v;
}

function checkInteger(v: unknown, min: number, max: number, code: string, what: string, hint: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new PosternError(code, `${what} must be a whole number from ${min} to ${max}`, hint);
  }
  return v;
}

export function checkExpiresIn(v: unknown): number {
  return checkInteger(v, TICKET_LIMITS.minExpiresIn, TICKET_LIMITS.maxExpiresIn, 'POSTERN_BAD_DURATION', 'expiresIn (seconds)', 'a ticket lives from 1 minute to 30 days');
}

export function checkUsageCount(v: unknown): number {
  return checkInteger(v, TICKET_LIMITS.minUsageCount, TICKET_LIMITS.maxUsageCount, 'POSTERN_BAD_USAGE_COUNT', 'usageCount', 'a ticket enrolls from 1 to 1000 identities');
}

export function isReservedAttribute(key: string): boolean {
  return key.toLowerCase().startsWith(RESERVED_PREFIX);
}

function badAttribute(message: string, hint?: string): never {
  throw new PosternError('POSTERN_BAD_ATTRIBUTE', message, hint);
}

/**
 * Ticket attributes: at most 32, names as credential attribute names, values
 * strings of at most 256 characters without control characters, nothing
 * under `postern.`. Returns a fresh prototype-less map.
 */
export function checkAttributes(v: unknown): Record<string, string> {
  const o = record(v, 'attributes');
  const keys = Object.keys(o);
  if (keys.length > TICKET_LIMITS.maxAttributes) {
    badAttribute(`a ticket carries at most ${TICKET_LIMITS.maxAttributes} attributes, not ${keys.length}`);
  }
  const out = Object.create(null) as Record<string, string>;
  let bytes = 0;
  for (const k of keys) {
    if (!isAttributeKey(k)) badAttribute(`invalid attribute name ${shown(k)}`, ATTRIBUTE_NAME_HINT);
    if (isReservedAttribute(k)) {
      badAttribute(`attribute ${shown(k)} is reserved`, `the authority sets ${ATTR_PROJECT}, ${ATTR_ROLE} and ${ATTR_RELAY} itself; choose a name without the "postern." prefix`);
    }
    const val = o[k];
    if (typeof val !== 'string') badAttribute(`attribute ${k} must have a string value`);
    if (val.length > TICKET_LIMITS.maxValueLength) badAttribute(`attribute ${k} is longer than ${TICKET_LIMITS.maxValueLength} characters`);
    if (CONTROL_RE.test(val) || LONE_SURROGATE_RE.test(val)) badAttribute(`attribute ${k} contains control characters or broken text`);
    bytes += Buffer.byteLength(k) + Buffer.byteLength(val);
    out[k] = val;
  }
  if (bytes > TICKET_LIMITS.maxAttributeBytes) {
    badAttribute(`the attributes take ${bytes} bytes; at most ${TICKET_LIMITS.maxAttributeBytes} are allowed`);
  }
  return out;
}

export function checkRelayName(v: unknown): string | null {
  if (v === null) return null;
  if (typeof v !== 'string' || !RELAY_NAME_RE.test(v)) {
    const text = typeof v === 'string' ? shown(v) : typeof v;
    throw new PosternError('POSTERN_BAD_NAME', `invalid relay name ${text}`, 'relay names are 1 to 63 lowercase letters, digits, ".", "_" and "-", starting with a letter or digit');
  }
  return v;
}

/**
 * Ticket options from a remote request or a code caller. In a request,
 * `attributes`, `relay` and `enroller` may be left out ({}, null, false);
 * `expiresIn` and `usageCount` are required. Unknown fields are ignored.
 */
export function checkTicketOptions(v: unknown): TicketOptions {
  const o = record(v, 'the ticket options');
  const expiresIn = checkExpiresIn(field(o, 'expiresIn'));
  const usageCount = checkUsageCount(field(o, 'usageCount'));
  const rawAttributes = field(o, 'attributes');
  const attributes = checkAttributes(rawAttributes === undefined ? {} : rawAttributes);
  const rawRelay = field(o, 'relay');
  const relay = checkRelayName(rawRelay === undefined ? null : rawRelay);
  const rawEnroller = field(o, 'enroller');
  if (rawEnroller !== undefined && typeof rawEnroller !== 'boolean') badRequest('enroller must be true or false');
  return { expiresIn, usageCount, attributes, relay, enroller: rawEnroller === true };
}

/** Exactly one of `identifier` and `relay`. */
export function checkRevokeTarget(v: unknown): RevokeTarget {
  const o = record(v, 'the revoke target');
  const identifier = field(o, 'identifier');
  const relay = field(o, 'relay');
  if ((identifier === undefined) === (relay === undefined)) {
    badRequest('give exactly one of identifier and relay', 'revoke a member by its identifier, or the member that holds a relay name');
  }
  if (identifier !== undefined) return { identifier: checkIdentifier(identifier, 'the member') };
  const name = checkRelayName(relay);
  if (name === null) badRequest('relay must be a relay name');
  return { relay: name };
}

/** Read one request object, whatever was sent; POSTERN_BAD_REQUEST for the wrong shape or an unknown op. */
export function parseAuthorityRequest(v: unknown): AuthorityRequest {
  const o = record(v, 'the request');
  const op = field(o, 'op');
  switch (op) {
    case 'enroll':
      return { op, secret: checkSecretHex(field(o, 'secret')) };
    case 'refresh':
    case 'members':
      return { op };
    case 'create-ticket':
      return { op, options: checkTicketOptions(o) };
    case 'revoke': {
      const identifier = field(o, 'identifier');
      const relay = field(o, 'relay');
      return { op, target: checkRevokeTarget({ ...(identifier !== undefined ? { identifier } : {}), ...(relay !== undefined ? { relay } : {}) }) };
    }
    default:
      badRequest(
        typeof op === 'string' ? `unknown authority operation ${shown(op)}` : 'the request has no op',
        'operations are enroll, refresh, create-ticket, revoke and members',
      );
  }
}

/**
 * Command-line attribute arguments to a map: `K` alone means "true", `K=V`
 * sets V. Repeating a name keeps the last value. Checked like any ticket.
 */
export function attributesFromArgs(args: readonly string[]): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const a of args) {
    const i = a.indexOf('=');
    const k = i < 0 ? a : a.slice(0, i);
    if (!isAttributeKey(k)) badAttribute(`invalid attribute ${shown(a)}`, 'use --attribute NAME or NAME=VALUE');
    out[k] = i < 0 ? 'true' : a.slice(i + 1);
  }
  return checkAttributes(out);
}
