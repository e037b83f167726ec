/** Noise rev 34 §5.2: SymmetricState, with HKDF from §4.3. */
import type { CipherName, CryptoProvider, HashFunction } from '../crypto/provider.ts';
import { utf8 } from '../bytes.ts';
import { CipherState } from './cipher-state.ts';

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** §4.3 HKDF(chaining_key, input_key_material, num_outputs). */
export function hkdf(hash: HashFunction, ck: Uint8Array, ikm: Uint8Array, n: 2 | 3): Uint8Array[] {
  const temp = hash.hmac(ck, ikm);
  const o1 = hash.hmac(temp, ONE);
  const o2 = hash.hmac(temp, o1, TWO);
  if (n === 2) return [o1, o2];
  return [o1, o2, hash.hmac(temp, o2, THREE)];
}

export class SymmetricState {
  readonly cs: CipherState;
  readonly hash: HashFunction;
  private readonly crypto: CryptoProvider;
  private readonly cipher: CipherName;
  ck: Uint8Array;
  h: Uint8Array;

  constructor(crypto: CryptoProvider, cipher: CipherName, hash: HashFunction, protocolName: string) {
    this.crypto = crypto;
    this.cipher = cipher;
    this.hash = hash;
    const name = utf8(protocolName);
    if (name.length <= hash.hashLen) {
      this.h = new Uint8Array(hash.hashLen);
      this.h.set(name);
    } else {
      this.h = hash.digest(name);
    }
    this.ck = this.h.slice();
    this.cs = new CipherState(crypto, cipher);
    this.cs.initializeKey(null);
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, tempK] = hkdf(this.hash, this.ck, ikm, 2);
    this.ck = ck!;
    this.cs.initializeKey(truncate(tempK!, this.hash.hashLen));
  }

  mixHash(data: Uint8Array): void {
    this.h = this.hash.digest(this.h, data);
  }

  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, tempK] = hkdf(this.hash, this.ck, ikm, 3);
    this.ck = ck!;
    this.mixHash(tempH!);
    this.cs.initializeKey(truncate(tempK!, this.hash.hashLen));
  }

  getHandshakeHash(): Uint8Array {
    return this.h;
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ct = this.cs.encryptWithAd(this.h, plaintext);
    this.mixHash(ct);
    return ct;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const pt = this.cs.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return pt;
  }

  /** Returns two CipherStates: c1 for initiator→responder, c2 for the reverse. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = hkdf(this.hash, this.ck, new Uint8Array(0), 2);
    const c1 = new CipherState(this.crypto, this.cipher);
    const c2 = new CipherState(this.crypto, this.cipher);
    c1.initializeKey(truncate(k1!, this.hash.hashLen));
    c2.initializeKey(truncate(k2!, this.hash.hashLen));
    k1!.fill(0);
    k2!.fill(0);
    return [c1, c2];
  }
}

/** §5.2: if HASHLEN is 64, truncate temp_k to 32 bytes. */
function truncate(k: Uint8Array, hashLen: number): Uint8Array {
  return hashLen === 64 ? k.subarray(0, 32) : k;
}
