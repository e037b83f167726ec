/**
 * The store on node:sqlite: WAL journal, synchronous=FULL, one file (0600).
 * Redeeming a ticket is a single IMMEDIATE transaction, so two redeemers of
 * a single-use ticket — threads, processes or hubs on one file — cannot both win.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { PosternError } from '../../../protocol/errors.ts';
import { MIGRATIONS } from './schema.ts';
import type { HubStore, MemberRecord, RedeemResult, RelayRecord, Role, TicketRecord } from './types.ts';

type Row = Record<string, unknown>;

function attrs(json: unknown): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  try {
    const v = JSON.parse(String(json)) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
    }
  } catch {
    /* a damaged row yields no attributes: closed by default */
  }
  return out;
}

function ticket(r: Row): TicketRecord {
  return {
    secretHash: String(r['secret_hash']),
    project: String(r['project']),
    createdAt: Number(r['created_at']),
    expiresAt: Number(r['expires_at']),
    usesRemaining: Number(r['uses_remaining']),
    attributes: attrs(r['attributes']),
    relay: r['relay'] === null ? null : String(r['relay']),
    enroller: Number(r['enroller']) === 1,
    createdBy: String(r['created_by']),
  };
}

function member(r: Row): MemberRecord {
  return {
    identifier: String(r['identifier']),
    project: String(r['project']),
    attributes: attrs(r['attributes']),
    relay: r['relay'] === null ? null : String(r['relay']),
    role: String(r['role']) as Role,
    enrolledAt: Number(r['enrolled_at']),
    revokedAt: r['revoked_at'] === null ? null : Number(r['revoked_at']),
    ticketHash: r['ticket_hash'] === null ? null : String(r['ticket_hash']),
  };
}

function relay(r: Row): RelayRecord {
  return { name: String(r['name']), owner: String(r['owner']), createdAt: Number(r['created_at']), updatedAt: Number(r['updated_at']) };
}

