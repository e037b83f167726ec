/** Noise rev 34 §5.1: CipherState. */
import type { AeadKey, CipherName, CryptoProvider } from '../crypto/provider.ts';
import { PosternError } from '../errors.ts';
import { EMPTY } from '../bytes.ts';
import { MAX_NONCE } from './constants.ts';
import { encodeNonce } from './nonce.ts';

export class CipherState {
  readonly cipher: CipherName;
  private readonly crypto: CryptoProvider;
  private k: Uint8Array | null = null;
  private aead: AeadKey | null = null;
  /**
   * The nonce of the call under way, rewritten for each: an AEAD takes it
   * during the call only. An ArrayBuffer of its own, so native code reads
   * it in place (a fresh 12-byte array would first be moved off V8's heap).
   */
  private readonly nonce = new Uint8Array(new ArrayBuffer(12));
  n = 0;

  constructor(crypto: CryptoProvider, cipher: CipherName) {
    this.crypto = crypto;
    this.cipher = cipher;
  }

  initializeKey(key: Uint8Array | null): void {
    this.k = key === null ? null : key.slice();
    this.aead = key === null ? null : this.crypto.aead(this.cipher, key);
    this.n = 0;
  }

  hasKey(): boolean {
    return this.k !== null;
  }

  setNonce(n: number): void {
    this.n = n;
  }

  /** The raw key, for Split() users that run their own transport. */
  key(): Uint8Array | null {
    return this.k;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (this.aead === null) return plaintext;
    if (this.n >= MAX_NONCE) throw new PosternError('POSTERN_NONCE_EXHAUSTED', 'nonce space exhausted');
    const out = this.aead.seal(encodeNonce(this.cipher, this.n, this.nonce), ad, plaintext);
    this.n++;
    return out;
  }

  /** EncryptWithAd over a plaintext in parts; returns ciphertext pieces then the tag. */
  encryptPartsWithAd(ad: Uint8Array | readonly Uint8Array[], parts: readonly Uint8Array[]): Uint8Array[] {
    if (this.aead === null) return [...parts];
    if (this.n >= MAX_NONCE) throw new PosternError('POSTERN_NONCE_EXHAUSTED', 'nonce space exhausted');
    const out = this.aead.sealParts(encodeNonce(this.cipher, this.n, this.nonce), ad, parts);
    this.n++;
    return out;
  }

  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (this.aead === null) return ciphertext;
    if (this.n >= MAX_NONCE) throw new PosternError('POSTERN_NONCE_EXHAUSTED', 'nonce space exhausted');
    const out = this.aead.open(encodeNonce(this.cipher, this.n, this.nonce), ad, ciphertext);
    if (out === null) throw new PosternError('POSTERN_DECRYPT_FAILED', 'message authentication failed');
    this.n++;
    return out;
  }

  /** §4.2 REKEY(k): the first 32 bytes of ENCRYPT(k, 2^64-1, "", zeros). */
  rekey(): void {
    if (this.aead === null) return;
    const next = this.aead.seal(encodeNonce(this.cipher, -1, this.nonce), EMPTY, new Uint8Array(32)).subarray(0, 32);
    const n = this.n;
    this.initializeKey(next);
    this.n = n;
  }
}
