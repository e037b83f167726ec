/**
 * Credentials (docs/PROTOCOL.md §6.3): the authority's signed statement of
 * (subject, project, attributes, validity). A versioned byte envelope whose
 * signature is checked before the body is decoded.
 *
 *   envelope  = version u8 (= 1) ‖ body_len u32 ‖ body ‖ signature (64)
 *   body      = subject str16 ‖ authority str16 ‖ project str16 ‖ issued_at u64 ‖ expires_at u64
 *               ‖ attr_count u16 ‖ attr_count × (key str16 ‖ value str16)     keys unique, sorted
 *   signature = Ed25519(authority secret, "postern/v1/credential" ‖ 0x00 ‖ body)
 *
 * The encoder sorts the attributes and the decoder refuses any other order,
 * so one credential has exactly one encoding.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, Reader, utf8, Writer } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import { identifierOf, isIdentifier, IDENTIFIER_LEN } from '../identity/identifier.ts';

export const CREDENTIAL_VERSION = 1;
export const MAX_CREDENTIAL_BODY = 16384;
export const MAX_ATTRIBUTES = 64;
export const MAX_ATTRIBUTE_KEY = 128;
export const MAX_ATTRIBUTE_VALUE = 1024;
/** A project name is 1..64 Unicode code points (at most 256 UTF-8 bytes). */
export const MAX_PROJECT_CHARS = 64;
export const MAX_PROJECT_BYTES = 4 * MAX_PROJECT_CHARS;
/** Seconds an authority's clock may run ahead of ours. */
export const CREDENTIAL_CLOCK_SKEW = 300;

const ATTRIBUTE_KEY_RE = /^[A-Za-z_][A-Za-z0-9._:-]*$/;
const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const LONE_SURROGATE_RE = /\p{Cs}/u;
const DOMAIN = concat(utf8('postern/v1/credential'), Uint8Array.of(0));
const MALFORMED = 'POSTERN_CREDENTIAL_MALFORMED';
const SIGNATURE_LEN = 64;
const HINT_MALFORMED = 'the credential is damaged or comes from an incompatible version of Postern; let the node refresh it from its hub, or enroll it again';

export interface Credential {
  subject: string;
  authority: string;
  project: string;
  issuedAt: number;
  expiresAt: number;
  attributes: Record<string, string>;
}

/** 1..128 ASCII bytes of `[A-Za-z_][A-Za-z0-9._:-]*`, and not a reserved JavaScript property name. */
export function isAttributeKey(k: string): boolean {
  return (
    typeof k === 'string' &&
    k.length >= 1 &&
    k.length <= MAX_ATTRIBUTE_KEY &&
    ATTRIBUTE_KEY_RE.test(k) &&
    !RESERVED_KEYS.has(k)
  );
}

/** A well-formed (no lone surrogates) string of 1..64 code points. */
export function isProjectName(p: unknown): p is string {
  if (typeof p !== 'string' || p.length < 1 || LONE_SURROGATE_RE.test(p)) return false;
  let n = 0;
  for (const _ of p) if (++n > MAX_PROJECT_CHARS) return false;
  return true;
}

function isAttributeValue(v: unknown): v is string {
  return typeof v === 'string' && !LONE_SURROGATE_RE.test(v) && utf8(v).length <= MAX_ATTRIBUTE_VALUE;
}

function isTime(t: unknown): t is number {
  return Number.isSafeInteger(t) && (t as number) >= 0;
}

function invalid(message: string): never {
  throw new PosternError(MALFORMED, `cannot issue credential: ${message}`, 'this is a bug in the issuer: check the credential fields against docs/PROTOCOL.md §6.3');
}

function encodeBody(c: Credential): Uint8Array {
  if (!isIdentifier(c.subject)) invalid('subject is not an identifier');
  if (!isIdentifier(c.authority)) invalid('authority is not an identifier');
  if (!isProjectName(c.project)) invalid(`project must be 1..${MAX_PROJECT_CHARS} characters`);
  if (!isTime(c.issuedAt) || !isTime(c.expiresAt)) invalid('times must be non-negative integer unix seconds');
  if (typeof c.attributes !== 'object' || c.attributes === null) invalid('attributes must be an object');
  const keys = Object.keys(c.attributes).sort();
  if (keys.length > MAX_ATTRIBUTES) invalid(`more than ${MAX_ATTRIBUTES} attributes`);
  const w = new Writer()
    .str16(c.subject)
    .str16(c.authority)
    .str16(c.project)
    .u64(c.issuedAt)
    .u64(c.expiresAt)
    .u16(keys.length);
  for (const k of keys) {
    const v = c.attributes[k];
    if (!isAttributeKey(k)) invalid(`invalid attribute name ${JSON.stringify(k.slice(0, 40))}`);
    if (!isAttributeValue(v)) invalid(`attribute ${k} must be a string of at most ${MAX_ATTRIBUTE_VALUE} UTF-8 bytes`);
    w.str16(k).str16(v);
  }
  const body = w.finish();
  if (body.length > MAX_CREDENTIAL_BODY) invalid(`body of ${body.length} bytes exceeds ${MAX_CREDENTIAL_BODY}`);
  return body;
}

