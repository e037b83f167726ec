/**
 * The secure channel in memory: a full XX handshake with identity binding,
 * then misbehaving peers — tampering, replay, reordering, truncation,
 * another identity's attestation, expired and foreign credentials — and the
 * transport's nonce, rekey and size rules.
 */
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../../protocol/crypto/index.ts';
import {
  MAX_PLAINTEXT,
  SecureChannelHandshake,
  type EstablishedChannel,
  type SecureChannelOptions,
} from '../../../protocol/channel/index.ts';
import { concat, equal } from '../../../protocol/bytes.ts';
import { PosternError } from '../../../protocol/errors.ts';
import { codeOf } from '../../helpers/errors.ts';
import { makeAuthority, makeParty, NOW, trust, type TestAuthority, type TestParty } from '../../helpers/identities.ts';

function handshake(
  a: Partial<SecureChannelOptions> & Pick<SecureChannelOptions, 'local' | 'trust'>,
  b: Partial<SecureChannelOptions> & Pick<SecureChannelOptions, 'local' | 'trust'>,
  tamper?: (index: number, msg: Uint8Array) => Uint8Array,
): { i: EstablishedChannel; r: EstablishedChannel } {
  const init = new SecureChannelHandshake({ initiator: true, ...a });
  const resp = new SecureChannelHandshake({ initiator: false, ...b });
  const t = tamper ?? ((_i, m) => m);
  const m1 = t(0, init.start());
  const r1 = resp.receive(m1);
  const m2 = t(1, r1.reply!);
  const r2 = init.receive(m2);
  const m3 = t(2, r2.reply!);
  const r3 = resp.receive(m3);
  return { i: r2.established!, r: r3.established! };
}

function setup(attrsA: Record<string, string> = { 'inlet-from-saas': 'true' }, attrsB: Record<string, string> = { 'outlet-from-saas': 'true' }) {
  const auth = makeAuthority();
  const A = makeParty();
  const B = makeParty();
  return {
    auth,
    A,
    B,
    a: { local: A.local([auth.issue(A.identifier, attrsA)]), trust: trust(auth) },
    b: { local: B.local([auth.issue(B.identifier, attrsB)]), trust: trust(auth) },
  };
}

const code = codeOf;

