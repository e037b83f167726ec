/** The fast provider (node:crypto) checked against the reference (@noble) on random inputs. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nobleCrypto, nodeCrypto } from '../../protocol/crypto/index.ts';
import { concat, equal } from '../../protocol/bytes.ts';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nonce = fc.uint8Array({ minLength: 12, maxLength: 12 });
const data = fc.uint8Array({ maxLength: 3000 });

describe('node:crypto agrees with @noble', () => {
  it.each(['AESGCM', 'ChaChaPoly'] as const)('%s seal, sealParts and open', (cipher) => {
    fc.assert(
      fc.property(key, nonce, data, data, fc.array(data, { maxLength: 4 }), (k, n, ad, pt, parts) => {
        const a = nodeCrypto.aead(cipher, k);
        const b = nobleCrypto.aead(cipher, k);
        const ct = a.seal(n, ad, pt);
        expect(equal(ct, b.seal(n, ad, pt))).toBe(true);
        expect(equal(b.open(n, ad, ct)!, pt)).toBe(true);
        const adParts = [ad.subarray(0, ad.length >> 1), ad.subarray(ad.length >> 1)];
        expect(equal(concat(...a.sealParts(n, adParts, parts)), concat(...b.sealParts(n, ad, parts)))).toBe(true);
        if (ct.length > 0) {
          const bad = ct.slice();
          bad[0]! ^= 1;
          expect(a.open(n, ad, bad)).toBeNull();
          expect(b.open(n, ad, bad)).toBeNull();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('X25519 and Ed25519', () => {
    fc.assert(
      fc.property(key, key, data, (s1, s2, msg) => {
        expect(equal(nodeCrypto.x25519PublicKey(s1), nobleCrypto.x25519PublicKey(s1))).toBe(true);
        const p2 = nobleCrypto.x25519PublicKey(s2);
        expect(equal(nodeCrypto.x25519(s1, p2), nobleCrypto.x25519(s1, p2))).toBe(true);
        const pub = nobleCrypto.ed25519PublicKey(s1);
        expect(equal(nodeCrypto.ed25519PublicKey(s1), pub)).toBe(true);
        const sig = nodeCrypto.ed25519Sign(s1, msg);
        expect(equal(sig, nobleCrypto.ed25519Sign(s1, msg))).toBe(true);
        expect(nobleCrypto.ed25519Verify(pub, msg, sig)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('SHA-256, BLAKE2s and HMAC', () => {
    fc.assert(
      fc.property(data, data, (k, m) => {
        for (const h of ['SHA256', 'BLAKE2s'] as const) {
          expect(equal(nodeCrypto.hash(h).digest(m), nobleCrypto.hash(h).digest(m))).toBe(true);
          expect(equal(nodeCrypto.hash(h).hmac(k, m), nobleCrypto.hash(h).hmac(k, m))).toBe(true);
          // In parts, as Noise's HKDF calls them, and with the empty key Noise's split uses.
          expect(equal(nodeCrypto.hash(h).digest(k, m, k), nobleCrypto.hash(h).digest(concat(k, m, k)))).toBe(true);
          expect(equal(nodeCrypto.hash(h).hmac(k, m, k), nobleCrypto.hash(h).hmac(k, concat(m, k)))).toBe(true);
          expect(equal(nodeCrypto.hash(h).hmac(new Uint8Array(0), m), nobleCrypto.hash(h).hmac(new Uint8Array(0), m))).toBe(true);
        }
      }),
      { numRuns: 150 },
    );
    // Inputs on both sides of the size the node provider joins in a reused buffer (1,024 bytes), one
    // after another: nothing of one call may leak into the next.
    for (const n of [0, 1, 63, 64, 65, 959, 960, 961, 1023, 1024, 1025, 4096, 10, 3000, 5]) {
      const k = nodeCrypto.randomBytes(n % 97);
      const m = nodeCrypto.randomBytes(n);
      for (const h of ['SHA256', 'BLAKE2s'] as const) {
        expect(equal(nodeCrypto.hash(h).hmac(k, m, k), nobleCrypto.hash(h).hmac(k, concat(m, k)))).toBe(true);
        expect(equal(nodeCrypto.hash(h).digest(m, k), nobleCrypto.hash(h).digest(concat(m, k)))).toBe(true);
      }
    }
  });
});

describe('regressions', () => {
  it('a key buffer used for X25519 and then for Ed25519 gets the Ed25519 key (the KeyObject cache is per algorithm)', () => {
    const s = new Uint8Array(32).fill(7);
    nodeCrypto.x25519PublicKey(s);
    expect(equal(nodeCrypto.ed25519PublicKey(s), nobleCrypto.ed25519PublicKey(s))).toBe(true);
  });

  it('a key buffer changed in place is never served its old KeyObject', () => {
    const s = new Uint8Array(32).fill(1);
    nodeCrypto.x25519PublicKey(s);
    s[5] = 9; // first and last bytes unchanged
    expect(equal(nodeCrypto.x25519PublicKey(s), nobleCrypto.x25519PublicKey(s))).toBe(true);
  });

  it('a generated key answers its remembered public key, and a changed one its own', () => {
    for (const [gen, pub, ref] of [
      [nodeCrypto.x25519Generate, nodeCrypto.x25519PublicKey, nobleCrypto.x25519PublicKey],
      [nodeCrypto.ed25519Generate, nodeCrypto.ed25519PublicKey, nobleCrypto.ed25519PublicKey],
    ] as const) {
      const s = gen();
      expect(equal(pub(s), ref(s))).toBe(true);
      const copy = pub(s);
      copy.fill(0); // callers own what they get: wiping it must not touch the cache
      expect(equal(pub(s), ref(s))).toBe(true);
      s[3] = s[3]! ^ 0xff;
      expect(equal(pub(s), ref(s))).toBe(true);
    }
  });

  it('a peer public key buffer changed in place is never served its old KeyObject', () => {
    const me = nodeCrypto.x25519Generate();
    const peer = nobleCrypto.x25519PublicKey(new Uint8Array(32).fill(3));
    expect(equal(nodeCrypto.x25519(me, peer), nobleCrypto.x25519(me, peer))).toBe(true);
    peer.set(nobleCrypto.x25519PublicKey(new Uint8Array(32).fill(4)));
    expect(equal(nodeCrypto.x25519(me, peer), nobleCrypto.x25519(me, peer))).toBe(true);
  });

  it('errors from key imports still carry their message', () => {
    expect(() => nodeCrypto.ed25519Sign(new Uint8Array(31), new Uint8Array(1))).toThrow(/32 bytes/);
    expect(Error.stackTraceLimit).toBeGreaterThan(0);
  });
});
