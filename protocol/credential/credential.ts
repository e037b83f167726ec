/**
 * Credentials: the authority's signed statement of (subject, attributes,
 * validity). A versioned byte envelope; the signature is checked before the
 * body is decoded.
 *
 *   version u8 = 1 ‖ body_len u32 ‖ body ‖ signature (64)
 *   body = subject str16 ‖ authority str16 ‖ project str16 ‖ issued_at u64 ‖ expires_at u64
 *          ‖ attr_count u16 ‖ attr_count × (key str16 ‖ value str16)      (keys sorted, unique)
 *   signature = Ed25519(authority, "postern/v1/credential" ‖ 0x00 ‖ body)
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, Reader, utf8, Writer } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import { identifierOf, isIdentifier } from '../identity/identifier.ts';

export const MAX_CREDENTIAL_BODY = 16384;
export const MAX_ATTRIBUTES = 64;
export const MAX_ATTRIBUTE_KEY = 128;
export const MAX_ATTRIBUTE_VALUE = 1024;
const KEY_RE = /^[A-Za-z_][A-Za-z0-9._:-]*$/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const DOMAIN = concat(utf8('postern/v1/credential'), Uint8Array.of(0));
const CLOCK_SKEW = 300;
const MALFORMED = 'POSTERN_CREDENTIAL_MALFORMED';

export interface Credential {
  subject: string;
  authority: string;
  project: string;
  issuedAt: number;
  expiresAt: number;
  attributes: Record<string, string>;
}

export function isAttributeKey(k: string): boolean {
  return k.length >= 1 && k.length <= MAX_ATTRIBUTE_KEY && KEY_RE.test(k) && !FORBIDDEN_KEYS.has(k);
}

function bad(message: string): never {
  throw new PosternError(MALFORMED, `malformed credential: ${message}`);
}

function encodeBody(c: Credential): Uint8Array {
  if (!isIdentifier(c.subject) || !isIdentifier(c.authority)) bad('subject and authority must be identifiers');
  if (c.project.length < 1 || c.project.length > 64) bad('project must be 1..64 characters');
  const keys = Object.keys(c.attributes).sort();
  if (keys.length > MAX_ATTRIBUTES) bad(`more than ${MAX_ATTRIBUTES} attributes`);
  const w = new Writer().str16(c.subject).str16(c.authority).str16(c.project).u64(c.issuedAt).u64(c.expiresAt).u16(keys.length);
  for (const k of keys) {
    const v = c.attributes[k]!;
    if (!isAttributeKey(k)) bad(`invalid attribute name ${JSON.stringify(k.slice(0, 40))}`);
    if (typeof v !== 'string' || utf8(v).length > MAX_ATTRIBUTE_VALUE) bad(`attribute ${k} value too long`);
    w.str16(k).str16(v);
  }
  const body = w.finish();
  if (body.length > MAX_CREDENTIAL_BODY) bad('too large');
  return body;
}

export function issueCredential(sign: (message: Uint8Array) => Uint8Array, c: Credential): Uint8Array {
  const body = encodeBody(c);
  return new Writer().u8(1).u32(body.length).bytes(body).bytes(sign(concat(DOMAIN, body))).finish();
}

function split(envelope: Uint8Array): { body: Uint8Array; signature: Uint8Array } {
  const r = new Reader(envelope, MALFORMED, 'credential');
  if (r.u8() !== 1) r.fail('unknown version');
  const len = r.u32();
  if (len > MAX_CREDENTIAL_BODY) r.fail('body too large');
  const body = r.bytes(len);
  const signature = r.bytes(64);
  r.end();
  return { body, signature };
}

function decodeBody(body: Uint8Array): Credential {
  const r = new Reader(body, MALFORMED, 'credential');
  const subject = r.str16(64);
  const authority = r.str16(64);
  const project = r.str16(64);
  const issuedAt = r.u64();
  const expiresAt = r.u64();
  const n = r.u16();
  if (n > MAX_ATTRIBUTES) r.fail(`${n} attributes`);
  const attributes = Object.create(null) as Record<string, string>;
  let prev: string | undefined;
  for (let i = 0; i < n; i++) {
    const k = r.str16(MAX_ATTRIBUTE_KEY);
    const v = r.str16(MAX_ATTRIBUTE_VALUE * 4);
    if (!isAttributeKey(k)) r.fail('invalid attribute name');
    if (utf8(v).length > MAX_ATTRIBUTE_VALUE) r.fail('attribute value too long');
    if (prev !== undefined && k <= prev) r.fail('attributes not sorted or duplicated');
    prev = k;
    attributes[k] = v;
  }
  r.end();
  if (!isIdentifier(subject) || !isIdentifier(authority)) r.fail('subject and authority must be identifiers');
  if (project.length < 1) r.fail('empty project');
  return { subject, authority, project, issuedAt, expiresAt, attributes };
}

export function verifyCredential(envelope: Uint8Array, authorityPublicKey: Uint8Array, now: number, crypto: CryptoProvider = defaultCrypto): Credential {
  const { body, signature } = split(envelope);
  if (!crypto.ed25519Verify(authorityPublicKey, concat(DOMAIN, body), signature)) {
    throw new PosternError('POSTERN_CREDENTIAL_SIGNATURE', 'the credential is not signed by a trusted authority', 'enroll with a ticket from this project\'s hub');
  }
  const c = decodeBody(body);
  if (c.authority !== identifierOf(authorityPublicKey, crypto)) {
    throw new PosternError('POSTERN_CREDENTIAL_WRONG_AUTHORITY', 'the credential names another authority');
  }
  if (c.issuedAt > now + CLOCK_SKEW) {
    throw new PosternError('POSTERN_CREDENTIAL_NOT_YET_VALID', 'the credential is not valid yet', 'check the clocks of both machines');
  }
  if (now >= c.expiresAt) {
    throw new PosternError('POSTERN_CREDENTIAL_EXPIRED', 'the credential has expired', 'the node refreshes it from the hub automatically once connected');
  }
  return c;
}

/** Decode without checking the signature: for display and debugging only, never for access decisions. */
export function decodeCredentialUnverified(envelope: Uint8Array): Credential {
  return decodeBody(split(envelope).body);
}
