/**
 * A node's identity: the Ed25519 identity key and the X25519 static key for
 * secure channels, both in the vault, and the identity's attestation of the
 * static key (renewed when it nears expiry).
 */
import { identifierOf } from '../../protocol/identity/identifier.ts';
import { PURPOSE_SECURE_CHANNEL, signAttestation } from '../../protocol/identity/attestation.ts';
import type { LocalIdentity } from '../../protocol/channel/index.ts';
import type { Vault } from '../../protocol/vault/vault.ts';

export const IDENTITY_LABEL = 'identity';
export const STATIC_LABEL = 'secure-channel';
/** Attestations last 30 days and are re-signed at each start. */
const ATTESTATION_TTL = 30 * 24 * 3600;

export interface NodeIdentity {
  identifier: string;
  publicKey: Uint8Array;
  vault: Vault;
  sign(message: Uint8Array): Uint8Array;
  /** The LocalIdentity for a secure channel, presenting `credentials`. */
  local(credentials: Uint8Array[]): LocalIdentity;
}

export function loadOrCreateIdentity(vault: Vault, now = Math.floor(Date.now() / 1000)): NodeIdentity {
  const id = vault.get(IDENTITY_LABEL) ?? vault.generate('ed25519', IDENTITY_LABEL);
  const st = vault.get(STATIC_LABEL) ?? vault.generate('x25519', STATIC_LABEL);
  const sign = (m: Uint8Array) => vault.sign(IDENTITY_LABEL, m);
  const attestation = signAttestation(sign, {
    purpose: PURPOSE_SECURE_CHANNEL,
    identityPublicKey: id.publicKey,
    staticPublicKey: st.publicKey,
    createdAt: now,
    expiresAt: now + ATTESTATION_TTL,
  });
  const staticKey = { publicKey: st.publicKey, dh: (peer: Uint8Array) => vault.dh(STATIC_LABEL, peer) };
  return {
    identifier: identifierOf(id.publicKey),
    publicKey: id.publicKey,
    vault,
    sign,
    local: (credentials) => ({ identityPublicKey: id.publicKey, staticKey, attestation, credentials }),
  };
}
