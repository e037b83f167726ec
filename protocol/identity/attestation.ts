/**
 * The identity's attestation of its Noise static key:
 *   version u8 = 1 ‖ body (81) ‖ signature (64)          = 146 bytes
 *   body = purpose u8 ‖ identity_public_key (32) ‖ static_public_key (32) ‖ created_at u64 ‖ expires_at u64
 *   signature = Ed25519(identity, "postern/v1/attestation" ‖ 0x00 ‖ body)
 * The signature is verified (with the key inside the body) before anything else is decoded.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, Reader, utf8, Writer } from '../bytes.ts';
import { PosternError } from '../errors.ts';

export const PURPOSE_SECURE_CHANNEL = 1;
export const ATTESTATION_LEN = 146;
const BODY_LEN = 81;
const DOMAIN = concat(utf8('postern/v1/attestation'), Uint8Array.of(0));
const CLOCK_SKEW = 300;

export interface Attestation {
  purpose: number;
  identityPublicKey: Uint8Array;
  staticPublicKey: Uint8Array;
  createdAt: number;
  expiresAt: number;
}

export function signAttestation(sign: (message: Uint8Array) => Uint8Array, a: Attestation): Uint8Array {
  const body = new Writer().u8(a.purpose).bytes(a.identityPublicKey).bytes(a.staticPublicKey).u64(a.createdAt).u64(a.expiresAt).finish();
  if (body.length !== BODY_LEN) throw new PosternError('POSTERN_ATTESTATION_MALFORMED', 'keys must be 32 bytes');
  return concat(Uint8Array.of(1), body, sign(concat(DOMAIN, body)));
}

export function verifyAttestation(envelope: Uint8Array, now: number, crypto: CryptoProvider = defaultCrypto): Attestation {
  if (envelope.length !== ATTESTATION_LEN) {
    throw new PosternError('POSTERN_ATTESTATION_MALFORMED', `attestation must be ${ATTESTATION_LEN} bytes`, 'the peer runs an incompatible version');
  }
  if (envelope[0] !== 1) throw new PosternError('POSTERN_ATTESTATION_MALFORMED', 'unknown attestation version');
  const body = envelope.subarray(1, 1 + BODY_LEN);
  const sig = envelope.subarray(1 + BODY_LEN);
  const identityPublicKey = body.subarray(1, 33);
  if (!crypto.ed25519Verify(identityPublicKey, concat(DOMAIN, body), sig)) {
    throw new PosternError('POSTERN_ATTESTATION_SIGNATURE', 'the static key attestation has a bad signature', 'the peer is not who it claims to be');
  }
  const r = new Reader(body, 'POSTERN_ATTESTATION_MALFORMED', 'attestation');
  const a: Attestation = {
    purpose: r.u8(),
    identityPublicKey: r.bytes(32).slice(),
    staticPublicKey: r.bytes(32).slice(),
    createdAt: r.u64(),
    expiresAt: r.u64(),
  };
  if (a.purpose !== PURPOSE_SECURE_CHANNEL) throw new PosternError('POSTERN_ATTESTATION_MALFORMED', `unknown attestation purpose ${a.purpose}`);
  if (a.createdAt > now + CLOCK_SKEW || now >= a.expiresAt) {
    throw new PosternError('POSTERN_ATTESTATION_EXPIRED', 'the static key attestation is not valid now', 'restart the peer to renew it, and check both clocks');
  }
  return a;
}
