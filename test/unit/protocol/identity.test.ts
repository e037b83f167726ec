import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../../protocol/crypto/index.ts';
import type { CryptoProvider } from '../../../protocol/crypto/provider.ts';
import { concat, toHex, utf8 } from '../../../protocol/bytes.ts';
import { PosternError } from '../../../protocol/errors.ts';
import {
  assertIdentifier,
  ATTESTATION_LEN,
  identifierOf,
  identityFromPublicKey,
  isIdentifier,
  PURPOSE_SECURE_CHANNEL,
  signAttestation,
  verifyAttestation,
  AttestationCache,
  type Attestation,
} from '../../../protocol/identity/index.ts';
import { codeOf } from '../../helpers/errors.ts';

const NOW = 1_800_000_000;
const PROVIDERS: CryptoProvider[] = [nodeCrypto, nobleCrypto];


function keyPair(c: CryptoProvider = nodeCrypto): { secret: Uint8Array; publicKey: Uint8Array } {
  const secret = c.ed25519Generate();
  return { secret, publicKey: c.ed25519PublicKey(secret) };
}

describe('identifiers', () => {
  it('are "I" + 40 hex digits of the domain-separated SHA-256 (independent computation)', () => {
    const { publicKey } = keyPair();
    const expected =
      'I' +
      createHash('sha256')
        .update(Buffer.from('postern/v1/identifier\0', 'latin1'))
        .update(publicKey)
        .digest('hex')
        .slice(0, 40);
    expect(identifierOf(publicKey)).toBe(expected);
    expect(identifierOf(publicKey)).toHaveLength(41);
    expect(identifierOf(publicKey).startsWith('I')).toBe(true);
  });

  it('are deterministic and the same on both providers', () => {
    const pk = Uint8Array.from({ length: 32 }, (_, i) => i);
    const id = identifierOf(pk);
    expect(identifierOf(pk.slice())).toBe(id);
    expect(identifierOf(pk, nobleCrypto)).toBe(id);
    expect(identityFromPublicKey(pk)).toEqual({ identifier: id, publicKey: pk });
  });

  it('differ for different keys, even one bit apart', () => {
    const a = new Uint8Array(32);
    const b = a.slice();
    b[31] = 1;
    expect(identifierOf(a)).not.toBe(identifierOf(b));
    expect(identifierOf(keyPair().publicKey)).not.toBe(identifierOf(keyPair().publicKey));
  });

  it('isIdentifier / assertIdentifier accept exactly ^I[0-9a-f]{40}$', () => {
    const good = identifierOf(keyPair().publicKey);
    expect(isIdentifier(good)).toBe(true);
    expect(assertIdentifier(good)).toBe(good);
    const bad = [
      '',
      'I',
      good.slice(0, 40),
      `${good}0`,
      good.toUpperCase(),
      `i${good.slice(1)}`,
      `X${good.slice(1)}`,
      ` ${good}`,
      `${good}\n`,
      `I${'g'.repeat(40)}`,
      toHex(new Uint8Array(20)),
    ];
    for (const s of bad) {
      expect(isIdentifier(s), s).toBe(false);
      try {
        assertIdentifier(s);
        expect.unreachable(`accepted ${JSON.stringify(s)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(PosternError);
        expect((e as PosternError).code).toBe('POSTERN_BAD_IDENTIFIER');
        expect((e as PosternError).hint).toMatch(/40/);
      }
    }
    expect(isIdentifier(42)).toBe(false);
  });
});

describe('static key attestations', () => {
  function fixture(c: CryptoProvider = nodeCrypto, o: Partial<Attestation> = {}) {
    const id = keyPair(c);
    const staticSecret = c.x25519Generate();
    const a: Attestation = {
      purpose: PURPOSE_SECURE_CHANNEL,
      identityPublicKey: id.publicKey,
      staticPublicKey: c.x25519PublicKey(staticSecret),
      createdAt: NOW - 100,
      expiresAt: NOW + 86400,
      ...o,
    };
    const envelope = signAttestation((m) => c.ed25519Sign(id.secret, m), a);
    return { id, a, envelope };
  }

  it('round-trips and has the documented layout', () => {
    const { id, a, envelope } = fixture();
    expect(envelope).toHaveLength(ATTESTATION_LEN);
    expect(ATTESTATION_LEN).toBe(146);
    expect(envelope[0]).toBe(1);
    expect(envelope[1]).toBe(PURPOSE_SECURE_CHANNEL);
    expect(envelope.subarray(2, 34)).toEqual(a.identityPublicKey);
    expect(envelope.subarray(34, 66)).toEqual(a.staticPublicKey);
    const view = new DataView(envelope.buffer, envelope.byteOffset);
    expect(view.getBigUint64(66)).toBe(BigInt(a.createdAt));
    expect(view.getBigUint64(74)).toBe(BigInt(a.expiresAt));
    const signed = concat(utf8('postern/v1/attestation'), Uint8Array.of(0), envelope.subarray(1, 82));
    expect(nodeCrypto.ed25519Verify(id.publicKey, signed, envelope.subarray(82))).toBe(true);
    expect(verifyAttestation(envelope, NOW)).toEqual(a);
  });

  it('rejects every single flipped bit', () => {
    const { envelope } = fixture();
    for (let i = 0; i < envelope.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const t = envelope.slice();
        t[i]! ^= 1 << bit;
        const code = codeOf(() => verifyAttestation(t, NOW));
        expect(code, `byte ${i} bit ${bit}`).toBe(i === 0 ? 'POSTERN_ATTESTATION_MALFORMED' : 'POSTERN_ATTESTATION_SIGNATURE');
      }
    }
  });

  it('rejects wrong lengths and versions as MALFORMED', () => {
    const { envelope } = fixture();
    expect(codeOf(() => verifyAttestation(envelope.subarray(0, 145), NOW))).toBe('POSTERN_ATTESTATION_MALFORMED');
    expect(codeOf(() => verifyAttestation(concat(envelope, Uint8Array.of(0)), NOW))).toBe('POSTERN_ATTESTATION_MALFORMED');
    expect(codeOf(() => verifyAttestation(new Uint8Array(0), NOW))).toBe('POSTERN_ATTESTATION_MALFORMED');
    const v2 = envelope.slice();
    v2[0] = 2;
    expect(codeOf(() => verifyAttestation(v2, NOW))).toBe('POSTERN_ATTESTATION_MALFORMED');
  });

  it('rejects a validly signed attestation of another purpose', () => {
    const { envelope } = fixture(nodeCrypto, { purpose: 2 });
    expect(codeOf(() => verifyAttestation(envelope, NOW))).toBe('POSTERN_ATTESTATION_MALFORMED');
  });

  it('rejects a validly signed attestation whose times do not fit 53 bits', () => {
    const id = keyPair();
    const body = new Uint8Array(81);
    body[0] = PURPOSE_SECURE_CHANNEL;
    body.set(id.publicKey, 1);
    body.fill(0xff, 65, 73); // created_at = 2^64 - 1
    body[80] = 1;
    const sig = nodeCrypto.ed25519Sign(id.secret, concat(utf8('postern/v1/attestation'), Uint8Array.of(0), body));
    const e = (() => {
      try {
        verifyAttestation(concat(Uint8Array.of(1), body, sig), NOW);
      } catch (err) {
        return err as PosternError;
      }
      throw new Error('accepted');
    })();
    expect(e.code).toBe('POSTERN_ATTESTATION_MALFORMED');
    expect(e.hint).toBeTruthy();
  });

  it('enforces the validity period with 300 s of clock skew', () => {
    const { envelope } = fixture(nodeCrypto, { createdAt: NOW, expiresAt: NOW + 1000 });
    expect(verifyAttestation(envelope, NOW + 999).expiresAt).toBe(NOW + 1000);
    expect(codeOf(() => verifyAttestation(envelope, NOW + 1000))).toBe('POSTERN_ATTESTATION_EXPIRED');
    expect(codeOf(() => verifyAttestation(envelope, NOW + 10 ** 6))).toBe('POSTERN_ATTESTATION_EXPIRED');
    expect(verifyAttestation(envelope, NOW - 300).createdAt).toBe(NOW);
    expect(codeOf(() => verifyAttestation(envelope, NOW - 301))).toBe('POSTERN_ATTESTATION_EXPIRED');
    try {
      verifyAttestation(envelope, NOW + 1000);
    } catch (e) {
      expect((e as PosternError).hint).toBeTruthy();
    }
  });

  it("binds the identity: another identity's key swapped into the body fails the signature", () => {
    const alice = fixture();
    const bob = fixture();
    // Bob's genuine attestation verifies, and carries Bob's identity, not Alice's.
    expect(verifyAttestation(bob.envelope, NOW).identityPublicKey).toEqual(bob.id.publicKey);
    // Alice's signed attestation relabelled as Bob's.
    const forged = alice.envelope.slice();
    forged.set(bob.id.publicKey, 2);
    expect(codeOf(() => verifyAttestation(forged, NOW))).toBe('POSTERN_ATTESTATION_SIGNATURE');
    // Alice's signature spliced onto Bob's body.
    const spliced = concat(bob.envelope.subarray(0, 82), alice.envelope.subarray(82));
    expect(codeOf(() => verifyAttestation(spliced, NOW))).toBe('POSTERN_ATTESTATION_SIGNATURE');
  });

  describe('with a cache of verified attestations', () => {
    /** nodeCrypto, counting its Ed25519 verifications. */
    function counting() {
      const c = { ...nodeCrypto, verifies: 0 };
      c.ed25519Verify = (...a: Parameters<CryptoProvider['ed25519Verify']>) => (c.verifies++, nodeCrypto.ed25519Verify(...a));
      return c;
    }

    it('checks a signature once, then only the times of the same bytes', () => {
      const { a, envelope } = fixture(nodeCrypto, { expiresAt: NOW + 1000 });
      const known = new AttestationCache();
      const c = counting();
      expect(verifyAttestation(envelope, NOW, c, known)).toEqual(a);
      expect(verifyAttestation(envelope.slice(), NOW, c, known)).toEqual(a);
      expect(c.verifies).toBe(1);
      expect(known.size).toBe(1);
      // A cached envelope still expires, and is still not valid before its time.
      expect(codeOf(() => verifyAttestation(envelope, NOW + 1000, c, known))).toBe('POSTERN_ATTESTATION_EXPIRED');
      expect(codeOf(() => verifyAttestation(envelope, NOW - 401, c, known))).toBe('POSTERN_ATTESTATION_EXPIRED');
      expect(c.verifies).toBe(1);
    });

    it('verifies any other bytes, and never remembers an envelope that failed', () => {
      const { envelope } = fixture();
      const known = new AttestationCache();
      const c = counting();
      verifyAttestation(envelope, NOW, c, known);
      for (const i of [1, 40, 70, 100, 145]) {
        const t = envelope.slice();
        t[i]! ^= 1;
        expect(codeOf(() => verifyAttestation(t, NOW, c, known))).toMatch(/^POSTERN_ATTESTATION_(SIGNATURE|MALFORMED)$/);
        expect(codeOf(() => verifyAttestation(t, NOW, c, known))).toMatch(/^POSTERN_ATTESTATION_(SIGNATURE|MALFORMED)$/);
      }
      // Each of the ten attempts checked its signature: none was taken from the cache.
      expect(c.verifies).toBe(11);
      expect(known.size).toBe(1);
    });

    it('keeps the most recently used envelopes up to its capacity', () => {
      const known = new AttestationCache(2);
      const [x, y, z] = [fixture().envelope, fixture().envelope, fixture().envelope];
      const c = counting();
      verifyAttestation(x!, NOW, c, known);
      verifyAttestation(y!, NOW, c, known);
      verifyAttestation(x!, NOW, c, known); // x used last: y goes first
      verifyAttestation(z!, NOW, c, known);
      expect(c.verifies).toBe(3);
      expect([known.has(x!), known.has(y!), known.has(z!)]).toEqual([true, false, true]);
      expect(() => new AttestationCache(0)).toThrow(RangeError);
    });
  });

  it('refuses to sign bad inputs with a PosternError', () => {
    const sign = () => new Uint8Array(64);
    const base = fixture().a;
    expect(codeOf(() => signAttestation(sign, { ...base, staticPublicKey: new Uint8Array(31) }))).toBe('POSTERN_ATTESTATION_MALFORMED');
    expect(codeOf(() => signAttestation(sign, { ...base, purpose: 256 }))).toBe('POSTERN_ATTESTATION_MALFORMED');
    expect(codeOf(() => signAttestation(sign, { ...base, expiresAt: 1.5 }))).toBe('POSTERN_ATTESTATION_MALFORMED');
    expect(codeOf(() => signAttestation(() => new Uint8Array(10), base))).toBe('POSTERN_ATTESTATION_MALFORMED');
  });

  it('node:crypto and noble produce identical bytes and accept each other', () => {
    const id = keyPair(nodeCrypto);
    const a: Attestation = {
      purpose: PURPOSE_SECURE_CHANNEL,
      identityPublicKey: id.publicKey,
      staticPublicKey: nodeCrypto.x25519PublicKey(nodeCrypto.x25519Generate()),
      createdAt: NOW,
      expiresAt: NOW + 60,
    };
    const [byNode, byNoble] = PROVIDERS.map((c) => signAttestation((m) => c.ed25519Sign(id.secret, m), a));
    expect(byNoble).toEqual(byNode);
    for (const verifier of PROVIDERS) {
      expect(verifyAttestation(byNode!, NOW, verifier)).toEqual(a);
      expect(verifyAttestation(byNoble!, NOW, verifier)).toEqual(a);
      const t = byNode!.slice();
      t[100]! ^= 0x40;
      expect(codeOf(() => verifyAttestation(t, NOW, verifier))).toBe('POSTERN_ATTESTATION_SIGNATURE');
    }
  });
});

/** The worked examples of docs/PROTOCOL.md §6; the doc and the code must agree. */
describe('documented vectors', () => {
  const seq = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff);

  it.each(PROVIDERS.map((p) => [p.name, p] as const))('identifier and attestation on %s', (_n, c) => {
    const idSecret = seq(0x01);
    const idPk = c.ed25519PublicKey(idSecret);
    const stPk = c.x25519PublicKey(seq(0x81));
    expect(toHex(idPk)).toBe('79b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664');
    expect(toHex(stPk)).toBe('883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c103f06c77');
    expect(identifierOf(idPk, c)).toBe('Ida2ce31e562a19160b079a89e8814d5dc664da0a');
    const a: Attestation = { purpose: 1, identityPublicKey: idPk, staticPublicKey: stPk, createdAt: 1_800_000_000, expiresAt: 1_802_592_000 };
    const env = signAttestation((m) => c.ed25519Sign(idSecret, m), a);
    expect(toHex(env)).toBe(
      '010179b5562e8fe654f94078b112e8a98ba7901f853ae695bed7e0e3910bad049664883186b800b41d5cf0429695da9b3cc4f328ebcd184a6e482fa578c103f06c77' +
        '000000006b49d200000000006b715f00' +
        '6760401b6220003a4b38699301ad60c1aea5a3e9a086c07499f3256ad63f6c036f93b86fb5b1f21a6600b483807e0c14f031eba96567500e39c82ed21ac9f708',
    );
    expect(verifyAttestation(env, 1_800_000_000, c)).toEqual(a);
  });
});