describe('secure channel handshake', () => {
  it('establishes both ways with each side seeing the other\'s identifier and attributes', () => {
    const { A, B, a, b } = setup();
    const { i, r } = handshake(a, b);
    expect(i.peer.identifier).toBe(B.identifier);
    expect(r.peer.identifier).toBe(A.identifier);
    expect(i.peer.attributes).toEqual({ 'outlet-from-saas': 'true' });
    expect(r.peer.attributes).toEqual({ 'inlet-from-saas': 'true' });
    expect(i.peer.member && r.peer.member).toBe(true);
    expect(equal(i.handshakeHash, r.handshakeHash)).toBe(true);
    const [n, c] = i.transport.seal(new TextEncoder().encode('hello'));
    expect(new TextDecoder().decode(r.transport.open(concat(n, c)))).toBe('hello');
  });

  it.each([
    ['ChaChaPoly', 'Noise_XX_25519_ChaChaPoly_SHA256' as const],
    ['AESGCM', 'Noise_XX_25519_AESGCM_SHA256' as const],
  ])('works with %s and across providers (node ⇄ noble)', (_n, protocol) => {
    const { a, b } = setup();
    const { i, r } = handshake({ ...a, protocol, crypto: nodeCrypto }, { ...b, protocol, crypto: nobleCrypto });
    const msg = nodeCrypto.randomBytes(5000);
    expect(equal(r.transport.open(concat(...i.transport.seal(msg))), msg)).toBe(true);
    expect(equal(i.transport.open(concat(...r.transport.seal(msg))), msg)).toBe(true);
  });

  it('fails on any flipped bit in any handshake message', () => {
    for (const idx of [0, 1, 2]) {
      for (const pos of [0, 31, 40, -1]) {
        const { a, b } = setup();
        expect(() =>
          handshake(a, b, (i, m) => {
            if (i !== idx) return m;
            const c = m.slice();
            const p = pos < 0 ? c.length + pos : Math.min(pos, c.length - 1);
            c[p]! ^= 0x01;
            return c;
          }),
        ).toThrow(PosternError);
      }
    }
  });

  it('fails on truncated and reordered handshake messages', () => {
    const { a, b } = setup();
    expect(() => handshake(a, b, (i, m) => (i === 1 ? m.subarray(0, m.length - 1) : m))).toThrow(PosternError);
    const init = new SecureChannelHandshake({ initiator: true, ...a });
    const resp = new SecureChannelHandshake({ initiator: false, ...b });
    const m1 = init.start();
    const m2 = resp.receive(m1).reply!;
    // message 2 fed back to the responder, and message 1 replayed to the initiator
    expect(code(() => resp.receive(m2))).toBe('POSTERN_HANDSHAKE_FAILED');
    expect(code(() => new SecureChannelHandshake({ initiator: true, ...a }).receive(m1))).toBe('POSTERN_HANDSHAKE_FAILED');
  });

  it('refuses a peer presenting another identity\'s attestation', () => {
    const { auth, a, B } = setup();
    const M = makeParty(); // Mallory replays B's attestation and credential with her own static key
    const forged = {
      local: {
        identityPublicKey: B.identityPublicKey,
        staticKey: { secretKey: M.staticSecret, publicKey: M.staticPublicKey },
        attestation: B.attestation,
        credentials: [auth.issue(B.identifier, {})],
      },
      trust: trust(auth),
    };
    expect(code(() => handshake(a, forged))).toBe('POSTERN_ATTESTATION_MISMATCH');
    // or presents her own identity with B's attestation
    const mixed = { ...forged, local: { ...forged.local, identityPublicKey: M.identityPublicKey } };
    expect(code(() => handshake(a, mixed))).toBe('POSTERN_ATTESTATION_MISMATCH');
  });

  it('refuses an expired attestation', () => {
    const auth = makeAuthority();
    const A = makeParty();
    const B = makeParty(nodeCrypto, { attestationExpiresAt: NOW - 1 });
    expect(code(() => handshake({ local: A.local([auth.issue(A.identifier, {})]), trust: trust(auth) }, { local: B.local([auth.issue(B.identifier, {})]), trust: trust(auth) }))).toBe(
      'POSTERN_ATTESTATION_EXPIRED',
    );
  });

  it('refuses expired, not-yet-valid, foreign-authority, wrong-subject and wrong-project credentials', () => {
    const auth = makeAuthority();
    const other = makeAuthority();
    const A = makeParty();
    const B = makeParty();
    const a = { local: A.local([auth.issue(A.identifier, {})]), trust: trust(auth) };
    const cases: [Uint8Array, string][] = [
      [auth.issue(B.identifier, {}, { issuedAt: NOW - 7200, expiresAt: NOW - 1 }), 'POSTERN_CREDENTIAL_EXPIRED'],
      [auth.issue(B.identifier, {}, { issuedAt: NOW + 3600, expiresAt: NOW + 7200 }), 'POSTERN_CREDENTIAL_NOT_YET_VALID'],
      [other.issue(B.identifier, {}), 'POSTERN_CREDENTIAL_SIGNATURE'],
      [auth.issue(A.identifier, {}), 'POSTERN_CREDENTIAL_SUBJECT'],
      [auth.issue(B.identifier, {}, { project: 'Pother' }), 'POSTERN_CREDENTIAL_PROJECT'],
    ];
    for (const [cred, expected] of cases) {
      expect(code(() => handshake(a, { local: B.local([cred]), trust: trust(auth) }))).toBe(expected);
    }
  });

  it('requires a credential when asked, and pins the expected peer', () => {
    const { auth, A, B } = setup();
    const a = { local: A.local([auth.issue(A.identifier, {})]), trust: trust(auth) };
    expect(code(() => handshake(a, { local: B.local([]), trust: trust(auth) }))).toBe('POSTERN_CREDENTIAL_MISSING');
    const open = handshake({ ...a, trust: trust(auth, { requireCredential: false }) }, { local: B.local([]), trust: trust(auth, { requireCredential: false }) });
    expect(open.r.peer.member).toBe(true);
    expect(open.i.peer.member).toBe(false);
    expect(open.i.peer.attributes).toEqual({});
    const pinned = { ...a, trust: trust(auth, { expectedPeer: A.identifier }) };
    expect(code(() => handshake(pinned, { local: B.local([auth.issue(B.identifier, {})]), trust: trust(auth) }))).toBe('POSTERN_PEER_UNEXPECTED');
  });

  it('a side that ignores credentials verifies only the attestation, reports none, and still checks the attestation', () => {
    const auth = makeAuthority();
    const other = makeAuthority();
    const A = makeParty();
    const B = makeParty();
    let verifies = 0;
    const counting = { ...nodeCrypto, ed25519Verify: (pk: Uint8Array, m: Uint8Array, sig: Uint8Array) => (verifies++, nodeCrypto.ed25519Verify(pk, m, sig)) };
    const hubTrust = trust(auth, { requireCredential: false, ignoreCredentials: true });
    const a = { local: A.local([]), trust: hubTrust, crypto: counting };
    // Valid, foreign, expired: all the same to this side, and none of them verified.
    for (const cred of [auth.issue(B.identifier, { role: 'admin' }), other.issue(B.identifier, {}), auth.issue(B.identifier, {}, { expiresAt: NOW - 1, issuedAt: NOW - 99 })]) {
      verifies = 0;
      const { i } = handshake(a, { local: B.local([cred, cred]), trust: trust(auth, { requireCredential: false }) });
      expect(verifies).toBe(1);
      expect(i.peer.identifier).toBe(B.identifier);
      expect(i.peer.member).toBe(false);
      expect(i.peer.credentials).toEqual([]);
      expect(i.peer.attributes).toEqual({});
    }
    // Without the option the foreign credential is refused, as before.
    expect(code(() => handshake({ local: A.local([]), trust: trust(auth, { requireCredential: false }) }, { local: B.local([other.issue(B.identifier, {})]), trust: trust(auth, { requireCredential: false }) }))).toBe(
      'POSTERN_CREDENTIAL_SIGNATURE',
    );
    // The attestation is still checked: a party whose attestation names another static key is refused.
    const liar = makeParty(nodeCrypto, { staticPublicKey: makeParty().staticPublicKey });
    expect(code(() => handshake(a, { local: liar.local([]), trust: trust(auth, { requireCredential: false }) }))).toBe('POSTERN_ATTESTATION_MISMATCH');
    expect(() => new SecureChannelHandshake({ initiator: true, local: A.local([]), trust: trust(auth, { requireCredential: true, ignoreCredentials: true }) })).toThrow(/exclude each other/);
  });
});

