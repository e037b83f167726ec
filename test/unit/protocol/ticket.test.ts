import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../../protocol/crypto/index.ts';
import { concat, Writer } from '../../../protocol/bytes.ts';
import { PosternError } from '../../../protocol/errors.ts';
import {
  decodeTicket,
  encodeTicket,
  isRoute,
  MAX_TICKET_TEXT,
  newTicketSecret,
  TICKET_PREFIX,
  ticketSecretHash,
  type Ticket,
} from '../../../protocol/ticket/index.ts';
import { codeOf } from '../../helpers/errors.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function ticket(o: Partial<Ticket> = {}): Ticket {
  return {
    project: 'P0123456789abcdef',
    authorityPublicKey: Uint8Array.from({ length: 32 }, (_, i) => i),
    hubPublicKey: Uint8Array.from({ length: 32 }, (_, i) => 255 - i),
    routes: ['tcp:hub.initech.example:4000', 'tcp:[2001:db8::1]:4000'],
    secret: Uint8Array.from({ length: 32 }, (_, i) => (i * 7) & 0xff),
    ...o,
  };
}


function errorOf(f: () => unknown): PosternError {
  try {
    f();
  } catch (e) {
    if (e instanceof PosternError) return e;
    throw e;
  }
  throw new Error('no error thrown');
}

/** Ticket text for arbitrary bytes, with a correct checksum. */
function textFor(body: Uint8Array): string {
  const sum = createHash('sha256').update(body).digest().subarray(0, 4);
  return TICKET_PREFIX + Buffer.from(concat(body, sum)).toString('base64url');
}

function rawBody(o: { version?: number; project?: string; routes?: string[]; count?: number; secretLen?: number; tail?: Uint8Array } = {}): Uint8Array {
  const routes = o.routes ?? ['tcp:hub:4000'];
  const w = new Writer()
    .u8(o.version ?? 1)
    .str16(o.project ?? 'Pacme')
    .bytes(new Uint8Array(32))
    .bytes(new Uint8Array(32).fill(1))
    .u8(o.count ?? routes.length);
  for (const r of routes) w.str16(r);
  w.bytes(new Uint8Array(o.secretLen ?? 32).fill(9));
  if (o.tail !== undefined) w.bytes(o.tail);
  return w.finish();
}

