/**
 * @noble provider: the audited pure-JS reference. Tests run every vector on
 * it and cross-check node:crypto against it; the vault uses its
 * XChaCha20-Poly1305, which Node does not offer.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { gcm } from '@noble/ciphers/aes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type { AeadKey, CipherName, CryptoProvider, HashFunction, HashName } from './provider.ts';
import { TAG_LEN } from './provider.ts';
import { concat } from '../bytes.ts';

function nobleAead(cipher: CipherName, key: Uint8Array): AeadKey {
  if (key.length !== 32) throw new RangeError('AEAD key must be 32 bytes');
  const k = key.slice();
  const make = cipher === 'AESGCM' ? gcm : chacha20poly1305;
  return {
    seal: (nonce, ad, pt) => make(k, nonce, ad).encrypt(pt),
    sealParts(nonce, ad, parts) {
      const ct = make(k, nonce, ad instanceof Uint8Array ? ad : concat(...ad)).encrypt(parts.length === 1 ? parts[0]! : concat(...parts));
      return [ct.subarray(0, ct.length - TAG_LEN), ct.subarray(ct.length - TAG_LEN)];
    },
    open(nonce, ad, ct) {
      if (ct.length < TAG_LEN) return null;
      try {
        return make(k, nonce, ad).decrypt(ct);
      } catch {
        return null;
      }
    },
  };
}

function nobleHash(name: HashName): HashFunction {
  const fn = name === 'SHA256' ? sha256 : blake2s;
  return {
    name,
    hashLen: 32,
    blockLen: 64,
    digest: (...parts) => fn(parts.length === 1 ? parts[0]! : concat(...parts)),
    hmac: (key, ...parts) => hmac(fn, key, parts.length === 1 ? parts[0]! : concat(...parts)),
  };
}

const hashes = { SHA256: nobleHash('SHA256'), BLAKE2s: nobleHash('BLAKE2s') };

export const nobleCrypto: CryptoProvider = {
  name: '@noble',
  randomBytes: (n) => randomBytes(n),

  x25519Generate: () => x25519.utils.randomSecretKey(),
  x25519PublicKey: (secret) => x25519.getPublicKey(secret),
  x25519: (secret, pub) => x25519.getSharedSecret(secret, pub),

  ed25519Generate: () => ed25519.utils.randomSecretKey(),
  ed25519PublicKey: (secret) => ed25519.getPublicKey(secret),
  ed25519Sign: (secret, message) => ed25519.sign(message, secret),
  ed25519Verify(pub, message, signature) {
    if (pub.length !== 32 || signature.length !== 64) return false;
    try {
      return ed25519.verify(signature, message, pub);
    } catch {
      return false;
    }
  },

  aead: nobleAead,
  hash: (name) => hashes[name],
};