/**
 * Encode and sign a credential. `sign` is the authority's Ed25519 signer; it
 * receives the domain-separated body. Throws POSTERN_CREDENTIAL_MALFORMED for
 * a credential that breaks a limit.
 */
export function issueCredential(sign: (message: Uint8Array) => Uint8Array, c: Credential): Uint8Array {
  const body = encodeBody(c);
  const signature = sign(concat(DOMAIN, body));
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LEN) invalid('the signer did not return a 64-byte signature');
  return new Writer().u8(CREDENTIAL_VERSION).u32(body.length).bytes(body).bytes(signature).finish();
}

/** Reader errors carry no hint; give the person one. */
function withHint<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PosternError && e.code === MALFORMED && e.hint === undefined) {
      throw new PosternError(MALFORMED, e.message, HINT_MALFORMED);
    }
    throw e;
  }
}

/** Split the envelope without looking inside the body. */
function split(envelope: Uint8Array): { body: Uint8Array; signature: Uint8Array } {
  if (!(envelope instanceof Uint8Array)) {
    throw new PosternError(MALFORMED, 'malformed credential: not a byte string', HINT_MALFORMED);
  }
  const r = new Reader(envelope, MALFORMED, 'credential');
  const version = r.u8();
  if (version !== CREDENTIAL_VERSION) r.fail(`unknown version ${version}`);
  const len = r.u32();
  if (len > MAX_CREDENTIAL_BODY) r.fail(`body of ${len} bytes exceeds ${MAX_CREDENTIAL_BODY}`);
  const body = r.bytes(len);
  const signature = r.bytes(SIGNATURE_LEN);
  r.end();
  return { body, signature };
}

function decodeBody(body: Uint8Array): Credential {
  const r = new Reader(body, MALFORMED, 'credential');
  const subject = r.str16(IDENTIFIER_LEN);
  if (!isIdentifier(subject)) r.fail('subject is not an identifier');
  const authority = r.str16(IDENTIFIER_LEN);
  if (!isIdentifier(authority)) r.fail('authority is not an identifier');
  const project = r.str16(MAX_PROJECT_BYTES);
  if (!isProjectName(project)) r.fail(`project must be 1..${MAX_PROJECT_CHARS} characters`);
  const issuedAt = r.u64();
  const expiresAt = r.u64();
  const n = r.u16();
  if (n > MAX_ATTRIBUTES) r.fail(`${n} attributes exceed ${MAX_ATTRIBUTES}`);
  // A null-prototype object: no attribute can reach Object.prototype.
  const attributes = Object.create(null) as Record<string, string>;
  let previous: string | undefined;
  for (let i = 0; i < n; i++) {
    const k = r.str16(MAX_ATTRIBUTE_KEY);
    if (!isAttributeKey(k)) r.fail('invalid attribute name');
    if (previous !== undefined && k <= previous) r.fail('attribute names not sorted or repeated');
    previous = k;
    attributes[k] = r.str16(MAX_ATTRIBUTE_VALUE);
  }
  r.end();
  return { subject, authority, project, issuedAt, expiresAt, attributes };
}

/**
 * Verify a credential envelope against the authority's public key at time
 * `now` (unix seconds) and return its contents. The signature is checked
 * before any of the body is decoded.
 */
export function verifyCredential(
  envelope: Uint8Array,
  authorityPublicKey: Uint8Array,
  now: number,
  crypto: CryptoProvider = defaultCrypto,
): Credential {
  const { body, signature } = withHint(() => split(envelope));
  if (!crypto.ed25519Verify(authorityPublicKey, concat(DOMAIN, body), signature)) {
    throw new PosternError(
      'POSTERN_CREDENTIAL_SIGNATURE',
      'the credential is not signed by the trusted authority',
      "the credential was altered or comes from another project's hub; enroll again with a ticket from this project",
    );
  }
  const c = withHint(() => decodeBody(body));
  if (c.authority !== identifierOf(authorityPublicKey, crypto)) {
    throw new PosternError(
      'POSTERN_CREDENTIAL_WRONG_AUTHORITY',
      `the credential names authority ${c.authority}, not the one that signed it`,
      "the hub's authority key and identity disagree; check the hub's configuration",
    );
  }
  if (c.issuedAt > now + CREDENTIAL_CLOCK_SKEW) {
    throw new PosternError('POSTERN_CREDENTIAL_NOT_YET_VALID', 'the credential is not valid yet', "check that both machines' clocks are right (NTP)");
  }
  if (now >= c.expiresAt) {
    throw new PosternError(
      'POSTERN_CREDENTIAL_EXPIRED',
      'the credential has expired',
      'a connected node refreshes it from the hub automatically; check that the node can reach its hub and that the clocks are right',
    );
  }
  return c;
}

/**
 * Decode a credential WITHOUT checking its signature or validity period.
 * For display and debugging only: never base an access decision on it.
 */
export function decodeCredentialUnverified(envelope: Uint8Array): Credential {
  return withHint(() => decodeBody(split(envelope).body));
}
