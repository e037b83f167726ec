export { identifierOf, isIdentifier, assertIdentifier, identityFromPublicKey, type Identity } from './identifier.ts';
export { signAttestation, verifyAttestation, PURPOSE_SECURE_CHANNEL, ATTESTATION_LEN, type Attestation } from './attestation.ts';
