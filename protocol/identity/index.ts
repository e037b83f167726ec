export {
  identifierOf,
  isIdentifier,
  assertIdentifier,
  identityFromPublicKey,
  IDENTIFIER_LEN,
  IDENTIFIER_HASH_LEN,
  type Identity,
} from './identifier.ts';
export {
  signAttestation,
  verifyAttestation,
  PURPOSE_SECURE_CHANNEL,
  ATTESTATION_VERSION,
  ATTESTATION_BODY_LEN,
  ATTESTATION_LEN,
  ATTESTATION_CLOCK_SKEW,
  type Attestation,
} from './attestation.ts';
export { AttestationCache, DEFAULT_ATTESTATION_CACHE } from './attestation-cache.ts';
