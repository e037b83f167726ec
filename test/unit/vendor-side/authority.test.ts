import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeCrypto } from '../../../protocol/crypto/index.ts';
import { isPosternError, PosternError } from '../../../protocol/errors.ts';
import { verifyCredential } from '../../../protocol/credential/index.ts';
import { identifierOf } from '../../../protocol/identity/index.ts';
import { decodeTicket, ticketSecretHash } from '../../../protocol/ticket/index.ts';
import { MemoryVault } from '../../../protocol/vault/index.ts';
import { openSqliteStore, type SqliteStore } from '../../../vendor-side/hub/store/index.ts';
import {
  Authority,
  attributesFromArgs,
  formatDuration,
  parseDuration,
  TICKET_LIMITS,
  type AuthorityOptions,
  type TicketOptions,
} from '../../../vendor-side/hub/authority/index.ts';

const NOW = 1_800_000_000;
const PROJECT = 'Ptest0011223344';
const ROUTES = ['tcp:127.0.0.1:4000'];
const TTL = 3600;

function newIdentifier(): string {
  return identifierOf(nodeCrypto.ed25519PublicKey(nodeCrypto.ed25519Generate()));
}

/** Run fn, expect a PosternError with `code`; return it for more checks. */
function refused(fn: () => unknown, code: string): PosternError {
  try {
    fn();
  } catch (e) {
    if (!isPosternError(e)) throw e;
    expect(e.code).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

function secretOf(ticket: string): string {
  return Buffer.from(decodeTicket(ticket).secret).toString('hex');
}

const ticketOptions = (o: Partial<TicketOptions> = {}): TicketOptions => ({
  expiresIn: 3600,
  usageCount: 1,
  attributes: {},
  relay: null,
  enroller: false,
  ...o,
});

describe('Authority', () => {
  let dir: string;
  let store: SqliteStore;
  let vault: MemoryVault;
  let t: number;
  let hubPublicKey: Uint8Array;
  let authority: Authority;
  let admin: { identifier: string };

  const options = (): AuthorityOptions => ({ store, vault, project: PROJECT, hubPublicKey, routes: ROUTES, credentialTtl: TTL, now: () => t });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'postern-authority-'));
    store = openSqliteStore(join(dir, 'hub.db'));
    vault = new MemoryVault();
    vault.generate('ed25519', 'authority');
    hubPublicKey = vault.generate('ed25519', 'hub').publicKey;
    t = NOW;
    authority = new Authority(options());
    admin = { identifier: newIdentifier() };
    authority.bootstrapAdmin(admin.identifier);
  });

  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An enrolled node with the given ticket options. */
  function enrolled(o: Partial<TicketOptions> = {}): { identifier: string } {
    const caller = { identifier: newIdentifier() };
    authority.enroll(caller, secretOf(authority.createTicket(admin, ticketOptions(o)).ticket));
    return caller;
  }

  describe('construction and bootstrap', () => {
    it('takes its key from the vault label "authority"', () => {
      expect(authority.publicKey).toEqual(vault.exportPublic('authority'));
      expect(authority.identifier).toBe(identifierOf(vault.exportPublic('authority')));
      const empty = new MemoryVault();
      refused(() => new Authority({ ...options(), vault: empty }), 'POSTERN_VAULT_NO_KEY');
      refused(() => new Authority({ ...options(), routes: ['nonsense'] }), 'POSTERN_CONFIG_INVALID');
      refused(() => new Authority({ ...options(), credentialTtl: 0 }), 'POSTERN_CONFIG_INVALID');
    });

    it('bootstrapAdmin makes an administrator with a valid credential', () => {
      const id = newIdentifier();
      const { credential, expiresAt } = authority.bootstrapAdmin(id);
      const c = verifyCredential(credential, authority.publicKey, NOW);
      expect(c.subject).toBe(id);
      expect(c.project).toBe(PROJECT);
      expect(expiresAt).toBe(NOW + TTL);
      expect(c.attributes).toEqual({ 'postern.project': PROJECT, 'postern.role': 'admin' });
      expect(store.getMember(id)?.role).toBe('admin');
      refused(() => authority.bootstrapAdmin('not-an-identifier'), 'POSTERN_BAD_IDENTIFIER');
    });
  });

  describe('enroll', () => {
    it('issues a credential the authority key verifies, with the ticket attributes and postern.* keys', () => {
      const { ticket, expiresAt } = authority.createTicket(admin, ticketOptions({ attributes: { customer: 'acme', 'inlet-from-saas': 'true' }, relay: 'acme-relay' }));
      expect(expiresAt).toBe(NOW + 3600);
      const decoded = decodeTicket(ticket);
      expect(decoded.project).toBe(PROJECT);
      expect(decoded.authorityPublicKey).toEqual(authority.publicKey);
      expect(decoded.hubPublicKey).toEqual(hubPublicKey);
      expect(decoded.routes).toEqual(ROUTES);

      const node = { identifier: newIdentifier() };
      t = NOW + 10;
      const r = authority.enroll(node, secretOf(ticket));
      expect(r.alreadyMember).toBe(false);
      expect(r.expiresAt).toBe(NOW + 10 + TTL);
      expect(r.member).toMatchObject({ identifier: node.identifier, role: 'member', relay: 'acme-relay', revokedAt: null });
      const c = verifyCredential(r.credential, authority.publicKey, NOW + 10);
      expect(c.subject).toBe(node.identifier);
      expect(c.authority).toBe(authority.identifier);
      expect(c.project).toBe(PROJECT);
      expect(c.issuedAt).toBe(NOW + 10);
      expect(c.expiresAt).toBe(NOW + 10 + TTL);
      expect({ ...c.attributes }).toEqual({
        customer: 'acme',
        'inlet-from-saas': 'true',
        'postern.project': PROJECT,
        'postern.role': 'member',
        'postern.relay': 'acme-relay',
      });
      // Another authority's key does not verify it.
      const other = new MemoryVault();
      refused(() => verifyCredential(r.credential, other.generate('ed25519', 'x').publicKey, NOW + 10), 'POSTERN_CREDENTIAL_SIGNATURE');
    });

    it('keeps only the hash of the ticket secret', () => {
      const { ticket } = authority.createTicket(admin, ticketOptions());
      const secret = decodeTicket(ticket).secret;
      expect(store.getTicket(ticketSecretHash(secret))).toMatchObject({ usesRemaining: 1, project: PROJECT, createdBy: admin.identifier });
      store.close();
      const bytes = Buffer.concat([readFileSync(join(dir, 'hub.db')), readFileSync(join(dir, 'hub.db-wal'), { flag: 'a+' })]);
      expect(bytes.includes(Buffer.from(secret))).toBe(false);
      expect(bytes.includes(Buffer.from(Buffer.from(secret).toString('hex')))).toBe(false);
      store = openSqliteStore(join(dir, 'hub.db'));
    });

    it('refuses a second identity on a single-use ticket with POSTERN_TICKET_USED', () => {
      const secret = secretOf(authority.createTicket(admin, ticketOptions()).ticket);
      authority.enroll({ identifier: newIdentifier() }, secret);
      const e = refused(() => authority.enroll({ identifier: newIdentifier() }, secret), 'POSTERN_TICKET_USED');
      expect(e.hint).toMatch(/ask the vendor for a new ticket/);
      expect(store.listMembers()).toHaveLength(2); // the admin and the first node
    });

    it('lets the same identity enroll again with the same ticket without using it up', () => {
      const { ticket } = authority.createTicket(admin, ticketOptions({ usageCount: 2 }));
      const node = { identifier: newIdentifier() };
      const first = authority.enroll(node, secretOf(ticket));
      t = NOW + 100;
      const again = authority.enroll(node, secretOf(ticket).toUpperCase());
      expect(first.alreadyMember).toBe(false);
      expect(again.alreadyMember).toBe(true);
      expect(again.member.identifier).toBe(node.identifier);
      expect(verifyCredential(again.credential, authority.publicKey, t).subject).toBe(node.identifier);
      expect(store.getTicket(ticketSecretHash(decodeTicket(ticket).secret))?.usesRemaining).toBe(1);
    });

    it('refuses an expired ticket', () => {
      const { ticket, expiresAt } = authority.createTicket(admin, ticketOptions({ expiresIn: 600, usageCount: 2 }));
      t = expiresAt - 1;
      authority.enroll({ identifier: newIdentifier() }, secretOf(ticket));
      t = expiresAt;
      const e = refused(() => authority.enroll({ identifier: newIdentifier() }, secretOf(ticket)), 'POSTERN_TICKET_EXPIRED');
      expect(e.hint).toMatch(/new ticket/);
    });

    it('enrolls exactly as many identities as the usage count', () => {
      const secret = secretOf(authority.createTicket(admin, ticketOptions({ usageCount: 2 })).ticket);
      const ids = [newIdentifier(), newIdentifier(), newIdentifier()];
      authority.enroll({ identifier: ids[0]! }, secret);
      authority.enroll({ identifier: ids[1]! }, secret);
      refused(() => authority.enroll({ identifier: ids[2]! }, secret), 'POSTERN_TICKET_USED');
      const members = store.listMembers().map((m) => m.identifier);
      expect(members).toContain(ids[0]);
      expect(members).toContain(ids[1]);
      expect(members).not.toContain(ids[2]);
    });

    it('two authorities on one store cannot both redeem a single-use ticket', () => {
      const second = new Authority(options());
      const store2 = openSqliteStore(join(dir, 'hub.db'));
      try {
        const third = new Authority({ ...options(), store: store2 });
        const secret = secretOf(second.createTicket(admin, ticketOptions()).ticket);
        authority.enroll({ identifier: newIdentifier() }, secret);
        refused(() => third.enroll({ identifier: newIdentifier() }, secret), 'POSTERN_TICKET_USED');
      } finally {
        store2.close();
      }
    });

    it('says a ticket is unknown when no such secret was issued', () => {
      const e = refused(() => authority.enroll({ identifier: newIdentifier() }, 'ab'.repeat(32)), 'POSTERN_TICKET_UNKNOWN');
      expect(e.hint).toBe('the ticket was not issued by this hub or was mistyped');
    });

    it('refuses a secret that is not 64 hex characters, and a caller that is not an identifier', () => {
      const node = { identifier: newIdentifier() };
      for (const s of ['', 'ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32), ` ${'ab'.repeat(32)}`.slice(0, 64), 'ab'.repeat(32) + '\n']) {
        refused(() => authority.enroll(node, s), 'POSTERN_BAD_REQUEST');
      }
      refused(() => authority.enroll({ identifier: 'bob' }, 'ab'.repeat(32)), 'POSTERN_BAD_IDENTIFIER');
    });

    it('gives an enroller ticket the enroller role', () => {
      const node = enrolled({ enroller: true });
      expect(store.getMember(node.identifier)?.role).toBe('enroller');
      expect(verifyCredential(authority.refresh(node).credential, authority.publicKey, t).attributes['postern.role']).toBe('enroller');
    });

    it('always enrolls a ticket at the attribute bounds (the credential has room)', () => {
      const attributes: Record<string, string> = {};
      for (let i = 0; i < TICKET_LIMITS.maxAttributes; i++) attributes[`k${String(i).padStart(2, '0')}${'x'.repeat(96)}`] = 'é'.repeat(75);
      const node = enrolled({ attributes, relay: `r${'x'.repeat(62)}` });
      const c = verifyCredential(authority.refresh(node).credential, authority.publicKey, t);
      expect(Object.keys(c.attributes)).toHaveLength(TICKET_LIMITS.maxAttributes + 3);
    });
  });

  describe('refresh', () => {
    it('issues a fresh credential to an active member', () => {
      const node = enrolled({ attributes: { customer: 'acme' } });
      t = NOW + 1000;
      const r = authority.refresh(node);
      expect(r.expiresAt).toBe(NOW + 1000 + TTL);
      const c = verifyCredential(r.credential, authority.publicKey, t);
      expect(c.attributes['customer']).toBe('acme');
      expect(c.issuedAt).toBe(NOW + 1000);
    });

    it('refuses non-members', () => {
      const e = refused(() => authority.refresh({ identifier: newIdentifier() }), 'POSTERN_NOT_A_MEMBER');
      expect(e.hint).toBeDefined();
    });
  });

  describe('roles', () => {
    it('a member cannot create tickets', () => {
      const node = enrolled();
      refused(() => authority.createTicket(node, ticketOptions()), 'POSTERN_FORBIDDEN');
      refused(() => authority.createTicket({ identifier: newIdentifier() }, ticketOptions()), 'POSTERN_NOT_A_MEMBER');
    });

    it('an enroller can create tickets with attributes and a relay, but not enroller tickets', () => {
      const saas = enrolled({ enroller: true, relay: 'saas-relay' });
      const { ticket } = authority.createTicket(saas, ticketOptions({ attributes: { 'inlet-to-saas': 'true', 'outlet-from-saas': 'true' }, relay: 'acme-relay' }));
      const acme = { identifier: newIdentifier() };
      const r = authority.enroll(acme, secretOf(ticket));
      expect(r.member.role).toBe('member');
      expect(store.getTicket(ticketSecretHash(decodeTicket(ticket).secret))?.createdBy).toBe(saas.identifier);
      const e = refused(() => authority.createTicket(saas, ticketOptions({ enroller: true })), 'POSTERN_FORBIDDEN');
      expect(e.hint).toMatch(/administrator/);
    });

    it('the administrator can create enroller tickets', () => {
      const { ticket } = authority.createTicket(admin, ticketOptions({ enroller: true }));
      expect(authority.enroll({ identifier: newIdentifier() }, secretOf(ticket)).member.role).toBe('enroller');
    });

    it('only the administrator lists members', () => {
      const node = enrolled();
      const saas = enrolled({ enroller: true });
      expect(authority.members(admin).map((m) => m.identifier).sort()).toEqual([admin.identifier, node.identifier, saas.identifier].sort());
      refused(() => authority.members(node), 'POSTERN_FORBIDDEN');
      refused(() => authority.members(saas), 'POSTERN_FORBIDDEN');
    });
  });

  describe('ticket attributes', () => {
    it('may not set postern.* keys, in any letter case', () => {
      for (const k of ['postern.role', 'postern.project', 'postern.relay', 'postern.anything', 'Postern.Role', 'POSTERN.RELAY']) {
        const e = refused(() => authority.createTicket(admin, ticketOptions({ attributes: { [k]: 'admin' } })), 'POSTERN_BAD_ATTRIBUTE');
        expect(e.hint).toMatch(/postern\./);
      }
      expect(store.listMembers()).toHaveLength(1);
    });

    it('attributesFromArgs reads K as "true" and K=V as V', () => {
      expect({ ...attributesFromArgs(['inlet-from-saas', 'customer=acme', 'empty=', 'eq=a=b']) }).toEqual({
        'inlet-from-saas': 'true',
        customer: 'acme',
        empty: '',
        eq: 'a=b',
      });
      refused(() => attributesFromArgs(['=x']), 'POSTERN_BAD_ATTRIBUTE');
      refused(() => attributesFromArgs(['postern.role=admin']), 'POSTERN_BAD_ATTRIBUTE');
    });
  });

  describe('createTicket bounds', () => {
    const many = (n: number, value = 'v'): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`a${i}`, value]));
    const bad: [string, Partial<TicketOptions> | Record<string, unknown>, string][] = [
      ['expiresIn below a minute', { expiresIn: 59 }, 'POSTERN_BAD_DURATION'],
      ['expiresIn above 30 days', { expiresIn: 30 * 86400 + 1 }, 'POSTERN_BAD_DURATION'],
      ['fractional expiresIn', { expiresIn: 3600.5 }, 'POSTERN_BAD_DURATION'],
      ['NaN expiresIn', { expiresIn: Number.NaN }, 'POSTERN_BAD_DURATION'],
      ['infinite expiresIn', { expiresIn: Number.POSITIVE_INFINITY }, 'POSTERN_BAD_DURATION'],
      ['string expiresIn', { expiresIn: '3600' }, 'POSTERN_BAD_DURATION'],
      ['usageCount 0', { usageCount: 0 }, 'POSTERN_BAD_USAGE_COUNT'],
      ['usageCount 1001', { usageCount: 1001 }, 'POSTERN_BAD_USAGE_COUNT'],
      ['negative usageCount', { usageCount: -1 }, 'POSTERN_BAD_USAGE_COUNT'],
      ['fractional usageCount', { usageCount: 1.5 }, 'POSTERN_BAD_USAGE_COUNT'],
      ['33 attributes', { attributes: many(33) }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a 257-character value', { attributes: { a: 'x'.repeat(257) } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a number value', { attributes: { a: 1 } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a control character', { attributes: { a: 'x\ny' } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a lone surrogate', { attributes: { a: '\uD800' } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['an empty name', { attributes: { '': 'x' } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a name with a space', { attributes: { 'a b': 'x' } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a name starting with a digit', { attributes: { '1a': 'x' } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a 129-character name', { attributes: { [`a${'b'.repeat(128)}`]: 'x' } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['a constructor name', { attributes: { constructor: 'x' } }, 'POSTERN_BAD_ATTRIBUTE'],
      ['too many bytes in all', { attributes: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`a${i}${'b'.repeat(120)}`, 'v'.repeat(256)])) }, 'POSTERN_BAD_ATTRIBUTE'],
      ['attributes as an array', { attributes: ['a'] }, 'POSTERN_BAD_REQUEST'],
      ['attributes as a Map', { attributes: new Map([['a', 'b']]) }, 'POSTERN_BAD_REQUEST'],
      ['an upper-case relay', { relay: 'Acme' }, 'POSTERN_BAD_NAME'],
      ['a relay starting with "-"', { relay: '-acme' }, 'POSTERN_BAD_NAME'],
      ['a 64-character relay', { relay: 'a'.repeat(64) }, 'POSTERN_BAD_NAME'],
      ['an empty relay', { relay: '' }, 'POSTERN_BAD_NAME'],
      ['a relay with a slash', { relay: 'a/b' }, 'POSTERN_BAD_NAME'],
      ['a number relay', { relay: 7 }, 'POSTERN_BAD_NAME'],
      ['enroller as a string', { enroller: 'yes' }, 'POSTERN_BAD_REQUEST'],
    ];
    it.each(bad)('refuses %s', (_name, o, code) => {
      refused(() => authority.createTicket(admin, { ...ticketOptions(), ...o } as TicketOptions), code);
    });

    it('refuses a missing expiresIn or usageCount', () => {
      const { expiresIn: _e, ...noExpiry } = ticketOptions();
      const { usageCount: _u, ...noUses } = ticketOptions();
      refused(() => authority.createTicket(admin, noExpiry as TicketOptions), 'POSTERN_BAD_DURATION');
      refused(() => authority.createTicket(admin, noUses as TicketOptions), 'POSTERN_BAD_USAGE_COUNT');
    });

    it('stores nothing for a refused ticket', () => {
      const hashes: string[] = [];
      for (const [, o] of bad) {
        try {
          const { ticket } = authority.createTicket(admin, { ...ticketOptions(), ...o } as TicketOptions);
          hashes.push(ticketSecretHash(decodeTicket(ticket).secret));
        } catch {
          /* refused, as expected */
        }
      }
      expect(hashes).toEqual([]);
    });

    it('accepts every bound itself', () => {
      const ok: Partial<TicketOptions>[] = [
        { expiresIn: 60 },
        { expiresIn: 30 * 86400 },
        { usageCount: 1 },
        { usageCount: 1000 },
        { attributes: many(32) },
        { attributes: { a: 'x'.repeat(256) } },
        { attributes: { [`a${'b'.repeat(127)}`]: '' } },
        { relay: 'a' },
        { relay: `a${'b-._'.repeat(15)}ab` },
      ];
      for (const o of ok) {
        const { ticket, expiresAt } = authority.createTicket(admin, ticketOptions(o));
        expect(expiresAt).toBe(NOW + (o.expiresIn ?? 3600));
        const rec = store.getTicket(ticketSecretHash(decodeTicket(ticket).secret))!;
        expect(rec.usesRemaining).toBe(o.usageCount ?? 1);
        expect({ ...rec.attributes }).toEqual(o.attributes ?? {});
        expect(rec.relay).toBe(o.relay ?? null);
      }
    });
  });

  describe('revoke', () => {
    it('revokes by identifier; the member can no longer refresh or enroll again', () => {
      const node = enrolled();
      expect(authority.revoke(admin, { identifier: node.identifier })).toEqual([node.identifier]);
      expect(store.getMember(node.identifier)?.revokedAt).toBe(NOW);
      const e = refused(() => authority.refresh(node), 'POSTERN_MEMBER_REVOKED');
      expect(e.hint).toBeDefined();
      const fresh = secretOf(authority.createTicket(admin, ticketOptions()).ticket);
      refused(() => authority.enroll(node, fresh), 'POSTERN_MEMBER_REVOKED');
      // idempotent
      expect(authority.revoke(admin, { identifier: node.identifier })).toEqual([node.identifier]);
    });

    it('revokes by relay: the relay owner and any member whose ticket allows the name', () => {
      const acme = enrolled({ relay: 'acme-relay' });
      const acme2 = enrolled({ relay: 'acme-relay' });
      const other = enrolled({ relay: 'other-relay' });
      expect(store.claimRelay('acme-relay', acme.identifier, NOW)).toEqual({ ok: true });
      expect(store.claimRelay('other-relay', other.identifier, NOW)).toEqual({ ok: true });
      expect(authority.revoke(admin, { relay: 'acme-relay' }).sort()).toEqual([acme.identifier, acme2.identifier].sort());
      refused(() => authority.refresh(acme), 'POSTERN_MEMBER_REVOKED');
      refused(() => authority.refresh(acme2), 'POSTERN_MEMBER_REVOKED');
      expect(store.getRelay('acme-relay')).toBeUndefined();
      expect(store.getRelay('other-relay')?.owner).toBe(other.identifier);
      expect(authority.refresh(other).member.revokedAt).toBeNull();
      refused(() => authority.revoke(admin, { relay: 'acme-relay' }), 'POSTERN_NOT_A_MEMBER');
    });

    it('refuses non-administrators, self-revocation, unknown targets and malformed targets', () => {
      const node = enrolled();
      const saas = enrolled({ enroller: true });
      refused(() => authority.revoke(node, { identifier: saas.identifier }), 'POSTERN_FORBIDDEN');
      refused(() => authority.revoke(saas, { identifier: node.identifier }), 'POSTERN_FORBIDDEN');
      refused(() => authority.revoke(admin, { identifier: admin.identifier }), 'POSTERN_FORBIDDEN');
      refused(() => authority.revoke(admin, { identifier: newIdentifier() }), 'POSTERN_NOT_A_MEMBER');
      refused(() => authority.revoke(admin, { relay: 'nobody-relay' }), 'POSTERN_NOT_A_MEMBER');
      refused(() => authority.revoke(admin, {}), 'POSTERN_BAD_REQUEST');
      refused(() => authority.revoke(admin, { identifier: node.identifier, relay: 'x' }), 'POSTERN_BAD_REQUEST');
      refused(() => authority.revoke(admin, { identifier: 'nope' }), 'POSTERN_BAD_IDENTIFIER');
      refused(() => authority.revoke(admin, { relay: 'Bad Name' }), 'POSTERN_BAD_NAME');
      expect(store.getMember(node.identifier)?.revokedAt).toBeNull();
      expect(store.getMember(saas.identifier)?.revokedAt).toBeNull();
    });
  });

  describe('handle', () => {
    it('answers each operation with base64 credentials and plain data', () => {
      const created = authority.handle(admin, { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: { customer: 'acme' }, relay: 'acme-relay', enroller: false, id: 7 });
      expect(created).toMatchObject({ ok: true, expiresAt: NOW + 3600 });
      const node = { identifier: newIdentifier() };
      const enroll = authority.handle(node, { op: 'enroll', secret: secretOf(String(created['ticket'])) });
      expect(enroll).toMatchObject({ ok: true, alreadyMember: false, expiresAt: NOW + TTL, member: { identifier: node.identifier, role: 'member', relay: 'acme-relay' } });
      const cred = new Uint8Array(Buffer.from(String(enroll['credential']), 'base64'));
      expect(verifyCredential(cred, authority.publicKey, NOW).attributes['customer']).toBe('acme');

      const refresh = authority.handle(node, { op: 'refresh' });
      expect(refresh['ok']).toBe(true);
      expect(verifyCredential(new Uint8Array(Buffer.from(String(refresh['credential']), 'base64')), authority.publicKey, NOW).subject).toBe(node.identifier);

      const members = authority.handle(admin, { op: 'members' });
      expect(members['ok']).toBe(true);
      const list = members['members'] as Record<string, unknown>[];
      expect(list.map((m) => m['identifier']).sort()).toEqual([admin.identifier, node.identifier].sort());
      for (const m of list) expect(m).not.toHaveProperty('ticketHash');
      expect(JSON.parse(JSON.stringify(members))).toEqual(members);

      expect(authority.handle(admin, { op: 'revoke', relay: 'acme-relay' })).toEqual({ ok: true, revoked: [node.identifier] });
      expect(authority.handle(node, { op: 'refresh' })).toMatchObject({ ok: false, code: 'POSTERN_MEMBER_REVOKED' });
    });

    it('create-ticket defaults attributes, relay and enroller when left out', () => {
      const r = authority.handle(admin, { op: 'create-ticket', expiresIn: 600, usageCount: 3 });
      expect(r['ok']).toBe(true);
      const rec = store.getTicket(ticketSecretHash(decodeTicket(String(r['ticket'])).secret))!;
      expect(rec).toMatchObject({ usesRemaining: 3, relay: null, enroller: false });
      expect({ ...rec.attributes }).toEqual({});
    });

    it('maps failures to codes with hints', () => {
      expect(authority.handle({ identifier: newIdentifier() }, { op: 'enroll', secret: 'cd'.repeat(32) })).toEqual({
        ok: false,
        code: 'POSTERN_TICKET_UNKNOWN',
        message: expect.any(String),
        hint: 'the ticket was not issued by this hub or was mistyped',
      });
      const saas = enrolled({ enroller: true });
      const r = authority.handle(saas, { op: 'create-ticket', expiresIn: 3600, usageCount: 1, enroller: true });
      expect(r).toMatchObject({ ok: false, code: 'POSTERN_FORBIDDEN', hint: expect.stringMatching(/administrator/) });
      expect(authority.handle(admin, { op: 'fly' })).toMatchObject({ ok: false, code: 'POSTERN_BAD_REQUEST' });
    });

    const hostile = (): [string, unknown][] => {
      const throwing = new Proxy(
        {},
        {
          get: () => {
            throw new Error('boom');
          },
          getPrototypeOf: () => {
            throw new Error('boom');
          },
          ownKeys: () => {
            throw new Error('boom');
          },
          getOwnPropertyDescriptor: () => {
            throw new Error('boom');
          },
        },
      );
      const huge = 'a'.repeat(1 << 20);
      return [
        ['null', null],
        ['undefined', undefined],
        ['a number', 42],
        ['a string', 'enroll'],
        ['a boolean', true],
        ['an array', []],
        ['an array of requests', [{ op: 'members' }]],
        ['a function', () => ({ op: 'members' })],
        ['a numeric op', { op: 1 }],
        ['an array op', { op: ['members'] }],
        ['an unknown op', { op: 'drop-tables' }],
        ['an inherited op', Object.create({ op: 'members' })],
        ['a prototype op name', { op: 'constructor' }],
        ['a toString op', { op: 'toString' }],
        ['a __proto__ op', { op: '__proto__' }],
        ['__proto__ carrying op', JSON.parse('{"__proto__": {"op": "members"}}')],
        ['enroll without secret', { op: 'enroll' }],
        ['enroll with a number secret', { op: 'enroll', secret: 5 }],
        ['enroll with an object secret', { op: 'enroll', secret: { length: 64 } }],
        ['enroll with a huge secret', { op: 'enroll', secret: huge }],
        ['enroll with a hex-ish huge secret', { op: 'enroll', secret: 'ab'.repeat(1 << 18) }],
        ['create-ticket with nothing', { op: 'create-ticket' }],
        ['create-ticket with string numbers', { op: 'create-ticket', expiresIn: '3600', usageCount: '1' }],
        ['create-ticket with array attributes', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: [['a', 'b']] }],
        ['create-ticket with null attributes', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: null }],
        ['create-ticket with __proto__ attributes', JSON.parse('{"op":"create-ticket","expiresIn":3600,"usageCount":1,"attributes":{"__proto__":{"polluted":"yes"}}}')],
        ['create-ticket with __proto__ string attribute', JSON.parse('{"op":"create-ticket","expiresIn":3600,"usageCount":1,"attributes":{"__proto__":"x"}}')],
        ['create-ticket with prototype attribute', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: { prototype: 'x' } }],
        ['create-ticket with a reserved attribute', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: { 'postern.role': 'admin' } }],
        ['create-ticket with a huge attribute value', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: { a: huge } }],
        ['create-ticket with a huge attribute name', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: { [huge]: 'x' } }],
        ['create-ticket with 10000 attributes', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, attributes: Object.fromEntries(Array.from({ length: 10000 }, (_, i) => [`a${i}`, 'v'])) }],
        ['create-ticket with a huge relay', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, relay: huge }],
        ['create-ticket with an object relay', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, relay: { toString: () => 'acme' } }],
        ['create-ticket with a huge number', { op: 'create-ticket', expiresIn: 1e308, usageCount: 1e308 }],
        ['create-ticket with enroller 1', { op: 'create-ticket', expiresIn: 3600, usageCount: 1, enroller: 1 }],
        ['revoke with nothing', { op: 'revoke' }],
        ['revoke with both', { op: 'revoke', identifier: admin.identifier, relay: 'x' }],
        ['revoke with an object identifier', { op: 'revoke', identifier: {} }],
        ['revoke with a huge identifier', { op: 'revoke', identifier: huge }],
        ['revoke with a null relay', { op: 'revoke', relay: null }],
        ['revoke itself', { op: 'revoke', identifier: admin.identifier }],
        ['a throwing proxy', throwing],
      ];
    };

    it('answers garbage with ok:false and a code, never throwing or changing the store', () => {
      const before = JSON.stringify(store.listMembers());
      for (const [name, request] of hostile()) {
        let r: Record<string, unknown> | undefined;
        expect(() => {
          r = authority.handle(admin, request);
        }, name).not.toThrow();
        expect(r?.['ok'], name).toBe(false);
        expect(r?.['code'], name).toMatch(/^POSTERN_[A-Z_]+$/);
        expect(typeof r?.['message'], name).toBe('string');
        expect(String(r?.['message']).length, name).toBeLessThan(400);
      }
      expect(JSON.stringify(store.listMembers())).toBe(before);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    });

    it('answers garbage callers with ok:false', () => {
      for (const caller of [null, undefined, {}, { identifier: 5 }, { identifier: 'x'.repeat(1 << 20) }, { identifier: `I${'0'.repeat(39)}` }]) {
        for (const op of ['enroll', 'refresh', 'create-ticket', 'revoke', 'members']) {
          const r = authority.handle(caller as never, { op, secret: 'ab'.repeat(32), expiresIn: 3600, usageCount: 1, identifier: admin.identifier });
          expect(r['ok']).toBe(false);
          expect(r['code']).toMatch(/^POSTERN_[A-Z_]+$/);
        }
      }
    });

    it('never throws on arbitrary JSON (property)', () => {
      const op = fc.constantFrom('enroll', 'refresh', 'create-ticket', 'revoke', 'members', 'nope', '__proto__');
      const request = fc.oneof(
        fc.jsonValue(),
        fc.anything(),
        fc.record(
          {
            op,
            secret: fc.oneof(fc.string(), fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'))),
            expiresIn: fc.oneof(fc.integer(), fc.double(), fc.string()),
            usageCount: fc.oneof(fc.integer({ min: -5, max: 1005 }), fc.double()),
            attributes: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer())), fc.jsonValue()),
            relay: fc.oneof(fc.constant(null), fc.string(), fc.integer()),
            enroller: fc.oneof(fc.boolean(), fc.string()),
            identifier: fc.oneof(fc.string(), fc.constant(admin.identifier)),
          },
          { requiredKeys: ['op'] },
        ),
      );
      fc.assert(
        fc.property(request, (req) => {
          const r = authority.handle(admin, req);
          expect(typeof r['ok']).toBe('boolean');
          if (r['ok'] === false) expect(r['code']).toMatch(/^POSTERN_[A-Z_]+$/);
          expect(store.getMember(admin.identifier)?.revokedAt).toBeNull();
        }),
        { numRuns: 300 },
      );
    });
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90],
    ['30m', 1800],
    ['24h', 86400],
    ['7d', 604800],
    ['1h30m', 5400],
    ['1d12h', 129600],
    ['1d2h3m4s', 93784],
    [' 10m ', 600],
    ['0h1s', 1],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(['', '10', '10x', 'h', '1.5h', '-1h', '1m1h', '1h1h', '10 m', '1H', '0s', '0d0h', 'abc', '9'.repeat(13) + 's', '1h'.repeat(40)])(
    'refuses %j with POSTERN_BAD_DURATION',
    (text) => {
      refused(() => parseDuration(text), 'POSTERN_BAD_DURATION');
    },
  );

  it('refuses non-strings', () => {
    for (const v of [null, undefined, 10, {}]) refused(() => parseDuration(v as never), 'POSTERN_BAD_DURATION');
  });

  it('formatDuration is read back by parseDuration', () => {
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(86400)).toBe('1d');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(parseDuration(formatDuration(n))).toBe(n);
      }),
    );
  });
});
