/**
 * The hub store on node:sqlite. The concurrency and crash cases are real:
 * two connections in two threads, four processes, and a process killed with
 * SIGKILL while its transaction has spilled uncommitted pages into the WAL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { isPosternError } from '../../../protocol/errors.ts';
import { MIGRATIONS, SCHEMA_VERSION, openSqliteStore, parseAttributes, type MemberRecord, type SqliteStore, type TicketRecord } from '../../../vendor-side/hub/store/index.ts';
import { NODE } from '../../helpers/processes.ts';
import type { RedeemOutcome, RedeemWorkerData } from '../../helpers/redeem-worker.ts';

const WORKER = fileURLToPath(new URL('../../helpers/redeem-worker.ts', import.meta.url));
const NOW = 1_800_000_000;
const ADMIN = 'I-admin';
const id = (n: number): string => `I${n.toString(16).padStart(40, '0')}`;
const hash = (n: number): string => n.toString(16).padStart(64, '0');
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

let dir: string;
let path: string;
const open: SqliteStore[] = [];

function store(options?: { busyTimeoutMs?: number }): SqliteStore {
  const s = openSqliteStore(path, options);
  open.push(s);
  return s;
}

function ticket(over: Partial<TicketRecord> = {}): TicketRecord {
  return {
    secretHash: hash(1),
    project: 'P1',
    createdAt: NOW,
    expiresAt: NOW + 3600,
    usesRemaining: 1,
    attributes: { customer: 'acme', 'inlet-from-saas': 'true' },
    relay: 'acme-relay',
    enroller: false,
    createdBy: ADMIN,
    ...over,
  };
}

function admin(): MemberRecord {
  return { identifier: ADMIN, project: 'P1', attributes: {}, relay: null, role: 'admin', enrolledAt: NOW, revokedAt: null, ticketHash: null };
}

function mode(f: string): number {
  return statSync(f).mode & 0o777;
}

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(isPosternError(caught, code), `expected ${code}, got ${String(caught)}`).toBe(true);
}

/** A child running the worker: its stdout as lines, and a way to send the start signal. */
function child(args: string[]): { proc: ChildProcessWithoutNullStreams; line: (re: RegExp) => Promise<string>; exited: Promise<number | null> } {
  const proc = spawn(NODE, [WORKER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const l = out.split('\n').find((x) => w.re.test(x));
      if (l !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(l);
      }
    }
  };
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    check();
  });
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (c) => resolve(c)));
  const line = (re: RegExp) =>
    new Promise<string>((resolve, reject) => {
      waiters.push({ re, resolve });
      check();
      void exited.then((c) => reject(new Error(`worker ${args[0]} exited (${c}) before ${re}:\n${out}\n${err}`)));
    });
  return { proc, line, exited };
}

