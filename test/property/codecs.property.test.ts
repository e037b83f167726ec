import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nodeCrypto } from '../../protocol/crypto/index.ts';
import { coalesce, concat, utf8, Writer } from '../../protocol/bytes.ts';
import { PosternError } from '../../protocol/errors.ts';
import { ATTESTATION_LEN, identifierOf, PURPOSE_SECURE_CHANNEL, signAttestation, verifyAttestation } from '../../protocol/identity/index.ts';
import { issueCredential, verifyCredential, type Credential } from '../../protocol/credential/index.ts';
import { decodeTicket, encodeTicket, TICKET_PREFIX, type Ticket } from '../../protocol/ticket/index.ts';

const NOW = 1_800_000_000;
const c = nodeCrypto;
const authoritySecret = c.ed25519Generate();
const authorityPublicKey = c.ed25519PublicKey(authoritySecret);
const authorityId = identifierOf(authorityPublicKey);
const signAsAuthority = (m: Uint8Array) => c.ed25519Sign(authoritySecret, m);

/** Only PosternError, with a hint for the person, may escape; returning normally is allowed. */
function onlyPosternErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof PosternError)) throw e;
    if (!e.hint) throw new Error(`${e.code} without a hint: ${e.message}`);
  }
}

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const identifier = key32.map((k) => identifierOf(k));
const attributeKey = fc
  .stringMatching(/^[A-Za-z_][A-Za-z0-9._:-]{0,30}$/)
  .filter((k) => k !== '__proto__' && k !== 'constructor' && k !== 'prototype');
const attributeValue = fc.string({ unit: 'binary', maxLength: 60 });
const project = fc.string({ unit: 'binary', minLength: 1, maxLength: 64 });

const credentialArb: fc.Arbitrary<Credential> = fc
  .record({
    subject: identifier,
    project,
    issuedAt: fc.integer({ min: 0, max: 2 ** 40 }),
    lifetime: fc.integer({ min: 1, max: 10 ** 7 }),
    entries: fc.uniqueArray(fc.tuple(attributeKey, attributeValue), { maxLength: 20, selector: ([k]) => k }),
  })
  .map(({ subject, project, issuedAt, lifetime, entries }) => ({
    subject,
    authority: authorityId,
    project,
    issuedAt,
    expiresAt: issuedAt + lifetime,
    attributes: Object.fromEntries(entries),
  }));

const port = fc.integer({ min: 1, max: 65535 });
const route = fc.oneof(
  fc.tuple(fc.domain(), port).map(([h, p]) => `tcp:${h}:${p}`),
  fc.tuple(fc.ipV4(), port).map(([h, p]) => `tcp:${h}:${p}`),
  fc.tuple(fc.ipV6(), port).map(([h, p]) => `tcp:[${h}]:${p}`),
  fc.tuple(fc.stringMatching(/^[A-Za-z0-9._-]{1,40}$/), port).map(([h, p]) => `tcp:${h}:${p}`),
);

const ticketArb: fc.Arbitrary<Ticket> = fc.record({
  project,
  authorityPublicKey: key32,
  hubPublicKey: key32,
  routes: fc.array(route, { minLength: 1, maxLength: 8 }),
  secret: key32,
});

/** Random edits to a valid envelope: byte overwrites, then an optional cut or extension. */
function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  return fc
    .record({
      edits: fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      cut: fc.option(fc.nat({ max: valid.length })),
      extra: fc.uint8Array({ maxLength: 8 }),
    })
    .map(({ edits, cut, extra }) => {
      const b = valid.slice();
      for (const [i, v] of edits) b[i] = v;
      return concat(cut === null ? b : b.subarray(0, cut), extra);
    });
}

describe('credential codec properties', () => {
  it('verify(issue(c)) = c', () => {
    fc.assert(
      fc.property(credentialArb, (cred) => {
        const got = verifyCredential(issueCredential(signAsAuthority, cred), authorityPublicKey, cred.issuedAt);
        expect({ ...got, attributes: { ...got.attributes } }).toEqual(cred);
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes only ever throw PosternError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyPosternErrors(() => verifyCredential(b, authorityPublicKey, NOW))),
      { numRuns: 1000 },
    );
  });

  it('random envelopes with a plausible header only ever throw PosternError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 0, max: 500 }), (rest, len) => {
        const env = concat(Uint8Array.of(1), new Writer().u32(len).finish(), rest);
        onlyPosternErrors(() => verifyCredential(env, authorityPublicKey, NOW));
      }),
      { numRuns: 500 },
    );
  });

  it('validly signed random bodies only ever throw PosternError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (body) => {
        const sig = signAsAuthority(concat(utf8('postern/v1/credential'), Uint8Array.of(0), body));
        const env = new Writer().u8(1).u32(body.length).bytes(body).bytes(sig).finish();
        onlyPosternErrors(() => verifyCredential(env, authorityPublicKey, NOW));
      }),
      { numRuns: 300 },
    );
  });

  it('mutated credentials only ever throw PosternError', () => {
    const valid = issueCredential(signAsAuthority, {
      subject: authorityId,
      authority: authorityId,
      project: 'Pacme',
      issuedAt: NOW,
      expiresAt: NOW + 60,
      attributes: { a: '1', role: 'reader' },
    });
    fc.assert(
      fc.property(mutated(valid), (b) => onlyPosternErrors(() => verifyCredential(b, authorityPublicKey, NOW))),
      { numRuns: 500 },
    );
  });
});

