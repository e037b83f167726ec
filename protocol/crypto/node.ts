/**
 * node:crypto provider: OpenSSL's AES-GCM / ChaCha20-Poly1305 with a reused
 * KeyObject per key, X25519 and Ed25519 through KeyObjects. Measured faster
 * than @noble on every hot operation (docs/PROTOCOL.md, "Crypto providers").
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  hash,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import type { AeadKey, CipherName, CryptoProvider, HashFunction, HashName } from './provider.ts';
import { TAG_LEN } from './provider.ts';
import { coalesce } from '../bytes.ts';
import { transientBytes } from '../transient-bytes.ts';

interface KeyAlgo {
  name: 'x25519' | 'ed25519';
  /** DER prefixes of a raw key, for Nodes without raw key formats. */
  pkcs8: Buffer;
  spki: Buffer;
  /**
   * Parsing a raw key into a KeyObject costs about as much as the DH itself,
   * so KeyObjects are remembered per key buffer (static keys are reused
   * across handshakes, ephemeral keys are registered when generated, a
   * peer's ephemeral key serves two DHs). A WeakMap keeps no key alive; the
   * remembered bytes are compared in full, so a buffer changed in place (or
   * wiped) is never served a stale key.
   */
  privates: WeakMap<Uint8Array, CachedKey>;
  publics: WeakMap<Uint8Array, CachedKey>;
}

/** A KeyObject with the bytes it was made from (and, for a generated private key, its public half). */
interface CachedKey {
  k: KeyObject;
  raw: Uint8Array;
  pub?: Uint8Array;
}

const algo = (name: KeyAlgo['name'], pkcs8: string, spki: string): KeyAlgo => ({
  name,
  pkcs8: Buffer.from(pkcs8, 'hex'),
  spki: Buffer.from(spki, 'hex'),
  privates: new WeakMap(),
  publics: new WeakMap(),
});
const X25519 = algo('x25519', '302e020100300506032b656e04220420', '302a300506032b656e032100');
const ED25519 = algo('ed25519', '302e020100300506032b657004220420', '302a300506032b6570032100');