describe('secure channel transport', () => {
  function pair(rekeyInterval?: number) {
    const { a, b } = setup();
    return handshake({ ...a, rekeyInterval }, { ...b, rekeyInterval });
  }
  const msg = (s: string) => new TextEncoder().encode(s);

  it('rejects a replayed message', () => {
    const { i, r } = pair();
    const m = concat(...i.transport.seal(msg('one')));
    r.transport.open(m);
    expect(code(() => r.transport.open(m))).toBe('POSTERN_REPLAY');
  });

  it('rejects a reordered message and stays closed afterwards', () => {
    const { i, r } = pair();
    const m0 = concat(...i.transport.seal(msg('0')));
    const m1 = concat(...i.transport.seal(msg('1')));
    expect(code(() => r.transport.open(m1))).toBe('POSTERN_MESSAGE_OUT_OF_ORDER');
    expect(code(() => r.transport.open(m0))).toBe('POSTERN_CHANNEL_CLOSED');
  });

  it('rejects tampered, truncated and oversized messages', () => {
    for (const mutate of [
      (m: Uint8Array) => {
        const c = m.slice();
        c[c.length - 1]! ^= 1;
        return c;
      },
      (m: Uint8Array) => {
        const c = m.slice();
        c[9]! ^= 0x80;
        return c;
      },
    ]) {
      const { i, r } = pair();
      expect(code(() => r.transport.open(mutate(concat(...i.transport.seal(msg('payload'))))))).toBe('POSTERN_MESSAGE_TAMPERED');
    }
    const { i, r } = pair();
    expect(code(() => r.transport.open(concat(...i.transport.seal(msg('x'))).subarray(0, 20)))).toBe('POSTERN_MESSAGE_TRUNCATED');
    expect(code(() => i.transport.seal(new Uint8Array(MAX_PLAINTEXT + 1)))).toBe('POSTERN_MESSAGE_TOO_LARGE');
    const { r: r2 } = pair();
    expect(code(() => r2.transport.open(new Uint8Array(65536)))).toBe('POSTERN_MESSAGE_TOO_LARGE');
    expect(i.transport.seal(new Uint8Array(MAX_PLAINTEXT)).length).toBe(2);
  });

  it('carries explicit big-endian nonces and rekeys on schedule', () => {
    const { i, r } = pair(4);
    const sent: Uint8Array[] = [];
    for (let n = 0; n < 13; n++) {
      const [nonce, ct] = i.transport.seal(msg(`m${n}`));
      expect(new DataView(nonce.buffer, nonce.byteOffset).getUint32(4)).toBe(n);
      sent.push(concat(nonce, ct));
    }
    sent.forEach((m, n) => expect(new TextDecoder().decode(r.transport.open(m))).toBe(`m${n}`));
    // Without rekeying, message 4 would be sealed under the original key: a receiver that
    // never rekeys (interval larger than the count) cannot read it.
    const { i: i2, r: r2 } = pair(1000);
    const plain = [0, 1, 2, 3, 4].map((n) => concat(...i2.transport.seal(msg(`m${n}`))));
    plain.forEach((m) => r2.transport.open(m));
    const { i: i3, r: r3 } = pair(4);
    const rekeyed = [0, 1, 2, 3, 4].map((n) => concat(...i3.transport.seal(msg(`m${n}`))));
    expect(equal(rekeyed[4]!.subarray(8), plain[4]!.subarray(8))).toBe(false);
    rekeyed.forEach((m) => r3.transport.open(m));
  });

  it('relay messages: the header is sealed, the payload authenticated and sent as it is', () => {
    const { i, r } = pair(3);
    const header = msg('route-header');
    const payload = [msg('end-to-end '), msg('ciphertext')];
    const wire = concat(...i.transport.sealRelay(header, payload));
    expect(Buffer.from(wire).includes(Buffer.from('route-header'))).toBe(false);
    expect(Buffer.from(wire).includes(Buffer.from('end-to-end ciphertext'))).toBe(true);
    const opened = r.transport.openMessage(wire);
    expect(new TextDecoder().decode(opened.plaintext)).toBe('route-header');
    expect(new TextDecoder().decode(opened.relayed)).toBe('end-to-end ciphertext');
    // Sealed and relay messages share one nonce sequence, across rekeys.
    for (let n = 0; n < 7; n++) {
      const m = n % 2 === 0 ? concat(...i.transport.seal(msg(`s${n}`))) : concat(...i.transport.sealRelay(msg(`h${n}`), [msg(`p${n}`)]));
      expect(new TextDecoder().decode(r.transport.openMessage(m).plaintext)).toBe(n % 2 === 0 ? `s${n}` : `h${n}`);
    }
  });

  it('relay messages: a changed payload, header or length fails; a strict receiver refuses them', () => {
    const mk = () => {
      const { i, r } = pair();
      return { r, wire: concat(...i.transport.sealRelay(msg('hdr'), [msg('payload bytes')])) };
    };
    for (const pos of [-1, 12, 9]) {
      const { r, wire } = mk();
      const c = wire.slice();
      c[pos < 0 ? c.length + pos : pos]! ^= 1;
      expect(code(() => r.transport.openMessage(c))).toMatch(/POSTERN_MESSAGE_(TAMPERED|TRUNCATED)/);
    }
    const { r, wire } = mk();
    expect(code(() => r.transport.open(wire))).toBe('POSTERN_MESSAGE_UNEXPECTED');
  });

  it('seals parts exactly like the joined plaintext', () => {
    const { i, r } = pair();
    const parts = [msg('head-'), nodeCrypto.randomBytes(3000), msg('-tail')];
    const out = concat(...i.transport.sealParts(parts));
    expect(equal(r.transport.open(out), concat(...parts))).toBe(true);
  });
});

export type { TestAuthority, TestParty };