describe('attestation codec properties', () => {
  it('random bytes (any length, and exactly 146) only ever throw PosternError', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: ATTESTATION_LEN, maxLength: ATTESTATION_LEN })),
        (b) => onlyPosternErrors(() => verifyAttestation(b, NOW)),
      ),
      { numRuns: 1000 },
    );
  });

  it('verify(sign(a)) = a, and mutations only ever throw PosternError', () => {
    fc.assert(
      fc.property(key32, fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 10 ** 7 }), (staticPublicKey, createdAt, lifetime) => {
        const secret = c.ed25519Generate();
        const a = {
          purpose: PURPOSE_SECURE_CHANNEL,
          identityPublicKey: c.ed25519PublicKey(secret),
          staticPublicKey,
          createdAt,
          expiresAt: createdAt + lifetime,
        };
        const env = signAttestation((m) => c.ed25519Sign(secret, m), a);
        expect(verifyAttestation(env, createdAt)).toEqual(a);
        const t = env.slice();
        t[createdAt % t.length]! ^= 1 << (lifetime % 8);
        onlyPosternErrors(() => verifyAttestation(t, createdAt));
        expect(() => verifyAttestation(t, createdAt)).toThrow(PosternError);
      }),
      { numRuns: 200 },
    );
  });
});

describe('ticket codec properties', () => {
  it('decode(encode(t)) = t, as one shell-safe line', () => {
    fc.assert(
      fc.property(ticketArb, (t) => {
        const text = encodeTicket(t);
        expect(text).toMatch(/^pstn1_[A-Za-z0-9_-]+$/);
        expect(decodeTicket(text)).toEqual(t);
        expect(decodeTicket(`\n ${text} \r\n`)).toEqual(t);
      }),
      { numRuns: 300 },
    );
  });

  it('random strings only ever throw PosternError', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }).map((s) => TICKET_PREFIX + s),
      fc.base64String({ maxLength: 400 }).map((s) => TICKET_PREFIX + s),
      fc.uint8Array({ maxLength: 400 }).map((b) => TICKET_PREFIX + Buffer.from(b).toString('base64url')),
    );
    fc.assert(
      fc.property(text, (s) => onlyPosternErrors(() => decodeTicket(s))),
      { numRuns: 1000 },
    );
  });

  it('random bytes with a valid checksum only ever throw PosternError', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 1, 1, 2), fc.uint8Array({ maxLength: 400 }), (version, rest) => {
        const body = concat(Uint8Array.of(version), rest);
        const sum = createHash('sha256').update(body).digest().subarray(0, 4);
        onlyPosternErrors(() => decodeTicket(TICKET_PREFIX + Buffer.from(concat(body, sum)).toString('base64url')));
      }),
      { numRuns: 1000 },
    );
  });

  it('mutated tickets only ever throw PosternError', () => {
    const valid = encodeTicket({
      project: 'Pacme',
      authorityPublicKey: new Uint8Array(32).fill(1),
      hubPublicKey: new Uint8Array(32).fill(2),
      routes: ['tcp:hub.example:4000', 'tcp:[::1]:4000'],
      secret: new Uint8Array(32).fill(3),
    });
    fc.assert(
      fc.property(
        fc.nat({ max: valid.length }),
        fc.nat({ max: valid.length }),
        fc.string({ unit: 'binary', maxLength: 4 }),
        (from, to, insert) => {
          const [a, b] = from <= to ? [from, to] : [to, from];
          onlyPosternErrors(() => decodeTicket(valid.slice(0, a) + insert + valid.slice(b)));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('coalesce', () => {
  it('keeps the bytes, passes large parts through uncopied and leaves no two small parts side by side', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }), (parts) => {
        const out = coalesce(parts, 16);
        expect(concat(...out)).toEqual(concat(...parts));
        for (const p of parts) if (p.length >= 16) expect(out).toContain(p);
        expect(out.every((p) => p.length > 0)).toBe(true);
        for (let i = 1; i < out.length; i++) expect(out[i - 1]!.length < 16 && out[i]!.length < 16).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