describe('enrollment tickets', () => {
  it('round-trip', () => {
    const t = ticket();
    const text = encodeTicket(t);
    expect(decodeTicket(text)).toEqual(t);
    expect(decodeTicket(encodeTicket(t, nobleCrypto), nobleCrypto)).toEqual(t);
    expect(encodeTicket(t, nobleCrypto)).toBe(text);
  });

  it('are one shell-safe line with the documented bytes', () => {
    const t = ticket();
    const text = encodeTicket(t);
    expect(text).toMatch(/^pstn1_[A-Za-z0-9_-]+$/);
    const bytes = Buffer.from(text.slice(TICKET_PREFIX.length), 'base64url');
    const body = bytes.subarray(0, bytes.length - 4);
    expect(body[0]).toBe(1);
    expect(body.readUInt16BE(1)).toBe(t.project.length);
    expect(body.subarray(3, 3 + t.project.length).toString()).toBe(t.project);
    expect(Uint8Array.from(body.subarray(body.length - 32))).toEqual(t.secret);
    expect(bytes.subarray(bytes.length - 4)).toEqual(createHash('sha256').update(body).digest().subarray(0, 4));
    expect(textFor(rawBody())).toMatch(/^pstn1_[A-Za-z0-9_-]+$/);
  });

  it('accept whitespace and newlines around the text', () => {
    const t = ticket();
    const text = encodeTicket(t);
    for (const wrapped of [`  ${text}  `, `${text}\n`, `\r\n${text}\r\n`, `\t${text}\n\n`, `\uFEFF${text}\n`]) {
      expect(decodeTicket(wrapped)).toEqual(t);
    }
  });

  it('one changed character anywhere after the prefix: DAMAGED', () => {
    const text = encodeTicket(ticket());
    for (let i = TICKET_PREFIX.length; i < text.length; i++) {
      for (const shift of [1, 17, 32]) {
        const ch = ALPHABET[(ALPHABET.indexOf(text[i]!) + shift) % 64]!;
        const changed = text.slice(0, i) + ch + text.slice(i + 1);
        const e = errorOf(() => decodeTicket(changed));
        expect(e.code, `position ${i} -> ${ch}`).toBe('POSTERN_TICKET_DAMAGED');
        expect(e.hint).toMatch(/altered or cut when copied/);
      }
    }
  });

  it('characters outside base64url: DAMAGED', () => {
    const text = encodeTicket(ticket());
    const mid = 20;
    for (const ch of ['+', '/', '=', ' ', '.', 'é', '\n']) {
      expect(codeOf(() => decodeTicket(text.slice(0, mid) + ch + text.slice(mid))), JSON.stringify(ch)).toBe('POSTERN_TICKET_DAMAGED');
    }
    expect(codeOf(() => decodeTicket(`${text}=`))).toBe('POSTERN_TICKET_DAMAGED');
  });

  it('truncated at any length: DAMAGED or MALFORMED (FOREIGN inside the prefix)', () => {
    const text = encodeTicket(ticket());
    for (let n = 0; n < text.length; n++) {
      const code = codeOf(() => decodeTicket(text.slice(0, n)));
      if (n < TICKET_PREFIX.length) expect(code, `length ${n}`).toBe('POSTERN_TICKET_FOREIGN');
      else expect(['POSTERN_TICKET_DAMAGED', 'POSTERN_TICKET_MALFORMED'], `length ${n}`).toContain(code);
    }
  });

  it('foreign strings: FOREIGN with a hint', () => {
    for (const s of ['', 'hello', 'eyJhbGciOiJIUzI1NiJ9.e30.x', 'PSTN1_abc', ' pstn_abc', 'ocm_1234', 'pstn1', '\u0000']) {
      const e = errorOf(() => decodeTicket(s));
      expect(e.code, JSON.stringify(s)).toBe('POSTERN_TICKET_FOREIGN');
      expect(e.message).toMatch(/does not look like a Postern enrollment ticket/);
      expect(e.hint).toMatch(/pstn1_/);
    }
    expect(codeOf(() => decodeTicket(undefined as unknown as string))).toBe('POSTERN_TICKET_FOREIGN');
  });

  it('version 2: VERSION', () => {
    const e = errorOf(() => decodeTicket(textFor(rawBody({ version: 2 }))));
    expect(e.code).toBe('POSTERN_TICKET_VERSION');
    expect(e.hint).toBeTruthy();
    expect(codeOf(() => decodeTicket(textFor(Uint8Array.of(2))))).toBe('POSTERN_TICKET_VERSION');
    expect(codeOf(() => decodeTicket('pstn2_AAAA'))).toBe('POSTERN_TICKET_VERSION');
    expect(decodeTicket(textFor(rawBody())).project).toBe('Pacme');
  });

  it('checksummed but badly structured: MALFORMED', () => {
    const cases: [string, Uint8Array][] = [
      ['no routes', rawBody({ routes: [] })],
      ['9 routes', rawBody({ routes: Array(9).fill('tcp:h:1') })],
      ['count beyond data', rawBody({ count: 3 })],
      ['bad route', rawBody({ routes: ['udp:h:1'] })],
      ['port 0', rawBody({ routes: ['tcp:h:0'] })],
      ['empty project', rawBody({ project: '' })],
      ['long project', rawBody({ project: 'p'.repeat(65) })],
      ['short secret', rawBody({ secretLen: 31 })],
      ['trailing byte', rawBody({ tail: Uint8Array.of(0) })],
      ['only the version', Uint8Array.of(1)],
    ];
    for (const [what, body] of cases) {
      const e = errorOf(() => decodeTicket(textFor(body)));
      expect(e.code, what).toBe('POSTERN_TICKET_MALFORMED');
      expect(e.hint, what).toBeTruthy();
    }
    expect(codeOf(() => decodeTicket(`${TICKET_PREFIX}A`))).toBe('POSTERN_TICKET_DAMAGED');
    expect(codeOf(() => decodeTicket(TICKET_PREFIX))).toBe('POSTERN_TICKET_DAMAGED');
  });

  it(`refuses input longer than ${MAX_TICKET_TEXT} characters`, () => {
    expect(codeOf(() => decodeTicket(TICKET_PREFIX + 'A'.repeat(MAX_TICKET_TEXT)))).toBe('POSTERN_TICKET_MALFORMED');
    const eight = ticket({ routes: Array.from({ length: 8 }, (_, i) => `tcp:${'h'.repeat(250)}${i}:65535`) });
    expect(decodeTicket(encodeTicket(eight))).toEqual(eight);
  });

  it('validates routes', () => {
    for (const r of ['tcp:hub.example.com:4000', 'tcp:10.0.0.1:1', 'tcp:[::1]:65535', 'tcp:localhost:4000', `tcp:${'a'.repeat(253)}:80`]) {
      expect(isRoute(r), r).toBe(true);
    }
    for (const r of ['tcp:host', 'udp:h:1', 'tcp:h:0', 'tcp:h:65536', 'tcp:h:123456', 'tcp::::1:80', 'tcp:a b:80', 'tcp::80', 'TCP:h:1', `tcp:${'a'.repeat(254)}:80`, 'tcp:h:1\n', 'tcp:$(id):80']) {
      expect(isRoute(r), r).toBe(false);
    }
  });

  it('refuses to encode bad tickets with MALFORMED', () => {
    const enc = (o: Partial<Ticket>) => codeOf(() => encodeTicket(ticket(o)));
    expect(enc({ routes: [] })).toBe('POSTERN_TICKET_MALFORMED');
    expect(enc({ routes: Array(9).fill('tcp:h:1') })).toBe('POSTERN_TICKET_MALFORMED');
    expect(enc({ routes: ['tcp:h'] })).toBe('POSTERN_TICKET_MALFORMED');
    expect(enc({ secret: new Uint8Array(31) })).toBe('POSTERN_TICKET_MALFORMED');
    expect(enc({ hubPublicKey: new Uint8Array(33) })).toBe('POSTERN_TICKET_MALFORMED');
    expect(enc({ project: '' })).toBe('POSTERN_TICKET_MALFORMED');
    expect(enc({ project: 'x'.repeat(70000) })).toBe('POSTERN_TICKET_MALFORMED');
  });

  it('ticketSecretHash is the domain-separated SHA-256 in lowercase hex', () => {
    const secret = ticket().secret;
    const expected = createHash('sha256').update('postern/v1/ticket-secret\0', 'latin1').update(secret).digest('hex');
    expect(ticketSecretHash(secret)).toBe(expected);
    expect(ticketSecretHash(secret, nobleCrypto)).toBe(expected);
    expect(ticketSecretHash(new Uint8Array(32))).not.toBe(expected);
  });

  it('newTicketSecret gives 32 fresh random bytes', () => {
    const a = newTicketSecret();
    const b = newTicketSecret(nodeCrypto);
    expect(a).toHaveLength(32);
    expect(newTicketSecret(nobleCrypto)).toHaveLength(32);
    expect(a).not.toEqual(b);
  });
});

