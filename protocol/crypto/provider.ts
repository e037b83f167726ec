/**
 * The crypto provider interface. Everything that computes a primitive goes
 * through one of these, so the same protocol code runs on node:crypto (fast,
 * the default) and on @noble (the audited reference that tests check the
 * fast path against). Keys cross this interface as raw bytes.
 */

export type CipherName = 'ChaChaPoly' | 'AESGCM';
export type HashName = 'SHA256' | 'BLAKE2s';

/**
 * An AEAD bound to one key, reusable for many messages (Noise rev 34 §4.2).
 * `nonce` is the 12-byte AEAD nonce, read during the call only: the caller
 * rewrites the same buffer for its next call.
 */
export interface AeadKey {
  /** Returns ciphertext ‖ 16-byte tag. */
  seal(nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * Seal a plaintext given as consecutive parts, without joining them first.
   * Returns the ciphertext pieces followed by the tag.
   */
  sealParts(nonce: Uint8Array, ad: Uint8Array | readonly Uint8Array[], parts: readonly Uint8Array[]): Uint8Array[];
  /** Returns the plaintext, or null when authentication fails. */
  open(nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null;
}

export interface HashFunction {
  readonly name: HashName;
  readonly hashLen: number;
  readonly blockLen: number;
  digest(...parts: Uint8Array[]): Uint8Array;
  hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
}

export interface CryptoProvider {
  readonly name: string;
  randomBytes(n: number): Uint8Array;

  x25519Generate(): Uint8Array;
  x25519PublicKey(secret: Uint8Array): Uint8Array;
  /** Raw X25519; throws on an all-zero (low-order) result. */
  x25519(secret: Uint8Array, publicKey: Uint8Array): Uint8Array;

  ed25519Generate(): Uint8Array;
  ed25519PublicKey(secret: Uint8Array): Uint8Array;
  ed25519Sign(secret: Uint8Array, message: Uint8Array): Uint8Array;
  /** Never throws: a malformed key or signature is simply `false`. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  aead(cipher: CipherName, key: Uint8Array): AeadKey;
  hash(name: HashName): HashFunction;
}

export const TAG_LEN = 16;
export const KEY_LEN = 32;
export const DH_LEN = 32;
