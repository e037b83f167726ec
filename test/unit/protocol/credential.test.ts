import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../../protocol/crypto/index.ts';
import { concat, utf8, Writer } from '../../../protocol/bytes.ts';
import { PosternError } from '../../../protocol/errors.ts';
import { identifierOf } from '../../../protocol/identity/index.ts';
import {
  decodeCredentialUnverified,
  issueCredential,
  MAX_ATTRIBUTES,
  verifyCredential,
  type Credential,
} from '../../../protocol/credential/index.ts';
import { codeOf } from '../../helpers/errors.ts';

const NOW = 1_800_000_000;
const c = nodeCrypto;

interface Signer {
  secret: Uint8Array;
  publicKey: Uint8Array;
  identifier: string;
  sign(m: Uint8Array): Uint8Array;
}

function signer(): Signer {
  const secret = c.ed25519Generate();
  const publicKey = c.ed25519PublicKey(secret);
  return { secret, publicKey, identifier: identifierOf(publicKey), sign: (m) => c.ed25519Sign(secret, m) };
}

const authority = signer();
const member = signer();

function credential(o: Partial<Credential> = {}): Credential {
  return {
    subject: member.identifier,
    authority: authority.identifier,
    project: 'Pacme',
    issuedAt: NOW - 10,
    expiresAt: NOW + 3600,
    attributes: { role: 'reader', customer: 'acme' },
    ...o,
  };
}


/** A body written field by field, free to break the rules the encoder keeps. */
function rawBody(o: { subject?: string; authority?: string; project?: string; attrs?: [string, string][]; count?: number; tail?: Uint8Array } = {}): Uint8Array {
  const attrs = o.attrs ?? [];
  const w = new Writer()
    .str16(o.subject ?? member.identifier)
    .str16(o.authority ?? authority.identifier)
    .str16(o.project ?? 'Pacme')
    .u64(NOW - 10)
    .u64(NOW + 3600)
    .u16(o.count ?? attrs.length);
  for (const [k, v] of attrs) w.str16(k).str16(v);
  if (o.tail !== undefined) w.bytes(o.tail);
  return w.finish();
}

/** Envelope around any body, validly signed by `by`. */
function sealed(body: Uint8Array, by: Signer = authority): Uint8Array {
  const sig = by.sign(concat(utf8('postern/v1/credential'), Uint8Array.of(0), body));
  return new Writer().u8(1).u32(body.length).bytes(body).bytes(sig).finish();
}

