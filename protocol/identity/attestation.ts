/**
 * The identity's attestation of its Noise static key (docs/PROTOCOL.md §6.2).
 *
 *   envelope  = version u8 (= 1) ‖ body (81) ‖ signature (64)            = 146 bytes
 *   body      = purpose u8 ‖ identity_public_key (32) ‖ static_public_key (32)
 *               ‖ created_at u64 ‖ expires_at u64
 *   signature = Ed25519(identity secret, "postern/v1/attestation" ‖ 0x00 ‖ body)
 *
 * Verification checks the exact length and the version, then the signature
 * with the identity key inside the body, and only then decodes the rest.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, Reader, utf8, Writer } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import type { AttestationCache } from './attestation-cache.ts';

export const ATTESTATION_VERSION = 1;
export const PURPOSE_SECURE_CHANNEL = 1;
/** purpose (1) + identity key (32) + static key (32) + created_at (8) + expires_at (8). */
export const ATTESTATION_BODY_LEN = 81;
export const ATTESTATION_LEN = 1 + ATTESTATION_BODY_LEN + 64;
/** Seconds a peer's clock may run ahead of ours. */
export const ATTESTATION_CLOCK_SKEW = 300;

const DOMAIN = concat(utf8('postern/v1/attestation'), Uint8Array.of(0));
const MALFORMED = 'POSTERN_ATTESTATION_MALFORMED';

export interface Attestation {
  purpose: number;
  identityPublicKey: Uint8Array;
  staticPublicKey: Uint8Array;
  createdAt: number;
  expiresAt: number;
}

function malformed(message: string, hint = 'the peer runs an incompatible version of Postern; upgrade both sides'): never {
  throw new PosternError(MALFORMED, `malformed static key attestation: ${message}`, hint);
}

function isTime(t: unknown): t is number {
  return Number.isSafeInteger(t) && (t as number) >= 0;
}

/**
 * Sign an attestation. `sign` is the identity's Ed25519 signer (usually
 * `(m) => vault.sign(label, m)`); it receives the domain-separated body.
 */
export function signAttestation(sign: (message: Uint8Array) => Uint8Array, a: Attestation): Uint8Array {
  const fix = 'this is a bug in the caller: pass 32-byte keys, a purpose 0..255 and integer unix seconds';
  if (!Number.isInteger(a.purpose) || a.purpose < 0 || a.purpose > 0xff) malformed('purpose must be a byte', fix);
  if (!(a.identityPublicKey instanceof Uint8Array) || a.identityPublicKey.length !== 32) malformed('identity key must be 32 bytes', fix);
  if (!(a.staticPublicKey instanceof Uint8Array) || a.staticPublicKey.length !== 32) malformed('static key must be 32 bytes', fix);
  if (!isTime(a.createdAt) || !isTime(a.expiresAt)) malformed('times must be non-negative integer seconds', fix);
  const body = new Writer()
    .u8(a.purpose)
    .bytes(a.identityPublicKey)
    .bytes(a.staticPublicKey)
    .u64(a.createdAt)
    .u64(a.expiresAt)
    .finish();
  const signature = sign(concat(DOMAIN, body));
  if (!(signature instanceof Uint8Array) || signature.length !== 64) malformed('the signer did not return a 64-byte signature', fix);
  return concat(Uint8Array.of(ATTESTATION_VERSION), body, signature);
}

/** The signed body, once its signature is known to be good. The length is already exact. */
function decodeBody(body: Uint8Array): Attestation {
  const r = new Reader(body, MALFORMED, 'static key attestation');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  // Only a u64 above 2^53 - 1 can fail here; say so with a hint rather than the Reader's bare error.
  if (view.getUint32(65) > 0x1fffff || view.getUint32(73) > 0x1fffff) malformed('a time is beyond 2^53 - 1 seconds');
  const a: Attestation = {
    purpose: r.u8(),
    identityPublicKey: r.bytes(32).slice(),
    staticPublicKey: r.bytes(32).slice(),
    createdAt: r.u64(),
    expiresAt: r.u64(),
  };
  r.end();
  return a;
}

/**
 * Verify an attestation envelope at time `now` (unix seconds) and return its
 * fields. Throws POSTERN_ATTESTATION_MALFORMED, _SIGNATURE or _EXPIRED.
 * `known`: envelopes whose signature already verified (skipped, and this
 * one added once it verifies); the times are checked either way.
 */
export function verifyAttestation(envelope: Uint8Array, now: number, crypto: CryptoProvider = defaultCrypto, known?: AttestationCache): Attestation {
  if (!(envelope instanceof Uint8Array) || envelope.length !== ATTESTATION_LEN) {
    malformed(`an attestation is exactly ${ATTESTATION_LEN} bytes`);
  }
  if (envelope[0] !== ATTESTATION_VERSION) malformed(`unknown version ${envelope[0]}`);
  const body = envelope.subarray(1, 1 + ATTESTATION_BODY_LEN);
  const signature = envelope.subarray(1 + ATTESTATION_BODY_LEN);
  // Only the identity key is read before the signature is checked.
  const identityPublicKey = body.subarray(1, 33);
  if (known === undefined || !known.has(envelope)) {
    if (!crypto.ed25519Verify(identityPublicKey, concat(DOMAIN, body), signature)) {
      throw new PosternError(
        'POSTERN_ATTESTATION_SIGNATURE',
        'the static key attestation has an invalid signature',
        'the peer is not who it claims to be, or the data was altered on the way; do not trust this connection',
      );
    }
    known?.add(envelope);
  }
  const a = decodeBody(body);
  if (a.purpose !== PURPOSE_SECURE_CHANNEL) malformed(`purpose ${a.purpose} is not a secure-channel static key`);
  if (a.createdAt > now + ATTESTATION_CLOCK_SKEW) {
    throw new PosternError(
      'POSTERN_ATTESTATION_EXPIRED',
      'the static key attestation is not valid yet (it was signed in the future)',
      "check that both machines' clocks are right (NTP)",
    );
  }
  if (now >= a.expiresAt) {
    throw new PosternError(
      'POSTERN_ATTESTATION_EXPIRED',
      'the static key attestation has expired',
      "restart the peer's node to sign a fresh one, and check that both machines' clocks are right",
    );
  }
  return a;
}
