/**
 * The secure channel in memory: a full XX handshake with identity binding,
 * then misbehaving peers — tampering, replay, reordering, truncation,
 * another identity's attestation, expired and foreign credentials — and the
 * transport's nonce, rekey and size rules.
 */
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../../protocol/crypto/index.ts';
import {
  MAX_CHANNEL_MESSAGE,
  MAX_CHANNEL_PLAINTEXT,
  MAX_PLAINTEXT,
  MAX_RELAY_MESSAGES,
  MAX_TRANSPORT_MESSAGE,
  relayRecordEnd,
  relayRecordSize,
  SecureChannelHandshake,
  type EstablishedChannel,
  type RelayEntry,
  type SecureChannelOptions,
} from '../../../protocol/channel/index.ts';
import { splitRelayRecord } from '../../../protocol/channel/transport.ts';
import { encodePayload } from '../../../protocol/channel/payload.ts';
import { HandshakeState } from '../../../protocol/noise/handshake-state.ts';
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

  it('a peer of another wire version (prologue) fails at message 2, with a hint saying so', () => {
    const auth = makeAuthority();
    const A = makeParty();
    const B = makeParty();
    const i = new SecureChannelHandshake({ initiator: true, local: A.local([auth.issue(A.identifier, {})]), trust: trust(auth) });
    for (const version of ['v1', 'v2']) {
      const r = new HandshakeState({
        crypto: nodeCrypto,
        protocolName: 'Noise_XX_25519_AESGCM_SHA256',
        initiator: false,
        prologue: new TextEncoder().encode(`postern/${version}/secure-channel`),
        s: { secretKey: B.staticSecret, publicKey: B.staticPublicKey },
      });
      const i2 = version === 'v1' ? i : new SecureChannelHandshake({ initiator: true, local: A.local([auth.issue(A.identifier, {})]), trust: trust(auth) });
      r.readMessage(i2.start());
      const m2 = r.writeMessage(encodePayload({ identityPublicKey: B.identityPublicKey, attestation: B.attestation, credentials: [auth.issue(B.identifier, {})] }));
      if (version === 'v2') {
        expect(i2.receive(m2).reply).toBeDefined();
        continue;
      }
      let err: unknown;
      try {
        i2.receive(m2);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PosternError);
      expect((err as PosternError).code).toBe('POSTERN_HANDSHAKE_FAILED');
      expect((err as PosternError).hint).toMatch(/another Postern protocol version .*postern\/v2\/secure-channel/);
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
  function pair(rekeyInterval?: number, maxMessage?: number) {
    const { a, b } = setup();
    return handshake({ ...a, rekeyInterval, maxMessage }, { ...b, rekeyInterval, maxMessage });
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

  it('an end-to-end channel carries messages up to 256 KiB; a link keeps the 65,535-byte limit', () => {
    const { i, r } = pair(undefined, MAX_CHANNEL_MESSAGE);
    const big = nodeCrypto.randomBytes(MAX_CHANNEL_PLAINTEXT);
    const m = concat(...i.transport.sealParts([big.subarray(0, 9), big.subarray(9)]));
    expect(m.length).toBe(MAX_CHANNEL_MESSAGE);
    expect(equal(r.transport.open(m), big)).toBe(true);
    expect(code(() => i.transport.seal(new Uint8Array(MAX_CHANNEL_PLAINTEXT + 1)))).toBe('POSTERN_MESSAGE_TOO_LARGE');
    expect(code(() => r.transport.open(new Uint8Array(MAX_CHANNEL_MESSAGE + 1)))).toBe('POSTERN_MESSAGE_TOO_LARGE');
    // Such a message travels in a relay record, alone.
    const link = pair();
    const e2e = pair(undefined, MAX_CHANNEL_MESSAGE);
    const inner = concat(...e2e.i.transport.sealParts([big]));
    const relayed = link.r.transport.openMessage(concat(...link.i.transport.sealRelay([{ header: msg('r'), payload: [inner] }]))).relays!;
    expect(equal(e2e.r.transport.open(relayed[0]!.payload), big)).toBe(true);
    expect(relayRecordSize([{ header: msg('r'), payload: [inner] }, { header: msg('r'), payload: [msg('x')] }])).toBeNull();
    // A link's transport (the default) refuses it as a sealed message.
    const { r: linkReceiver } = pair();
    expect(code(() => linkReceiver.transport.open(new Uint8Array(MAX_TRANSPORT_MESSAGE + 1)))).toBe('POSTERN_MESSAGE_TOO_LARGE');
    expect(() => pair(undefined, MAX_CHANNEL_MESSAGE + 1)).toThrow(RangeError);
    expect(() => pair(undefined, 1000)).toThrow(RangeError);
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

  const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

  it('relay records: the route headers are sealed, the payloads authenticated and sent as they are', () => {
    const { i, r } = pair(3);
    const wire = concat(...i.transport.sealRelay([{ header: msg('route-header'), payload: [msg('end-to-end '), msg('ciphertext')] }]));
    expect(Buffer.from(wire).includes(Buffer.from('route-header'))).toBe(false);
    expect(Buffer.from(wire).includes(Buffer.from('end-to-end ciphertext'))).toBe(true);
    const opened = r.transport.openMessage(wire);
    expect(opened.relays?.map((m) => [text(m.header), text(m.payload)])).toEqual([['route-header', 'end-to-end ciphertext']]);
    // Sealed messages and relay records share one nonce sequence, across rekeys.
    for (let n = 0; n < 7; n++) {
      const m = n % 2 === 0 ? concat(...i.transport.seal(msg(`s${n}`))) : concat(...i.transport.sealRelay([{ header: msg(`h${n}`), payload: [msg(`p${n}`)] }]));
      const o = r.transport.openMessage(m);
      expect(n % 2 === 0 ? text(o.plaintext) : text(o.relays![0]!.header)).toBe(n % 2 === 0 ? `s${n}` : `h${n}`);
    }
  });

  it('relay records: several messages in one record, in order, empty and full-size payloads included', () => {
    const { i, r } = pair();
    const big = nodeCrypto.randomBytes(MAX_TRANSPORT_MESSAGE);
    const entries = [
      { header: msg('a'), payload: [msg('first')] },
      { header: msg('bb'), payload: [] },
      { header: msg('ccc'), payload: [big.subarray(0, 1000), big.subarray(1000)] },
      { header: new Uint8Array(0), payload: [msg('last')] },
    ];
    expect(relayRecordSize(entries)).toEqual({ headers: 6 * 4 + 6, payload: 5 + MAX_TRANSPORT_MESSAGE + 4 });
    const out = r.transport.openMessage(concat(...i.transport.sealRelay(entries))).relays!;
    expect(out.map((m) => text(m.header))).toEqual(['a', 'bb', 'ccc', '']);
    expect(text(out[0]!.payload)).toBe('first');
    expect(out[1]!.payload.length).toBe(0);
    expect(equal(out[2]!.payload, big)).toBe(true);
    expect(text(out[3]!.payload)).toBe('last');
  });

  it('relay records: a queue splits into maximal records that each fit', () => {
    const sizes = [10, 65_535, 65_535, 65_535, 65_535, 1, ...Array.from({ length: 150 }, (_, k) => (k * 7919) % 3000), 40_000, 65_535];
    const entries: RelayEntry[] = sizes.map((n, k) => ({ header: new Uint8Array(k % 3 === 0 ? 600 : 40), payload: [new Uint8Array(n)] }));
    const records: number[] = [];
    for (let start = 0; start < entries.length; ) {
      const end = relayRecordEnd(entries, start);
      expect(end).toBeGreaterThan(start);
      expect(relayRecordSize(entries.slice(start, end))).not.toBeNull();
      if (end < entries.length) expect(relayRecordSize(entries.slice(start, end + 1))).toBeNull();
      records.push(end - start);
      start = end;
    }
    expect(records.reduce((a, b) => a + b, 0)).toBe(entries.length);
    expect(records[0]).toBe(4); // 10 + 3 × 65,535 fit in 256 KiB, a fourth full one does not
  });

  it('relay records: the sender refuses what a record cannot hold', () => {
    const { i } = pair();
    const one = { header: msg('h'), payload: [nodeCrypto.randomBytes(1000)] };
    const tooLong = { header: msg('h'), payload: [nodeCrypto.randomBytes(MAX_CHANNEL_MESSAGE + 1)] };
    const cases: RelayEntry[][] = [
      [],
      Array.from({ length: MAX_RELAY_MESSAGES + 1 }, () => one),
      [tooLong],
      Array.from({ length: 5 }, () => ({ header: msg('h'), payload: [nodeCrypto.randomBytes(60_000)] })), // 300,000 > 256 KiB
      [{ header: new Uint8Array(70_000), payload: [] }],
    ];
    for (const c of cases) {
      expect(relayRecordSize(c)).toBeNull();
      expect(code(() => i.transport.sealRelay(c))).toBe('POSTERN_MESSAGE_TOO_LARGE');
    }
    expect(relayRecordSize(Array.from({ length: MAX_RELAY_MESSAGES }, () => one))).not.toBeNull();
  });

  it('relay records: a changed payload, header or length fails; a strict receiver refuses them', () => {
    const mk = () => {
      const { i, r } = pair();
      return { r, wire: concat(...i.transport.sealRelay([{ header: msg('hdr'), payload: [msg('payload bytes')] }, { header: msg('h2'), payload: [msg('more')] }])) };
    };
    for (const pos of [-1, -10, 12, 9, 8]) {
      const { r, wire } = mk();
      const c = wire.slice();
      c[pos < 0 ? c.length + pos : pos]! ^= 1;
      expect(code(() => r.transport.openMessage(c))).toMatch(/POSTERN_MESSAGE_(TAMPERED|TRUNCATED)/);
    }
    for (const cut of [1, 5, 20]) {
      const { r, wire } = mk();
      expect(code(() => r.transport.openMessage(wire.subarray(0, wire.length - cut)))).toMatch(/POSTERN_MESSAGE_(TAMPERED|TRUNCATED)/);
    }
    const { r, wire } = mk();
    expect(code(() => r.transport.open(wire))).toBe('POSTERN_MESSAGE_UNEXPECTED');
  });

  it('relay records of transport messages: headers and lengths authenticated, payloads left to their own channel', () => {
    const mk = () => {
      const { i, r } = pair(3);
      return { i, r, wire: concat(...i.transport.sealRelay([{ header: msg('hdr'), payload: [msg('e2e '), msg('one')], transport: true }, { header: msg('h2'), payload: [msg('two')], transport: true }])) };
    };
    const { i, r, wire } = mk();
    expect(Buffer.from(wire).includes(Buffer.from('hdr'))).toBe(false);
    expect(r.transport.openMessage(wire.slice()).relays?.map((m) => [text(m.header), text(m.payload), m.transport])).toEqual([
      ['hdr', 'e2e one', true],
      ['h2', 'two', true],
    ]);
    // Same nonce sequence as every other message, across rekeys, kinds mixed record by record.
    for (let n = 0; n < 7; n++) {
      const m = concat(...i.transport.sealRelay([{ header: msg(`h${n}`), payload: [msg(`p${n}`)], transport: n % 2 === 0 }]));
      expect(r.transport.openMessage(m).relays!.map((x) => [text(x.payload), x.transport])).toEqual([[`p${n}`, n % 2 === 0]]);
    }
    // A changed payload byte passes this hop, changed: the end-to-end channel is what refuses it.
    {
      const { r, wire } = mk();
      const c = wire.slice();
      c[c.length - 1]! ^= 1;
      expect(text(r.transport.openMessage(c).relays![1]!.payload)).toBe('twn');
    }
    // Anything else changed fails the link: the kind bit (either way), the headers, the tag, the lengths.
    for (const pos of [0, 8, 9, 12, wire.length - 11]) {
      const { r, wire } = mk();
      const c = wire.slice();
      c[pos]! ^= pos === 0 ? 0x40 : 1;
      expect(code(() => r.transport.openMessage(c))).toMatch(/POSTERN_MESSAGE_(TAMPERED|TRUNCATED|OUT_OF_ORDER)/);
    }
    {
      const { i, r } = pair();
      const authed = i.transport.sealRelay([{ header: msg('h'), payload: [msg('p')] }]);
      authed[0]![0]! |= 0x40; // claims to be a transport record: the link's tag covered the payload, so it fails
      expect(code(() => r.transport.openMessage(concat(...authed)))).toBe('POSTERN_MESSAGE_TAMPERED');
    }
    {
      const { i, r } = pair();
      const empty = i.transport.sealRelay([{ header: msg('h'), payload: [] }]);
      empty[0]![0]! |= 0x40; // no payload: both kinds authenticate the same, the mark in the sealed headers decides
      expect(code(() => r.transport.openMessage(concat(...empty)))).toBe('POSTERN_MESSAGE_UNEXPECTED');
    }
    const { r: r2, wire: w2 } = mk();
    expect(code(() => r2.transport.openMessage(w2.subarray(0, w2.length - 1)))).toBe('POSTERN_MESSAGE_UNEXPECTED');
    // One kind per record: the sender will not mix them, and a queue splits where the kind changes.
    const mixed: RelayEntry[] = [{ header: msg('a'), payload: [msg('x')], transport: true }, { header: msg('b'), payload: [msg('y')] }];
    expect(code(() => pair().i.transport.sealRelay(mixed))).toBe('POSTERN_MESSAGE_UNEXPECTED');
    expect(relayRecordSize(mixed)).toBeNull();
    const queue: RelayEntry[] = [true, true, false, false, false, true].map((t, k) => ({ header: msg(`m${k}`), payload: [msg('z')], transport: t }));
    expect([relayRecordEnd(queue, 0), relayRecordEnd(queue, 2), relayRecordEnd(queue, 5)]).toEqual([2, 5, 6]);
  });

  it('relay records: authentic but inconsistent sealed headers are refused (a peer with the key that lies)', () => {
    const entry = (h: string, len: number) => {
      const e = new Uint8Array(2 + h.length + 4);
      const v = new DataView(e.buffer);
      v.setUint16(0, h.length);
      e.set(msg(h), 2);
      v.setUint32(2 + h.length, len);
      return e;
    };
    const payloads = msg('0123456789');
    expect(splitRelayRecord(concat(entry('a', 4), entry('b', 6)), payloads, false).map((m) => text(m.payload))).toEqual(['0123', '456789']);
    // Transport records mark every entry (payload_len's top bit); a mark that is not the record's is a lie too.
    const T = 0x8000_0000;
    expect(splitRelayRecord(concat(entry('a', 4 + T), entry('b', 6 + T)), payloads, true).map((m) => [text(m.payload), m.transport])).toEqual([['0123', true], ['456789', true]]);
    expect(code(() => splitRelayRecord(concat(entry('a', 4), entry('b', 6 + T)), payloads, true))).toBe('POSTERN_MESSAGE_UNEXPECTED');
    expect(code(() => splitRelayRecord(concat(entry('a', 4), entry('b', 6 + T)), payloads, false))).toBe('POSTERN_MESSAGE_UNEXPECTED');
    const lies: Uint8Array[] = [
      new Uint8Array(0), // no message
      concat(entry('a', 4), entry('b', 7)), // more payload than sent
      concat(entry('a', 4), entry('b', 5)), // less
      entry('a', 10).subarray(0, 5), // a header running past the end
      concat(entry('a', 10), Uint8Array.of(0)), // trailing byte
      concat(...Array.from({ length: MAX_RELAY_MESSAGES + 1 }, (_, k) => entry('a', k === 0 ? 10 : 0))), // too many messages
    ];
    for (const h of lies) expect(code(() => splitRelayRecord(h, payloads, false))).toBe('POSTERN_MESSAGE_UNEXPECTED');
    const huge = new Uint8Array(MAX_CHANNEL_MESSAGE + 1);
    expect(code(() => splitRelayRecord(entry('a', huge.length), huge, false))).toBe('POSTERN_MESSAGE_UNEXPECTED');
    expect(code(() => splitRelayRecord(entry('a', huge.length + T), huge, true))).toBe('POSTERN_MESSAGE_UNEXPECTED');
  });

  it('seals parts exactly like the joined plaintext', () => {
    const { i, r } = pair();
    const parts = [msg('head-'), nodeCrypto.randomBytes(3000), msg('-tail')];
    const out = concat(...i.transport.sealParts(parts));
    expect(equal(r.transport.open(out), concat(...parts))).toBe(true);
  });
});

export type { TestAuthority, TestParty };