describe('credentials', () => {
  it('round-trip through issue and verify', () => {
    const cred = credential();
    const env = issueCredential(authority.sign, cred);
    const got = verifyCredential(env, authority.publicKey, NOW);
    expect({ ...got, attributes: { ...got.attributes } }).toEqual(cred);
    expect(Object.getPrototypeOf(got.attributes)).toBeNull();
  });

  it('have the documented layout and one encoding (attributes sorted)', () => {
    const a = issueCredential(authority.sign, credential({ attributes: { b: '2', a: '1', C: '3' } }));
    const b = issueCredential(authority.sign, credential({ attributes: { C: '3', a: '1', b: '2' } }));
    expect(a).toEqual(b);
    const body = rawBody({ attrs: [['C', '3'], ['a', '1'], ['b', '2']] });
    expect(a[0]).toBe(1);
    expect(new DataView(a.buffer).getUint32(1)).toBe(body.length);
    expect(a.subarray(5, 5 + body.length)).toEqual(body);
    expect(a).toEqual(sealed(body));
    expect(a).toHaveLength(5 + body.length + 64);
  });

  it('verify the signature before decoding the body', () => {
    const garbage = utf8('this is not a credential body at all');
    // Validly signed garbage: the signature passes, then decoding fails.
    expect(codeOf(() => verifyCredential(sealed(garbage), authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_MALFORMED');
    // The same garbage without a valid signature never reaches the decoder.
    const unsigned = sealed(garbage);
    unsigned[unsigned.length - 1]! ^= 1;
    expect(codeOf(() => verifyCredential(unsigned, authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_SIGNATURE');
    const byOther = sealed(garbage, signer());
    expect(codeOf(() => verifyCredential(byOther, authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_SIGNATURE');
  });

  it('reject any tampered byte of the body or signature', () => {
    const env = issueCredential(authority.sign, credential());
    for (let i = 5; i < env.length; i++) {
      const t = env.slice();
      t[i]! ^= 0x01;
      expect(codeOf(() => verifyCredential(t, authority.publicKey, NOW)), `byte ${i}`).toBe('POSTERN_CREDENTIAL_SIGNATURE');
    }
    for (let i = 0; i < 5; i++) {
      const t = env.slice();
      t[i]! ^= 0x01;
      expect(codeOf(() => verifyCredential(t, authority.publicKey, NOW)), `byte ${i}`).toBe('POSTERN_CREDENTIAL_MALFORMED');
    }
  });

  it('signed by another key: SIGNATURE', () => {
    const env = issueCredential(authority.sign, credential());
    expect(codeOf(() => verifyCredential(env, signer().publicKey, NOW))).toBe('POSTERN_CREDENTIAL_SIGNATURE');
    expect(codeOf(() => verifyCredential(env, new Uint8Array(31), NOW))).toBe('POSTERN_CREDENTIAL_SIGNATURE');
  });

  it('naming another authority than the key that signed it: WRONG_AUTHORITY', () => {
    const other = signer();
    const env = issueCredential(authority.sign, credential({ authority: other.identifier }));
    expect(codeOf(() => verifyCredential(env, authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_WRONG_AUTHORITY');
    expect(codeOf(() => verifyCredential(env, other.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_SIGNATURE');
  });

  it('expire at expiresAt and are not valid more than 300 s before issuedAt', () => {
    const env = issueCredential(authority.sign, credential({ issuedAt: NOW, expiresAt: NOW + 100 }));
    expect(verifyCredential(env, authority.publicKey, NOW + 99).expiresAt).toBe(NOW + 100);
    expect(codeOf(() => verifyCredential(env, authority.publicKey, NOW + 100))).toBe('POSTERN_CREDENTIAL_EXPIRED');
    expect(verifyCredential(env, authority.publicKey, NOW - 300).issuedAt).toBe(NOW);
    expect(codeOf(() => verifyCredential(env, authority.publicKey, NOW - 301))).toBe('POSTERN_CREDENTIAL_NOT_YET_VALID');
    for (const now of [NOW + 100, NOW - 301]) {
      try {
        verifyCredential(env, authority.publicKey, now);
      } catch (e) {
        expect((e as PosternError).hint).toBeTruthy();
      }
    }
  });

  it('enforce the attribute limits when issuing', () => {
    const issue = (attributes: Record<string, string>) => codeOf(() => issueCredential(authority.sign, credential({ attributes })));
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v']));
    expect(issue(many(MAX_ATTRIBUTES))).toBe('no error');
    expect(issue(many(MAX_ATTRIBUTES + 1))).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ ['k'.repeat(128)]: 'v' })).toBe('no error');
    expect(issue({ ['k'.repeat(129)]: 'v' })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ k: 'v'.repeat(1024) })).toBe('no error');
    expect(issue({ k: 'v'.repeat(1025) })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ k: 'é'.repeat(513) })).toBe('POSTERN_CREDENTIAL_MALFORMED'); // 1026 UTF-8 bytes
    expect(issue({ k: '\ud800' })).toBe('POSTERN_CREDENTIAL_MALFORMED'); // lone surrogate
    for (const bad of ['', '1abc', 'has space', 'a/b', 'ключ', '-x']) expect(issue({ [bad]: 'v' }), bad).toBe('POSTERN_CREDENTIAL_MALFORMED');
    for (const good of ['_x', 'a.b:c-d_e', 'outlet-to-saas', 'Z9']) expect(issue({ [good]: 'v' }), good).toBe('no error');
    // 16 keys of 128 bytes with 1024-byte values: well past the 16,384-byte body.
    const big = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`${String.fromCharCode(97 + i)}${'k'.repeat(127)}`, 'v'.repeat(1024)]));
    expect(issue(big)).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ k: 5 as unknown as string })).toBe('POSTERN_CREDENTIAL_MALFORMED');
  });

  it('refuse __proto__, constructor and prototype as attribute names', () => {
    const polluted = JSON.parse('{"__proto__": "x"}') as Record<string, string>;
    expect(Object.keys(polluted)).toEqual(['__proto__']);
    expect(codeOf(() => issueCredential(authority.sign, credential({ attributes: polluted })))).toBe('POSTERN_CREDENTIAL_MALFORMED');
    for (const k of ['__proto__', 'constructor', 'prototype']) {
      const env = sealed(rawBody({ attrs: [[k, 'x']] }));
      expect(codeOf(() => verifyCredential(env, authority.publicKey, NOW)), k).toBe('POSTERN_CREDENTIAL_MALFORMED');
    }
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('refuse unsorted or repeated attribute names when decoding', () => {
    const ok = sealed(rawBody({ attrs: [['a', '1'], ['b', '2']] }));
    expect({ ...verifyCredential(ok, authority.publicKey, NOW).attributes }).toEqual({ a: '1', b: '2' });
    const unsorted = sealed(rawBody({ attrs: [['b', '2'], ['a', '1']] }));
    expect(codeOf(() => verifyCredential(unsorted, authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_MALFORMED');
    const repeated = sealed(rawBody({ attrs: [['a', '1'], ['a', '2']] }));
    expect(codeOf(() => verifyCredential(repeated, authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_MALFORMED');
    // Code-unit order: 'Z' (0x5a) sorts before '_' (0x5f) before 'a' (0x61).
    const codeUnit = sealed(rawBody({ attrs: [['Z', '1'], ['_', '2'], ['a', '3']] }));
    expect(Object.keys(verifyCredential(codeUnit, authority.publicKey, NOW).attributes)).toEqual(['Z', '_', 'a']);
  });

  it('refuse validly signed bodies that break the structure or limits', () => {
    const cases: [string, Uint8Array][] = [
      ['65 attributes', rawBody({ count: 65, attrs: Array.from({ length: 65 }, (_, i) => [`k${String(i).padStart(2, '0')}`, 'v'] as [string, string]) })],
      ['count larger than present', rawBody({ count: 2, attrs: [['a', '1']] })],
      ['bad key', rawBody({ attrs: [['has space', '1']] })],
      ['long key', rawBody({ attrs: [['k'.repeat(129), '1']] })],
      ['long value', rawBody({ attrs: [['k', 'v'.repeat(1025)]] })],
      ['trailing byte', rawBody({ tail: Uint8Array.of(0) })],
      ['subject not an identifier', rawBody({ subject: 'alice' })],
      ['authority not an identifier', rawBody({ authority: authority.identifier.toUpperCase() })],
      ['empty project', rawBody({ project: '' })],
      ['long project', rawBody({ project: 'p'.repeat(65) })],
      ['invalid UTF-8', concat(rawBody().subarray(0, 88), Uint8Array.of(0, 1, 0xff), rawBody().subarray(91))],
      ['empty body', new Uint8Array(0)],
    ];
    for (const [what, body] of cases) {
      expect(codeOf(() => verifyCredential(sealed(body), authority.publicKey, NOW)), what).toBe('POSTERN_CREDENTIAL_MALFORMED');
    }
  });

  it('refuse broken envelopes as MALFORMED', () => {
    const env = issueCredential(authority.sign, credential());
    const cases: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['version 2', concat(Uint8Array.of(2), env.subarray(1))],
      ['truncated', env.subarray(0, env.length - 1)],
      ['trailing', concat(env, Uint8Array.of(0))],
      ['huge length', concat(Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff), env.subarray(5))],
      ['length over the limit', concat(Uint8Array.of(1, 0, 0, 0x40, 0x01), new Uint8Array(16385 + 64))],
    ];
    for (const [what, e] of cases) expect(codeOf(() => verifyCredential(e, authority.publicKey, NOW)), what).toBe('POSTERN_CREDENTIAL_MALFORMED');
    for (let n = 0; n < env.length; n++) {
      expect(codeOf(() => verifyCredential(env.subarray(0, n), authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_MALFORMED');
    }
    expect(codeOf(() => verifyCredential('x' as unknown as Uint8Array, authority.publicKey, NOW))).toBe('POSTERN_CREDENTIAL_MALFORMED');
  });

  it('refuse to issue credentials with bad fields', () => {
    const issue = (o: Partial<Credential>) => codeOf(() => issueCredential(authority.sign, credential(o)));
    expect(issue({ subject: 'alice' })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ authority: '' })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ project: '' })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ project: 'p'.repeat(65) })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ project: 'p'.repeat(64) })).toBe('no error');
    expect(issue({ project: '🚀'.repeat(64) })).toBe('no error'); // 64 code points, 256 bytes
    expect(issue({ expiresAt: -1 })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(issue({ issuedAt: 2 ** 53 })).toBe('POSTERN_CREDENTIAL_MALFORMED');
    expect(codeOf(() => issueCredential(() => new Uint8Array(3), credential()))).toBe('POSTERN_CREDENTIAL_MALFORMED');
  });

  it('a 64-code-point non-ASCII project round-trips', () => {
    const cred = credential({ project: '🚀'.repeat(64), attributes: { note: 'naïve ☃ 𝄞' } });
    const got = verifyCredential(issueCredential(authority.sign, cred), authority.publicKey, NOW);
    expect(got.project).toBe(cred.project);
    expect(got.attributes['note']).toBe('naïve ☃ 𝄞');
  });

  it('decodeCredentialUnverified shows the contents without checking the signature', () => {
    const env = issueCredential(authority.sign, credential());
    const t = env.slice();
    t[t.length - 1]! ^= 1;
    expect(decodeCredentialUnverified(t).subject).toBe(member.identifier);
    expect(codeOf(() => decodeCredentialUnverified(sealed(utf8('garbage'))))).toBe('POSTERN_CREDENTIAL_MALFORMED');
  });

  it('node:crypto and noble produce identical bytes and accept each other', () => {
    const cred = credential();
    const byNode = issueCredential((m) => nodeCrypto.ed25519Sign(authority.secret, m), cred);
    const byNoble = issueCredential((m) => nobleCrypto.ed25519Sign(authority.secret, m), cred);
    expect(byNoble).toEqual(byNode);
    for (const p of [nodeCrypto, nobleCrypto]) {
      expect(verifyCredential(byNode, authority.publicKey, NOW, p).subject).toBe(member.identifier);
      const t = byNode.slice();
      t[20]! ^= 4;
      expect(codeOf(() => verifyCredential(t, authority.publicKey, NOW, p))).toBe('POSTERN_CREDENTIAL_SIGNATURE');
    }
  });
});

/** The worked example of docs/PROTOCOL.md §6; the doc and the code must agree. */
describe('documented vector', () => {
  it.each([nodeCrypto, nobleCrypto].map((p) => [p.name, p] as const))('credential on %s', (_n, p) => {
    const seq = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff);
    const authSecret = seq(0x41);
    const authPk = p.ed25519PublicKey(authSecret);
    const subject = identifierOf(p.ed25519PublicKey(seq(0x01)), p);
    expect(identifierOf(authPk, p)).toBe('I36117eb78f3bae2c9b4e216f2c924152b961c3d9');
    const cred: Credential = {
      subject,
      authority: identifierOf(authPk, p),
      project: 'Pacme',
      issuedAt: 1_800_000_000,
      expiresAt: 1_800_003_600,
      attributes: { role: 'reader', customer: 'acme' },
    };
    const env = issueCredential((m) => p.ed25519Sign(authSecret, m), cred);
    expect(Buffer.from(env).toString('hex')).toBe(
      '010000008d' +
        '0029496461326365333165353632613139313630623037396138396538383134643564633636346461306100294933363131376562373866336261653263396234653231366632633932343135326239363163336439' +
        '00055061636d65' +
        '000000006b49d200000000006b49e010' +
        '0002' +
        '0008637573746f6d6572000461636d65' +
        '0004726f6c650006726561646572' +
        'ff5d867286ac7693d7d168d6f77967e5471745496b0d1d0478a1aba69f8a316d80d2efc41dc48bac16bdd281f8dd80750b0d8bdb8cce298f778597554a34610e',
    );
    const got = verifyCredential(env, authPk, 1_800_000_000, p);
    expect({ ...got, attributes: { ...got.attributes } }).toEqual(cred);
  });
});