export class SqliteStore implements HubStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly q: Record<string, StatementSync>;

  constructor(path: string) {
    this.path = path;
    if (!existsSync(path)) closeSync(openSync(path, 'w', 0o600));
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;');
    this.migrate();
    for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    const p = (sql: string) => this.db.prepare(sql);
    this.q = {
      getMeta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      insertTicket: p('INSERT INTO tickets (secret_hash, project, created_at, expires_at, uses_remaining, attributes, relay, enroller, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      getTicket: p('SELECT * FROM tickets WHERE secret_hash = ?'),
      useTicket: p('UPDATE tickets SET uses_remaining = uses_remaining - 1 WHERE secret_hash = ? AND uses_remaining > 0'),
      upsertMember: p(
        `INSERT INTO members (identifier, project, attributes, relay, role, enrolled_at, revoked_at, ticket_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(identifier) DO UPDATE SET project = excluded.project, attributes = excluded.attributes, relay = excluded.relay,
           role = excluded.role, enrolled_at = excluded.enrolled_at, revoked_at = excluded.revoked_at, ticket_hash = excluded.ticket_hash`,
      ),
      getMember: p('SELECT * FROM members WHERE identifier = ?'),
      listMembers: p('SELECT * FROM members ORDER BY enrolled_at, identifier'),
      revokeMember: p('UPDATE members SET revoked_at = ? WHERE identifier = ? AND revoked_at IS NULL'),
      deleteRelaysOf: p('DELETE FROM relays WHERE owner = ?'),
      getRelay: p('SELECT * FROM relays WHERE name = ?'),
      insertRelay: p('INSERT INTO relays (name, owner, created_at, updated_at) VALUES (?, ?, ?, ?)'),
      touchRelay: p('UPDATE relays SET updated_at = ? WHERE name = ? AND owner = ?'),
      listRelays: p('SELECT * FROM relays ORDER BY name'),
      releaseRelay: p('DELETE FROM relays WHERE name = ? AND owner = ?'),
      countRelays: p('SELECT COUNT(*) AS n FROM relays WHERE owner = ?'),
    };
  }

  private migrate(): void {
    const v = Number((this.db.prepare('PRAGMA user_version').get() as Row)['user_version']);
    if (v > MIGRATIONS.length) {
      throw new PosternError('POSTERN_STORE_VERSION', `the store was written by a newer version (schema ${v})`, 'upgrade postern');
    }
    for (let i = v; i < MIGRATIONS.length; i++) {
      this.tx(() => {
        this.db.exec(MIGRATIONS[i]!);
        this.db.exec(`PRAGMA user_version = ${i + 1}`);
      });
    }
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const r = fn();
      this.db.exec('COMMIT');
      return r;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    }
  }

  getMeta(key: string): string | undefined {
    const r = this.q['getMeta']!.get(key) as Row | undefined;
    return r === undefined ? undefined : String(r['value']);
  }

  setMeta(key: string, value: string): void {
    this.q['setMeta']!.run(key, value);
  }

  createTicket(t: TicketRecord): void {
    try {
      this.q['insertTicket']!.run(t.secretHash, t.project, t.createdAt, t.expiresAt, t.usesRemaining, JSON.stringify(t.attributes), t.relay, t.enroller ? 1 : 0, t.createdBy);
    } catch (e) {
      throw new PosternError('POSTERN_STORE_CONFLICT', `ticket already exists: ${(e as Error).message}`);
    }
  }

  getTicket(secretHash: string): TicketRecord | undefined {
    const r = this.q['getTicket']!.get(secretHash) as Row | undefined;
    return r === undefined ? undefined : ticket(r);
  }

  redeemTicket(secretHash: string, identifier: string, now: number): RedeemResult {
    return this.tx((): RedeemResult => {
      const tr = this.q['getTicket']!.get(secretHash) as Row | undefined;
      if (tr === undefined) return { ok: false, code: 'POSTERN_TICKET_UNKNOWN' };
      const t = ticket(tr);
      const mr = this.q['getMember']!.get(identifier) as Row | undefined;
      const existing = mr === undefined ? undefined : member(mr);
      if (existing?.revokedAt != null) return { ok: false, code: 'POSTERN_MEMBER_REVOKED' };
      if (existing !== undefined && existing.ticketHash === secretHash) return { ok: true, member: existing, alreadyMember: true };
      if (now >= t.expiresAt) return { ok: false, code: 'POSTERN_TICKET_EXPIRED' };
      const used = this.q['useTicket']!.run(secretHash);
      if (Number(used.changes) !== 1) return { ok: false, code: 'POSTERN_TICKET_USED' };
      const m: MemberRecord = {
        identifier,
        project: t.project,
        attributes: t.attributes,
        relay: t.relay,
        role: existing?.role === 'admin' ? 'admin' : t.enroller ? 'enroller' : 'member',
        enrolledAt: now,
        revokedAt: null,
        ticketHash: secretHash,
      };
      this.writeMember(m);
      return { ok: true, member: m, alreadyMember: false };
    });
  }

  private writeMember(m: MemberRecord): void {
    this.q['upsertMember']!.run(m.identifier, m.project, JSON.stringify(m.attributes), m.relay, m.role, m.enrolledAt, m.revokedAt, m.ticketHash);
  }

  addMember(m: MemberRecord): void {
    this.writeMember(m);
  }

  getMember(identifier: string): MemberRecord | undefined {
    const r = this.q['getMember']!.get(identifier) as Row | undefined;
    return r === undefined ? undefined : member(r);
  }

  listMembers(): MemberRecord[] {
    return (this.q['listMembers']!.all() as Row[]).map(member);
  }

  revokeMember(identifier: string, now: number): boolean {
    return this.tx(() => {
      const changed = Number(this.q['revokeMember']!.run(now, identifier).changes) === 1;
      this.q['deleteRelaysOf']!.run(identifier);
      return changed;
    });
  }

  claimRelay(name: string, owner: string, now: number): { ok: true } | { ok: false; owner: string } {
    return this.tx(() => {
      const r = this.q['getRelay']!.get(name) as Row | undefined;
      if (r === undefined) {
        this.q['insertRelay']!.run(name, owner, now, now);
        return { ok: true as const };
      }
      if (String(r['owner']) !== owner) return { ok: false as const, owner: String(r['owner']) };
      this.q['touchRelay']!.run(now, name, owner);
      return { ok: true as const };
    });
  }

  getRelay(name: string): RelayRecord | undefined {
    const r = this.q['getRelay']!.get(name) as Row | undefined;
    return r === undefined ? undefined : relay(r);
  }

  listRelays(): RelayRecord[] {
    return (this.q['listRelays']!.all() as Row[]).map(relay);
  }

  releaseRelay(name: string, owner: string): boolean {
    return Number(this.q['releaseRelay']!.run(name, owner).changes) === 1;
  }

  countRelaysOwnedBy(owner: string): number {
    return Number((this.q['countRelays']!.get(owner) as Row)['n']);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

export function openSqliteStore(path: string): SqliteStore {
  return new SqliteStore(path);
}