function u8(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Node (24) type-checks a key argument by trying KeyObject and CryptoKey
 * brand checks that throw and catch internally; building those errors' stack
 * traces is about half the cost of importing a raw key. Nothing here needs
 * them, so imports run with stack traces off (errors still carry messages).
 */
function importKey<T>(f: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return f();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Node 24 imports and exports raw keys directly ('raw-public' /
 * 'raw-private': a third less than DER to import, half as much to export);
 * older Nodes go through DER, whose last 32 bytes are the key.
 */
const exportRaw = (k: KeyObject, format: 'raw-public' | 'raw-private') => k.export({ format });
const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const RAW_FORMATS: boolean = (() => {
  try {
    const pub = exportRaw(generateKeyPairSync('x25519').publicKey, 'raw-public');
    return pub.length === 32 && exportRaw(createPublicKey({ key: pub, format: 'raw-public', asymmetricKeyType: 'x25519' }), 'raw-public').equals(pub);
  } catch {
    return false;
  }
})();

function rawPublic(k: KeyObject): Uint8Array {
  if (RAW_FORMATS) return u8(exportRaw(k, 'raw-public'));
  const der = k.export({ format: 'der', type: 'spki' });
  return u8(der.subarray(der.length - 32));
}

function rawPrivate(k: KeyObject): Uint8Array {
  if (RAW_FORMATS) return new Uint8Array(exportRaw(k, 'raw-private'));
  const der = k.export({ format: 'der', type: 'pkcs8' });
  return new Uint8Array(der.subarray(der.length - 32));
}

type KeyKind = 'private' | 'public';

/** The remembered KeyObject for this buffer, if its bytes are still the ones remembered. */
function remembered(map: WeakMap<Uint8Array, CachedKey>, raw: Uint8Array): CachedKey | undefined {
  const hit = map.get(raw);
  return hit !== undefined && Buffer.compare(hit.raw, raw) === 0 ? hit : undefined;
}

function remember(map: WeakMap<Uint8Array, CachedKey>, raw: Uint8Array, k: KeyObject, pub?: Uint8Array): void {
  map.set(raw, { k, raw: raw.slice(), pub });
}

/** A raw 32-byte key as a KeyObject, imported once per buffer. */
function keyObject(a: KeyAlgo, kind: KeyKind, raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new RangeError(`${kind} key must be 32 bytes`);
  const map = kind === 'private' ? a.privates : a.publics;
  const hit = remembered(map, raw);
  if (hit !== undefined) return hit.k;
  const key = asBuffer(raw);
  const k = importKey(() =>
    kind === 'private'
      ? createPrivateKey(RAW_FORMATS ? { key, format: 'raw-private', asymmetricKeyType: a.name } : { key: Buffer.concat([a.pkcs8, key]), format: 'der', type: 'pkcs8' })
      : createPublicKey(RAW_FORMATS ? { key, format: 'raw-public', asymmetricKeyType: a.name } : { key: Buffer.concat([a.spki, key]), format: 'der', type: 'spki' }),
  );
  remember(map, raw, k);
  return k;
}

const privateKey = (a: KeyAlgo, raw: Uint8Array) => keyObject(a, 'private', raw);
const publicKey = (a: KeyAlgo, raw: Uint8Array) => keyObject(a, 'public', raw);

/** The raw public key of a private key: remembered for generated keys, derived otherwise. */
function publicOf(a: KeyAlgo, secret: Uint8Array): Uint8Array {
  const pub = remembered(a.privates, secret)?.pub;
  if (pub !== undefined) return pub.slice();
  return rawPublic(importKey(() => createPublicKey(privateKey(a, secret))));
}

const ALGO: Record<CipherName, 'aes-256-gcm' | 'chacha20-poly1305'> = {
  AESGCM: 'aes-256-gcm',
  ChaChaPoly: 'chacha20-poly1305',
};

class NodeAead implements AeadKey {
  private readonly algo: 'aes-256-gcm' | 'chacha20-poly1305';
  private readonly key: KeyObject;

  constructor(cipher: CipherName, key: Uint8Array) {
    if (key.length !== 32) throw new RangeError('AEAD key must be 32 bytes');
    this.algo = ALGO[cipher];
    this.key = createSecretKey(key);
  }

  seal(nonce: Uint8Array, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const c = createCipheriv(this.algo as 'aes-256-gcm', this.key, nonce, { authTagLength: TAG_LEN });
    if (ad.length > 0) c.setAAD(ad, { plaintextLength: plaintext.length });
    const out = Buffer.allocUnsafe(plaintext.length + TAG_LEN);
    let n = c.update(plaintext).copy(out, 0);
    n += c.final().copy(out, n);
    c.getAuthTag().copy(out, n);
    return u8(out);
  }

  sealParts(nonce: Uint8Array, ad: Uint8Array | readonly Uint8Array[], parts: readonly Uint8Array[]): Uint8Array[] {
    const c = createCipheriv(this.algo as 'aes-256-gcm', this.key, nonce, { authTagLength: TAG_LEN });
    const ads = ad instanceof Uint8Array ? [ad] : ad;
    let n = 0;
    for (const p of parts) n += p.length;
    // OpenSSL takes associated data in pieces: the same tag as one contiguous AD.
    for (const a of ads) if (a.length > 0) c.setAAD(a, { plaintextLength: n });
    const out: Uint8Array[] = [];
    for (const p of coalesce(parts, undefined, transientBytes)) out.push(u8(c.update(p)));
    const tail = c.final();
    if (tail.length > 0) out.push(u8(tail));
    out.push(u8(c.getAuthTag()));
    return out;
  }

  open(nonce: Uint8Array, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array | null {
    if (ciphertext.length < TAG_LEN) return null;
    const body = ciphertext.subarray(0, ciphertext.length - TAG_LEN);
    const d = createDecipheriv(this.algo as 'aes-256-gcm', this.key, nonce, { authTagLength: TAG_LEN });
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_LEN));
    if (ad.length > 0) d.setAAD(ad, { plaintextLength: body.length });
    try {
      const head = d.update(body);
      const tail = d.final();
      return u8(tail.length === 0 ? head : Buffer.concat([head, tail]));
    } catch {
      return null;
    }
  }
}

const HASH: Record<HashName, { algo: string; hashLen: number; blockLen: number }> = {
  SHA256: { algo: 'sha256', hashLen: 32, blockLen: 64 },
  BLAKE2s: { algo: 'blake2s256', hashLen: 32, blockLen: 64 },
};

/**
 * Hashes and HMAC through Node's one-shot `crypto.hash`: creating a Hash or
 * Hmac object (and the KeyObject an Hmac wants) costs more than hashing the
 * few dozen bytes Noise hashes, and a handshake does about thirty of them.
 * HMAC is RFC 2104 over two one-shot hashes: the test suite checks both
 * against @noble/hashes.
 */
function nodeHash(name: HashName): HashFunction {
  const { algo, hashLen, blockLen } = HASH[name];
  const oneShot = (data: Uint8Array) => u8(hash(algo, data, 'buffer'));
  /** The parts one after the other, after `reserve` bytes left for the caller: in the scratch buffer when they fit. */
  const joined = (reserve: number, parts: readonly Uint8Array[]) => {
    let n = reserve;
    for (const p of parts) n += p.length;
    const out = n <= SCRATCH ? scratch.inner.subarray(0, n) : new Uint8Array(n);
    let o = reserve;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  return {
    name,
    hashLen,
    blockLen,
    digest(...parts) {
      if (parts.length === 1) return oneShot(parts[0]!);
      const all = joined(0, parts);
      try {
        return oneShot(all);
      } finally {
        all.fill(0);
      }
    },
    hmac(key, ...parts) {
      const k = key.length > blockLen ? oneShot(key) : key;
      // The padded key and the HKDF input (a DH output) are secrets: buffers of this module's own,
      // reused (a fresh typed array this size costs more than the hashing) and wiped after use,
      // whatever happens.
      const inner = joined(blockLen, parts);
      const outer = scratch.outer.subarray(0, blockLen + hashLen);
      let innerHash: Uint8Array | undefined;
      try {
        for (let i = 0; i < blockLen; i++) {
          const b = i < k.length ? k[i]! : 0;
          inner[i] = b ^ 0x36;
          outer[i] = b ^ 0x5c;
        }
        innerHash = oneShot(inner);
        outer.set(innerHash, blockLen);
        return oneShot(outer);
      } finally {
        inner.fill(0);
        outer.fill(0);
        innerHash?.fill(0);
        if (k !== key) k.fill(0);
      }
    },
  };
}

/** HMAC inputs up to this size (Noise's are about a hundred bytes) use the scratch buffers below. */
const SCRATCH = 1024;
/** Synchronous use only, never across a call out: nothing else runs while an HMAC is computed. */
const scratch = {
  inner: new Uint8Array(SCRATCH),
  outer: new Uint8Array(Math.max(...Object.values(HASH).map((h) => h.blockLen + h.hashLen))),
};

const hashes = { SHA256: nodeHash('SHA256'), BLAKE2s: nodeHash('BLAKE2s') };

export const nodeCrypto: CryptoProvider = {
  name: 'node:crypto',
  randomBytes: (n) => u8(randomBytes(n)),

  x25519Generate() {
    const { privateKey: k, publicKey: pub } = generateKeyPairSync('x25519');
    const raw = rawPrivate(k);
    remember(X25519.privates, raw, k, rawPublic(pub));
    return raw;
  },
  x25519PublicKey: (secret) => publicOf(X25519, secret),
  x25519(secret, pub) {
    // OpenSSL rejects an all-zero shared secret (RFC 7748 §6.1), as Noise wants.
    return u8(
      diffieHellman({ privateKey: privateKey(X25519, secret), publicKey: publicKey(X25519, pub) }),
    );
  },

  ed25519Generate: () => rawPrivate(generateKeyPairSync('ed25519').privateKey),
  ed25519PublicKey: (secret) => publicOf(ED25519, secret),
  ed25519Sign: (secret, message) => u8(sign(null, message, privateKey(ED25519, secret))),
  ed25519Verify(pub, message, signature) {
    if (pub.length !== 32 || signature.length !== 64) return false;
    try {
      return verify(null, message, publicKey(ED25519, pub), signature);
    } catch {
      return false;
    }
  },

  aead: (cipher, key) => new NodeAead(cipher, key),
  hash: (name) => hashes[name],
};