/** Start `n` workers, wait until all are ready, then release them together; their last JSON lines. */
async function race(argsFor: (i: number) => string[], n: number): Promise<RedeemOutcome[][]> {
  const kids = Array.from({ length: n }, (_, i) => child(argsFor(i)));
  await Promise.all(kids.map((k) => k.line(/^ready$/)));
  for (const k of kids) k.proc.stdin.end('go\n');
  const lines = await Promise.all(kids.map((k) => k.line(/^\[/)));
  await Promise.all(kids.map((k) => k.exited));
  return lines.map((l) => JSON.parse(l) as RedeemOutcome[]);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-store-'));
  path = join(dir, 'hub.db');
});

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite store: file, schema, pragmas', () => {
  it('creates the database 0600, in WAL mode, at the current schema version, and keeps its side files 0600', () => {
    const s = store();
    s.setMeta('project', 'P1');
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    expect(mode(`${path}-shm`)).toBe(0o600);
    const raw = new DatabaseSync(path, { readOnly: true });
    expect(raw.prepare('PRAGMA journal_mode').get()).toMatchObject({ journal_mode: 'wal' });
    expect(raw.prepare('PRAGMA user_version').get()).toMatchObject({ user_version: SCHEMA_VERSION });
    raw.close();
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    MIGRATIONS.forEach((m, i) => {
      expect(m.version).toBe(i + 1);
      expect(m.sql).toContain(`PRAGMA user_version = ${m.version};`);
    });
  });

  it('tightens an existing file to 0600 and never truncates it', () => {
    const s = store();
    s.setMeta('project', 'P1');
    s.close();
    chmodSync(path, 0o644);
    const again = store();
    expect(mode(path)).toBe(0o600);
    expect(again.getMeta('project')).toBe('P1');
  });

  it('keeps its data across close and reopen', () => {
    const s = store();
    s.setMeta('project', 'P1');
    s.setMeta('project', 'P2');
    s.addMember(admin());
    s.createTicket(ticket());
    expect(s.redeemTicket(hash(1), id(1), NOW).ok).toBe(true);
    expect(s.claimRelay('acme-relay', id(1), NOW)).toEqual({ ok: true });
    s.close();
    s.close(); // idempotent
    const again = store();
    expect(again.getMeta('project')).toBe('P2');
    expect(again.getMeta('missing')).toBeUndefined();
    expect(again.getTicket(hash(1))?.usesRemaining).toBe(0);
    expect(again.getMember(id(1))).toMatchObject({ role: 'member', relay: 'acme-relay', ticketHash: hash(1), enrolledAt: NOW });
    expect(again.getMember(ADMIN)?.role).toBe('admin');
    expect(again.getRelay('acme-relay')).toEqual({ name: 'acme-relay', owner: id(1), createdAt: NOW, updatedAt: NOW });
  });

  it('refuses a store written by a newer schema', () => {
    store().close();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expectCode(() => openSqliteStore(path), 'POSTERN_STORE_VERSION');
  });

  it('works in memory for throwaway use', () => {
    const s = openSqliteStore(':memory:');
    s.createTicket(ticket());
    expect(s.redeemTicket(hash(1), id(1), NOW).ok).toBe(true);
    s.close();
  });

  it('lets four processes open (and migrate) a new file at the same moment', async () => {
    const kids = [0, 1, 2, 3].map(() => child(['open', path]));
    await Promise.all(kids.map((k) => k.line(/^ready$/)));
    for (const k of kids) k.proc.stdin.end('go\n');
    await Promise.all(kids.map((k) => k.line(/^opened$/)));
    expect(await Promise.all(kids.map((k) => k.exited))).toEqual([0, 0, 0, 0]);
    const s = store();
    s.createTicket(ticket());
    expect(s.getTicket(hash(1))?.usesRemaining).toBe(1);
    expect(mode(path)).toBe(0o600);
  }, 30_000);
});

describe('sqlite store: tickets', () => {
  it('stores a ticket by its hash and refuses a second one with the same hash', () => {
    const s = store();
    s.createTicket(ticket({ enroller: true, relay: null }));
    expect(s.getTicket(hash(1))).toEqual(ticket({ enroller: true, relay: null }));
    expect(s.getTicket(hash(2))).toBeUndefined();
    expectCode(() => s.createTicket(ticket({ usesRemaining: 9 })), 'POSTERN_STORE_CONFLICT');
    expect(s.getTicket(hash(1))?.usesRemaining).toBe(1);
  });

  it('refuses values of the wrong type (strict tables) instead of storing them', () => {
    const s = store();
    expect(() => s.createTicket(ticket({ usesRemaining: 1.5 }))).toThrow();
    expect(() => s.createTicket(ticket({ usesRemaining: -1 }))).toThrow();
    expect(s.getTicket(hash(1))).toBeUndefined();
  });

  it('reads attributes into a null-prototype object, keeping only strings, and survives a damaged value', () => {
    const s = store();
    s.createTicket(ticket({ attributes: JSON.parse('{"__proto__":"x","role":"reader"}') as Record<string, string> }));
    const a = s.getTicket(hash(1))!.attributes;
    expect(Object.getPrototypeOf(a)).toBeNull();
    expect(Object.keys(a).sort()).toEqual(['__proto__', 'role']);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    s.close();
    const raw = new DatabaseSync(path);
    raw.prepare('UPDATE tickets SET attributes = ? WHERE secret_hash = ?').run('{not json', hash(1));
    raw.close();
    expect({ ...store().getTicket(hash(1))!.attributes }).toEqual({});
    expect({ ...parseAttributes('{"a":"1","b":2,"c":null}') }).toEqual({ a: '1' });
    expect({ ...parseAttributes('["a"]') }).toEqual({});
    expect({ ...parseAttributes(null) }).toEqual({});
  });
});