/** The worked example of docs/PROTOCOL.md §6; the doc and the code must agree. */
describe('documented vector', () => {
  const seq = (start: number) => Uint8Array.from({ length: 32 }, (_, i) => (start + i) & 0xff);
  const TEXT =
    'pstn1_AQAFUGFjbWWtwUAR-C0cVtlWqk-dc9iFg2GmBgSFJeDQjGONx13Yx3m1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZkAgAcdGNwOmh1Yi5pbml0ZWNoLmV4YW1wbGU6NDAwMAAWdGNwOlsyMDAxOmRiODo6MV06NDAwMMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t_gINUTIw';

  it.each([nodeCrypto, nobleCrypto].map((p) => [p.name, p] as const))('ticket and secret hash on %s', (_n, p) => {
    const t: Ticket = {
      project: 'Pacme',
      authorityPublicKey: p.ed25519PublicKey(seq(0x41)),
      hubPublicKey: p.ed25519PublicKey(seq(0x01)),
      routes: ['tcp:hub.initech.example:4000', 'tcp:[2001:db8::1]:4000'],
      secret: seq(0xc1),
    };
    expect(encodeTicket(t, p)).toBe(TEXT);
    expect(decodeTicket(TEXT, p)).toEqual(t);
    expect(ticketSecretHash(seq(0xc1), p)).toBe('367c5b958be0e6ed3095dd290a7fdd8861d5025562d51f8daa5154e33eaec8fc');
  });
});
