/** In-memory identities, authorities and credentials for protocol tests. */
import type { CryptoProvider } from '../../protocol/crypto/provider.ts';
import { nodeCrypto } from '../../protocol/crypto/index.ts';
import { identifierOf } from '../../protocol/identity/identifier.ts';
import { PURPOSE_SECURE_CHANNEL, signAttestation } from '../../protocol/identity/attestation.ts';
import { issueCredential } from '../../protocol/credential/credential.ts';
import type { LocalIdentity, TrustOptions } from '../../protocol/channel/index.ts';

export const NOW = 1_800_000_000;
export const PROJECT = 'Ptest';

export interface TestAuthority {
  secret: Uint8Array;
  publicKey: Uint8Array;
  identifier: string;
  issue(subject: string, attributes: Record<string, string>, o?: { issuedAt?: number; expiresAt?: number; project?: string }): Uint8Array;
}

export function makeAuthority(c: CryptoProvider = nodeCrypto): TestAuthority {
  const secret = c.ed25519Generate();
  const publicKey = c.ed25519PublicKey(secret);
  const identifier = identifierOf(publicKey, c);
  return {
    secret,
    publicKey,
    identifier,
    issue: (subject, attributes, o = {}) =>
      issueCredential((m) => c.ed25519Sign(secret, m), {
        subject,
        authority: identifier,
        project: o.project ?? PROJECT,
        issuedAt: o.issuedAt ?? NOW - 10,
        expiresAt: o.expiresAt ?? NOW + 3600,
        attributes,
      }),
  };
}

export interface TestParty {
  identitySecret: Uint8Array;
  identityPublicKey: Uint8Array;
  identifier: string;
  staticSecret: Uint8Array;
  staticPublicKey: Uint8Array;
  attestation: Uint8Array;
  local(credentials: Uint8Array[]): LocalIdentity;
}

export function makeParty(c: CryptoProvider = nodeCrypto, o: { attestationExpiresAt?: number; staticPublicKey?: Uint8Array } = {}): TestParty {
  const identitySecret = c.ed25519Generate();
  const identityPublicKey = c.ed25519PublicKey(identitySecret);
  const staticSecret = c.x25519Generate();
  const staticPublicKey = c.x25519PublicKey(staticSecret);
  const attestation = signAttestation((m) => c.ed25519Sign(identitySecret, m), {
    purpose: PURPOSE_SECURE_CHANNEL,
    identityPublicKey,
    staticPublicKey: o.staticPublicKey ?? staticPublicKey,
    createdAt: NOW - 100,
    expiresAt: o.attestationExpiresAt ?? NOW + 86400,
  });
  return {
    identitySecret,
    identityPublicKey,
    identifier: identifierOf(identityPublicKey, c),
    staticSecret,
    staticPublicKey,
    attestation,
    local: (credentials) => ({
      identityPublicKey,
      staticKey: { secretKey: staticSecret, publicKey: staticPublicKey },
      attestation,
      credentials,
    }),
  };
}

export function trust(authority: TestAuthority, extra: Partial<TrustOptions> = {}): TrustOptions {
  return { authorities: [authority.publicKey], project: PROJECT, requireCredential: true, now: () => NOW, ...extra };
}