describe('sqlite store: redeeming', () => {
  it('says so for an unknown ticket', () => {
    expect(store().redeemTicket(hash(9), id(1), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_UNKNOWN' });
  });

  it('refuses an expired ticket (now >= expiresAt) without consuming a use', () => {
    const s = store();
    s.createTicket(ticket({ usesRemaining: 2 }));
    expect(s.redeemTicket(hash(1), id(1), NOW + 3600)).toEqual({ ok: false, code: 'POSTERN_TICKET_EXPIRED' });
    expect(s.redeemTicket(hash(1), id(1), NOW + 7200)).toEqual({ ok: false, code: 'POSTERN_TICKET_EXPIRED' });
    expect(s.getTicket(hash(1))?.usesRemaining).toBe(2);
    expect(s.getMember(id(1))).toBeUndefined();
    expect(s.redeemTicket(hash(1), id(1), NOW + 3599).ok).toBe(true);
  });

  it('refuses a used ticket', () => {
    const s = store();
    s.createTicket(ticket());
    expect(s.redeemTicket(hash(1), id(1), NOW)).toMatchObject({ ok: true, alreadyMember: false });
    expect(s.redeemTicket(hash(1), id(2), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_USED' });
    s.createTicket(ticket({ secretHash: hash(2), usesRemaining: 0 }));
    expect(s.redeemTicket(hash(2), id(3), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_USED' });
    expect(s.getMember(id(2))).toBeUndefined();
    expect(s.getMember(id(3))).toBeUndefined();
  });

  it('lets exactly three distinct identities in with a usage count of 3', () => {
    const s = store();
    s.createTicket(ticket({ usesRemaining: 3 }));
    const results = [1, 2, 3, 4, 5].map((n) => s.redeemTicket(hash(1), id(n), NOW));
    expect(results.map((r) => r.ok)).toEqual([true, true, true, false, false]);
    expect(results[3]).toEqual({ ok: false, code: 'POSTERN_TICKET_USED' });
    expect(s.getTicket(hash(1))?.usesRemaining).toBe(0);
    expect(s.listMembers().map((m) => m.identifier)).toEqual([id(1), id(2), id(3)]);
  });

  it('gives the member the ticket attributes, relay and role', () => {
    const s = store();
    s.createTicket(ticket({ enroller: true, relay: 'saas-relay', attributes: { 'outlet-to-saas': 'true' } }));
    const r = s.redeemTicket(hash(1), id(1), NOW);
    const expected: MemberRecord = {
      identifier: id(1),
      project: 'P1',
      attributes: { 'outlet-to-saas': 'true' },
      relay: 'saas-relay',
      role: 'enroller',
      enrolledAt: NOW,
      revokedAt: null,
      ticketHash: hash(1),
    };
    expect(r).toEqual({ ok: true, alreadyMember: false, member: expected });
    expect(s.getMember(id(1))).toEqual(expected);
    expect(Object.getPrototypeOf(s.getMember(id(1))!.attributes)).toBeNull();
  });

  it('re-redeeming by the same identity is idempotent and consumes no use, even once the ticket is spent or expired', () => {
    const s = store();
    s.createTicket(ticket({ usesRemaining: 2 }));
    const first = s.redeemTicket(hash(1), id(1), NOW);
    expect(first).toMatchObject({ ok: true, alreadyMember: false });
    const again = s.redeemTicket(hash(1), id(1), NOW + 10);
    expect(again).toEqual({ ok: true, alreadyMember: true, member: (first as { member: MemberRecord }).member });
    expect(s.getTicket(hash(1))?.usesRemaining).toBe(1);
    expect(s.redeemTicket(hash(1), id(2), NOW).ok).toBe(true);
    expect(s.getTicket(hash(1))?.usesRemaining).toBe(0);
    expect(s.redeemTicket(hash(1), id(1), NOW)).toMatchObject({ ok: true, alreadyMember: true });
    expect(s.redeemTicket(hash(1), id(2), NOW + 999_999)).toMatchObject({ ok: true, alreadyMember: true });
    expect(s.redeemTicket(hash(1), id(3), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_USED' });
  });

  it('a member redeeming another ticket uses it and takes its terms; the administrator stays administrator', () => {
    const s = store();
    s.addMember(admin());
    s.createTicket(ticket({ usesRemaining: 2 }));
    s.createTicket(ticket({ secretHash: hash(2), relay: 'other-relay', attributes: { b: '1' } }));
    s.redeemTicket(hash(1), id(1), NOW);
    const r = s.redeemTicket(hash(2), id(1), NOW + 1);
    expect(r).toMatchObject({ ok: true, alreadyMember: false, member: { relay: 'other-relay', ticketHash: hash(2), role: 'member' } });
    expect({ ...s.getMember(id(1))!.attributes }).toEqual({ b: '1' });
    expect(s.getTicket(hash(2))?.usesRemaining).toBe(0);
    expect(s.redeemTicket(hash(1), ADMIN, NOW)).toMatchObject({ ok: true, member: { role: 'admin' } });
  });

  it('refuses a revoked identity, with a fresh valid ticket too, and consumes nothing', () => {
    const s = store();
    s.createTicket(ticket());
    s.redeemTicket(hash(1), id(1), NOW);
    expect(s.revokeMember(id(1), NOW + 5)).toBe(true);
    expect(s.getMember(id(1))?.revokedAt).toBe(NOW + 5);
    expect(s.redeemTicket(hash(1), id(1), NOW)).toEqual({ ok: false, code: 'POSTERN_MEMBER_REVOKED' });
    s.createTicket(ticket({ secretHash: hash(2) }));
    expect(s.redeemTicket(hash(2), id(1), NOW)).toEqual({ ok: false, code: 'POSTERN_MEMBER_REVOKED' });
    expect(s.getTicket(hash(2))?.usesRemaining).toBe(1);
    expect(s.getMember(id(1))?.revokedAt).toBe(NOW + 5);
  });
});

describe('sqlite store: members and relays', () => {
  function withMembers(n: number): SqliteStore {
    const s = store();
    s.addMember(admin());
    s.createTicket(ticket({ usesRemaining: n }));
    for (let i = 1; i <= n; i++) expect(s.redeemTicket(hash(1), id(i), NOW + i).ok).toBe(true);
    return s;
  }

  it('upserts and lists members', () => {
    const s = withMembers(2);
    expect(s.listMembers().map((m) => m.identifier)).toEqual([ADMIN, id(1), id(2)]);
    s.addMember({ ...admin(), attributes: { note: 'replaced' } });
    expect({ ...s.getMember(ADMIN)!.attributes }).toEqual({ note: 'replaced' });
    expect(s.listMembers()).toHaveLength(3);
    expect(s.getMember(id(9))).toBeUndefined();
  });

  it('gives a relay name to the identity that claims it first and refuses a takeover', () => {
    const s = withMembers(2);
    expect(s.claimRelay('acme-relay', id(1), NOW)).toEqual({ ok: true });
    expect(s.claimRelay('acme-relay', id(1), NOW + 60)).toEqual({ ok: true });
    expect(s.getRelay('acme-relay')).toEqual({ name: 'acme-relay', owner: id(1), createdAt: NOW, updatedAt: NOW + 60 });
    expect(s.claimRelay('acme-relay', id(2), NOW + 61)).toEqual({ ok: false, owner: id(1) });
    expect(s.getRelay('acme-relay')?.owner).toBe(id(1));
    expect(s.claimRelay('beta-relay', id(1), NOW)).toEqual({ ok: true });
    expect(s.countRelaysOwnedBy(id(1))).toBe(2);
    expect(s.countRelaysOwnedBy(id(2))).toBe(0);
    expect(s.listRelays().map((r) => r.name)).toEqual(['acme-relay', 'beta-relay']);
  });

  it('releases a relay only for its owner', () => {
    const s = withMembers(2);
    s.claimRelay('acme-relay', id(1), NOW);
    expect(s.releaseRelay('acme-relay', id(2))).toBe(false);
    expect(s.getRelay('acme-relay')?.owner).toBe(id(1));
    expect(s.releaseRelay('acme-relay', id(1))).toBe(true);
    expect(s.releaseRelay('acme-relay', id(1))).toBe(false);
    expect(s.getRelay('acme-relay')).toBeUndefined();
    expect(s.claimRelay('acme-relay', id(2), NOW)).toEqual({ ok: true });
  });

  it('refuses a relay to a non-member and to a revoked member', () => {
    const s = withMembers(1);
    expectCode(() => s.claimRelay('acme-relay', id(7), NOW), 'POSTERN_NOT_A_MEMBER');
    s.revokeMember(id(1), NOW);
    expectCode(() => s.claimRelay('acme-relay', id(1), NOW), 'POSTERN_MEMBER_REVOKED');
    expect(s.listRelays()).toEqual([]);
  });

  it('revocation frees the relays the member owned, and only those', () => {
    const s = withMembers(2);
    s.claimRelay('acme-relay', id(1), NOW);
    s.claimRelay('acme-2', id(1), NOW);
    s.claimRelay('other-relay', id(2), NOW);
    expect(s.revokeMember(id(1), NOW + 1)).toBe(true);
    expect(s.getRelay('acme-relay')).toBeUndefined();
    expect(s.countRelaysOwnedBy(id(1))).toBe(0);
    expect(s.getRelay('other-relay')?.owner).toBe(id(2));
    expect(s.claimRelay('acme-relay', id(2), NOW + 2)).toEqual({ ok: true });
    expect(s.revokeMember(id(1), NOW + 9)).toBe(false);
    expect(s.getMember(id(1))?.revokedAt).toBe(NOW + 1);
    expect(s.revokeMember(id(9), NOW)).toBe(false);
    expect(s.getMember(id(9))).toBeUndefined();
  });
});

describe('sqlite store: concurrency', () => {
  it('two stores on one file see each other’s writes at once', () => {
    const a = store();
    const b = store();
    a.createTicket(ticket({ usesRemaining: 4 }));
    expect(b.getTicket(hash(1))?.usesRemaining).toBe(4);
    const order = [a, b, b, a, a, b];
    const results = order.map((s, i) => s.redeemTicket(hash(1), id(i + 1), NOW).ok);
    expect(results).toEqual([true, true, true, true, false, false]);
    expect(a.getTicket(hash(1))?.usesRemaining).toBe(0);
    expect(b.listMembers()).toHaveLength(4);
    expect(b.redeemTicket(hash(1), id(1), NOW)).toMatchObject({ ok: true, alreadyMember: true });
    b.claimRelay('acme-relay', id(1), NOW);
    expect(a.claimRelay('acme-relay', id(2), NOW)).toEqual({ ok: false, owner: id(1) });
    a.revokeMember(id(1), NOW);
    expect(b.getRelay('acme-relay')).toBeUndefined();
  });

  it('two stores racing in two threads: every single-use ticket has exactly one winner', async () => {
    const TICKETS = 40;
    const setup = store();
    const exp = nowSeconds() + 3600;
    const hashes = Array.from({ length: TICKETS }, (_, i) => hash(100 + i));
    for (const h of hashes) setup.createTicket(ticket({ secretHash: h, expiresAt: exp }));
    setup.close();
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const identities = [id(1), id(2)];
    // Opposite orders, so that the two threads meet in the middle and contend.
    const orders = [hashes, [...hashes].reverse()];
    const workers = identities.map(
      (identifier, i) => new Worker(WORKER, { workerData: { path, identifier, hashes: orders[i]!, gate } satisfies RedeemWorkerData }),
    );
    let ready = 0;
    const outcomes = await Promise.all(
      workers.map(
        (w) =>
          new Promise<RedeemOutcome[]>((resolve, reject) => {
            w.on('error', reject);
            w.on('message', (m: unknown) => {
              if (m === 'ready') {
                if (++ready === workers.length) {
                  Atomics.store(gate, 0, 1);
                  Atomics.notify(gate, 0);
                }
              } else {
                resolve(m as RedeemOutcome[]);
              }
            });
          }),
      ),
    );
    await Promise.all(workers.map((w) => w.terminate()));
    outcomes[1]!.reverse();
    for (let t = 0; t < TICKETS; t++) {
      const oks = outcomes.filter((o) => o[t]!.ok);
      expect(oks, `ticket ${t}`).toHaveLength(1);
      const loser = outcomes.find((o) => !o[t]!.ok)!;
      expect(loser[t]!.code).toBe('POSTERN_TICKET_USED');
    }
    const after = store();
    for (const h of hashes) expect(after.getTicket(h)?.usesRemaining).toBe(0);
    const wins = outcomes.map((o) => o.filter((r) => r.ok).length);
    expect(wins[0]! + wins[1]!).toBe(TICKETS);
    const members = after.listMembers();
    expect(members.map((m) => m.identifier).sort()).toEqual(identities.filter((_, i) => wins[i]! > 0));
  }, 30_000);

  it('four processes racing: a single-use ticket lets exactly one in, a three-use ticket exactly three', async () => {
    const s = store();
    const exp = nowSeconds() + 3600;
    s.createTicket(ticket({ secretHash: hash(1), expiresAt: exp }));
    s.createTicket(ticket({ secretHash: hash(3), expiresAt: exp, usesRemaining: 3 }));
    s.close();
    const results = await race((i) => ['redeem', path, id(10 + i), hash(1), hash(3)], 4);
    const single = results.map((r) => r[0]!);
    const triple = results.map((r) => r[1]!);
    expect(single.filter((r) => r.ok)).toHaveLength(1);
    expect(single.filter((r) => r.code === 'POSTERN_TICKET_USED')).toHaveLength(3);
    expect(triple.filter((r) => r.ok)).toHaveLength(3);
    expect(triple.filter((r) => r.code === 'POSTERN_TICKET_USED')).toHaveLength(1);
    const after = store();
    expect(after.getTicket(hash(1))?.usesRemaining).toBe(0);
    expect(after.getTicket(hash(3))?.usesRemaining).toBe(0);
    // Every winner, and no one else, is a member (a process that won both tickets holds the later one's terms).
    const winners = new Set([0, 1, 2, 3].filter((i) => single[i]!.ok || triple[i]!.ok).map((i) => id(10 + i)));
    expect(new Set(after.listMembers().map((m) => m.identifier))).toEqual(winners);
  }, 30_000);

  it('a writer held past the busy timeout gets POSTERN_STORE_BUSY; reads go on, and nothing is half-done', () => {
    const s = store({ busyTimeoutMs: 50 });
    s.createTicket(ticket());
    const other = new DatabaseSync(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      expectCode(() => s.redeemTicket(hash(1), id(1), NOW), 'POSTERN_STORE_BUSY');
      expectCode(() => s.setMeta('k', 'v'), 'POSTERN_STORE_BUSY');
      expect(s.getTicket(hash(1))?.usesRemaining).toBe(1);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(s.getMember(id(1))).toBeUndefined();
    expect(s.redeemTicket(hash(1), id(1), NOW).ok).toBe(true);
  });

  it('rejects a bad busy timeout', () => {
    expect(() => openSqliteStore(path, { busyTimeoutMs: -1 })).toThrow(RangeError);
    expect(() => openSqliteStore(path, { busyTimeoutMs: 1.5 })).toThrow(RangeError);
  });
});

describe('sqlite store: crash', () => {
  it('a process killed mid-transaction leaves the state as before it, and a committed redemption stays used', async () => {
    const s = store();
    const exp = nowSeconds() + 3600;
    s.createTicket(ticket({ secretHash: hash(1), expiresAt: exp }));
    s.createTicket(ticket({ secretHash: hash(2), expiresAt: exp, usesRemaining: 5 }));
    s.setMeta('project', 'P1');
    s.close();

    const k = child(['crash', path, hash(1), id(1)]);
    const committed = JSON.parse(await k.line(/^\[/)) as RedeemOutcome[];
    expect(committed).toEqual([{ ok: true, code: null, alreadyMember: false }]);
    await k.line(/^in-transaction$/);
    // The uncommitted transaction really reached the disk (spilled into the WAL) before the kill.
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(1_000_000);
    k.proc.kill('SIGKILL');
    await k.exited;
    expect(k.proc.signalCode).toBe('SIGKILL');

    const after = store();
    expect(after.getTicket(hash(1))?.usesRemaining).toBe(0);
    expect(after.getTicket(hash(2))?.usesRemaining).toBe(5);
    expect(after.getMember(id(1))).toMatchObject({ ticketHash: hash(1), revokedAt: null });
    expect(after.getMember('I-uncommitted')).toBeUndefined();
    expect(after.getMeta('uncommitted-0')).toBeUndefined();
    expect(after.getMeta('project')).toBe('P1');
    expect(after.listMembers()).toHaveLength(1);
    expect(after.redeemTicket(hash(1), id(2), nowSeconds())).toEqual({ ok: false, code: 'POSTERN_TICKET_USED' });
    expect(after.redeemTicket(hash(2), id(2), nowSeconds()).ok).toBe(true);
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
  }, 30_000);

  it('a non-store file is refused, not overwritten', () => {
    writeFileSync(path, 'this is not a database, but it is someone’s file', { mode: 0o600 });
    expect(() => openSqliteStore(path)).toThrow();
    expect(statSync(path).size).toBeGreaterThan(0);
  });
});
