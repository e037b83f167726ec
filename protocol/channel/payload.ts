/**
 * Handshake payload of XX messages 2 and 3 (docs/PROTOCOL.md §Handshake
 * payload): the sender's identity key, the identity's signed attestation of
 * the Noise static key, and its credentials. Message 1 carries an empty
 * payload.
 */
import { Reader, Writer } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import { MAX_ATTESTATION, MAX_CREDENTIAL_BYTES, MAX_CREDENTIALS, PAYLOAD_VERSION } from './constants.ts';

export interface HandshakePayload {
  identityPublicKey: Uint8Array;
  attestation: Uint8Array;
  credentials: Uint8Array[];
}

export function encodePayload(p: HandshakePayload): Uint8Array {
  if (p.credentials.length > MAX_CREDENTIALS) throw new PosternError('POSTERN_CHANNEL_PAYLOAD', 'too many credentials');
  const w = new Writer().u8(PAYLOAD_VERSION).bytes(p.identityPublicKey).vec16(p.attestation).u8(p.credentials.length);
  for (const c of p.credentials) w.vec16(c);
  return w.finish();
}

export function decodePayload(bytes: Uint8Array): HandshakePayload {
  const r = new Reader(bytes, 'POSTERN_CHANNEL_PAYLOAD', 'handshake payload');
  if (r.u8() !== PAYLOAD_VERSION) r.fail('unknown version');
  const identityPublicKey = r.bytes(32).slice();
  const attestation = r.vec16(MAX_ATTESTATION).slice();
  const n = r.u8();
  if (n > MAX_CREDENTIALS) r.fail(`${n} credentials exceed ${MAX_CREDENTIALS}`);
  const credentials: Uint8Array[] = [];
  for (let i = 0; i < n; i++) credentials.push(r.vec16(MAX_CREDENTIAL_BYTES).slice());
  r.end();
  return { identityPublicKey, attestation, credentials };
}
