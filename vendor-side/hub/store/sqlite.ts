/**
 * The hub store on node:sqlite: one file (0600), WAL journal,
 * synchronous=FULL, foreign keys on, a busy timeout so that concurrent
 * writers wait their turn instead of failing.
 *
 * Every write is one `BEGIN IMMEDIATE … COMMIT` transaction: the write lock is
 * taken before the first read, so a check-then-write (redeeming a ticket,
 * claiming a relay name) cannot interleave with another connection's, whether
 * that connection is in this process, another process or another hub on the
 * same file. Every statement is prepared once and takes bound parameters.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { PosternError } from '../../../protocol/errors.ts';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.ts';
import type { ClaimResult, HubStore, MemberRecord, RedeemResult, RelayRecord, Role, TicketRecord } from './types.ts';

/** Tunables; the defaults are what the hub uses. */
export interface SqliteStoreOptions {
  /** How long a writer waits for another connection's write lock (ms). */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const FILE_MODE = 0o600;
const MEMORY = ':memory:';

// SQLite primary result codes (https://sqlite.org/rescode.html).
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;

type Row = Record<string, unknown>;

interface Statements {
  getMeta: StatementSync;
  setMeta: StatementSync;
  insertTicket: StatementSync;
  getTicket: StatementSync;
  useTicket: StatementSync;
  upsertMember: StatementSync;
  getMember: StatementSync;
  listMembers: StatementSync;
  revokeMember: StatementSync;
  deleteRelaysOf: StatementSync;
  getRelay: StatementSync;
  insertRelay: StatementSync;
  touchRelay: StatementSync;
  listRelays: StatementSync;
  releaseRelay: StatementSync;
  countRelaysOf: StatementSync;
}

function prepareAll(db: DatabaseSync): Statements {
  const p = (sql: string): StatementSync => db.prepare(sql);
  return {
    getMeta: p('SELECT value FROM meta WHERE key = ?'),
    setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    insertTicket: p(
      `INSERT INTO tickets (secret_hash, project, created_at, expires_at, uses_remaining, attributes, relay, enroller, created_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    getTicket: p('SELECT * FROM tickets WHERE secret_hash = ?'),
    useTicket: p('UPDATE tickets SET uses_remaining = uses_remaining - 1 WHERE secret_hash = ? AND uses_remaining > 0'),
    upsertMember: p(
      `INSERT INTO members (identifier, project, attributes, relay, role, enrolled_at, revoked_at, ticket_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (identifier) DO UPDATE SET
         project = excluded.project, attributes = excluded.attributes, relay = excluded.relay, role = excluded.role,
         enrolled_at = excluded.enrolled_at, revoked_at = excluded.revoked_at, ticket_hash = excluded.ticket_hash`,
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
    countRelaysOf: p('SELECT COUNT(*) AS n FROM relays WHERE owner = ?'),
  };
}

// ---- rows → records, defensively -------------------------------------------

function corrupt(what: string): PosternError {
  return new PosternError('POSTERN_STATE_CORRUPT', `the hub store holds a damaged value (${what})`, 'restore the store from a backup');
}

function text(r: Row, k: string): string {
  const v = r[k];
  if (typeof v !== 'string') throw corrupt(k);
  return v;
}

function int(r: Row, k: string): number {
  const v = r[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw corrupt(k);
  return v;
}

function textOrNull(r: Row, k: string): string | null {
  return r[k] === null ? null : text(r, k);
}

function intOrNull(r: Row, k: string): number | null {
  return r[k] === null ? null : int(r, k);
}

/**
 * Attributes are JSON text. Parsed into a null-prototype object keeping only
 * string values; a damaged value yields no attributes (closed by default).
 */
export function parseAttributes(json: unknown): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  if (typeof json !== 'string') return out;
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return out;
  }
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  }
  return out;
}

function role(r: Row): Role {
  const v = text(r, 'role');
  if (v !== 'admin' && v !== 'enroller' && v !== 'member') throw corrupt('role');
  return v;
}

function toTicket(r: Row): TicketRecord {
  return {
    secretHash: text(r, 'secret_hash'),
    project: text(r, 'project'),
    createdAt: int(r, 'created_at'),
    expiresAt: int(r, 'expires_at'),
    usesRemaining: int(r, 'uses_remaining'),
    attributes: parseAttributes(r['attributes']),
    relay: textOrNull(r, 'relay'),
    enroller: int(r, 'enroller') === 1,
    createdBy: text(r, 'created_by'),
  };
}

function toMember(r: Row): MemberRecord {
  return {
    identifier: text(r, 'identifier'),
    project: text(r, 'project'),
    attributes: parseAttributes(r['attributes']),
    relay: textOrNull(r, 'relay'),
    role: role(r),
    enrolledAt: int(r, 'enrolled_at'),
    revokedAt: intOrNull(r, 'revoked_at'),
    ticketHash: textOrNull(r, 'ticket_hash'),
  };
}

function toRelay(r: Row): RelayRecord {
  return { name: text(r, 'name'), owner: text(r, 'owner'), createdAt: int(r, 'created_at'), updatedAt: int(r, 'updated_at') };
}

// ---- errors ------------------------------------------------------------------

function sqliteCode(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const c = (e as { errcode?: unknown }).errcode;
  return typeof c === 'number' ? c : undefined;
}

/** BUSY/LOCKED, as SQLite raised it or as storeError() (e.g. in tx()) already turned it into ours. */
function isBusy(e: unknown): boolean {
  const err = storeError(e);
  return err instanceof PosternError && err.code === 'POSTERN_STORE_BUSY';
}

/** Run `f` again while it fails with BUSY/LOCKED, for up to `timeoutMs`, sleeping a little between tries. */
function retryWhileBusy(timeoutMs: number, f: () => void): void {
  const end = Date.now() + timeoutMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    try {
      f();
      return;
    } catch (e) {
      if (!isBusy(e) || Date.now() >= end) throw e;
      Atomics.wait(nap, 0, 0, Math.min(50, 2 + attempt * 5));
    }
  }
}

/** A lock held past the busy timeout becomes a PosternError; anything else passes through. */
function storeError(e: unknown): unknown {
  const c = sqliteCode(e);
  if (c !== undefined && ((c & 0xff) === SQLITE_BUSY || (c & 0xff) === SQLITE_LOCKED)) {
    return new PosternError(
      'POSTERN_STORE_BUSY',
      'the hub store is locked by another connection',
      'retry; if it persists, check that nothing but hub processes holds the store file open',
      { cause: e },
    );
  }
  return e;
}

// ---- files -------------------------------------------------------------------

/** Create the file 0600 if it does not exist (never truncating one that does). */
function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, 'wx', FILE_MODE));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/** The database and its WAL and shared-memory files are 0600, whatever the umask or a previous owner did. */
function tighten(path: string): void {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, FILE_MODE);
}

// ---- the store ---------------------------------------------------------------

export class SqliteStore implements HubStore {
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly q: Statements;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    const timeout = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    if (!Number.isSafeInteger(timeout) || timeout < 0 || timeout > 0x7fffffff) {
      throw new RangeError('busyTimeoutMs must be an integer number of milliseconds');
    }
    this.path = path;
    const onDisk = path !== MEMORY;
    if (onDisk) createPrivate(path);
    this.db = new DatabaseSync(path, { timeout, enableForeignKeyConstraints: true });
    try {
      this.db.exec('PRAGMA foreign_keys = ON');
      this.db.exec('PRAGMA synchronous = FULL');
      // Switching to WAL and migrating take locks a concurrent opener may hold. SQLite
      // answers BUSY at once, without its busy handler, where waiting could deadlock
      // (e.g. both openers changing the journal mode): those are retried until the timeout.
      retryWhileBusy(timeout, () => {
        this.db.prepare('PRAGMA journal_mode = WAL').get();
        this.migrate();
      });
      this.q = prepareAll(this.db);
    } catch (e) {
      this.db.close();
      throw storeError(e);
    }
    if (onDisk) tighten(path);
  }

  private userVersion(): number {
    const r = this.db.prepare('PRAGMA user_version').get() as Row | undefined;
    return r === undefined ? 0 : int(r, 'user_version');
  }

  private migrate(): void {
    const tooNew = (v: number) =>
      new PosternError('POSTERN_STORE_VERSION', `the hub store has schema version ${v}; this postern knows up to ${SCHEMA_VERSION}`, 'upgrade postern');
    const seen = this.userVersion();
    if (seen > SCHEMA_VERSION) throw tooNew(seen);
    if (seen === SCHEMA_VERSION) return;
    this.tx(() => {
      // Read again under the write lock: another process may have migrated meanwhile.
      const v = this.userVersion();
      if (v > SCHEMA_VERSION) throw tooNew(v);
      for (const m of MIGRATIONS) {
        if (m.version <= v) continue;
        this.db.exec(m.sql);
        if (this.userVersion() !== m.version) throw new Error(`migration ${m.version} did not set user_version`);
      }
    });
  }

  /** One IMMEDIATE transaction: the write lock is held from the first read to the commit. */
  private tx<T>(fn: () => T): T {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      throw storeError(e);
    }
    try {
      const r = fn();
      this.db.exec('COMMIT');
      return r;
    } catch (e) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw storeError(e);
    }
  }

  private memberRow(identifier: string): MemberRecord | undefined {
    const r = this.q.getMember.get(identifier) as Row | undefined;
    return r === undefined ? undefined : toMember(r);
  }

  private writeMember(m: MemberRecord): void {
    this.q.upsertMember.run(m.identifier, m.project, JSON.stringify(m.attributes), m.relay, m.role, m.enrolledAt, m.revokedAt, m.ticketHash);
  }

  getMeta(key: string): string | undefined {
    const r = this.q.getMeta.get(key) as Row | undefined;
    return r === undefined ? undefined : text(r, 'value');
  }

  setMeta(key: string, value: string): void {
    this.tx(() => this.q.setMeta.run(key, value));
  }

  createTicket(t: TicketRecord): void {
    this.tx(() => {
      try {
        this.q.insertTicket.run(
          t.secretHash,
          t.project,
          t.createdAt,
          t.expiresAt,
          t.usesRemaining,
          JSON.stringify(t.attributes),
          t.relay,
          t.enroller ? 1 : 0,
          t.createdBy,
        );
      } catch (e) {
        if (sqliteCode(e) === SQLITE_CONSTRAINT_PRIMARYKEY) {
          throw new PosternError('POSTERN_STORE_CONFLICT', 'a ticket with this secret already exists', 'mint the ticket again (a new secret)');
        }
        throw e;
      }
    });
  }

  getTicket(secretHash: string): TicketRecord | undefined {
    const r = this.q.getTicket.get(secretHash) as Row | undefined;
    return r === undefined ? undefined : toTicket(r);
  }

  redeemTicket(secretHash: string, identifier: string, now: number): RedeemResult {
    return this.tx((): RedeemResult => {
      const tr = this.q.getTicket.get(secretHash) as Row | undefined;
      if (tr === undefined) return { ok: false, code: 'POSTERN_TICKET_UNKNOWN' };
      const t = toTicket(tr);
      const existing = this.memberRow(identifier);
      if (existing !== undefined && existing.revokedAt !== null) return { ok: false, code: 'POSTERN_MEMBER_REVOKED' };
      // Idempotent re-enrollment (a retry after a lost reply, a restarted
      // installer): the membership this ticket granted is returned as it is,
      // even once the ticket is spent or expired; no use is consumed.
      if (existing !== undefined && existing.ticketHash === secretHash) return { ok: true, member: existing, alreadyMember: true };
      if (!(now < t.expiresAt)) return { ok: false, code: 'POSTERN_TICKET_EXPIRED' };
      if (t.usesRemaining <= 0) return { ok: false, code: 'POSTERN_TICKET_USED' };
      // Under the IMMEDIATE lock nothing can have spent the use since the read; the guard in the UPDATE says so anyway.
      if (Number(this.q.useTicket.run(secretHash).changes) !== 1) return { ok: false, code: 'POSTERN_TICKET_USED' };
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

  addMember(m: MemberRecord): void {
    this.tx(() => this.writeMember(m));
  }

  getMember(identifier: string): MemberRecord | undefined {
    return this.memberRow(identifier);
  }

  listMembers(): MemberRecord[] {
    return (this.q.listMembers.all() as Row[]).map(toMember);
  }

  revokeMember(identifier: string, now: number): boolean {
    return this.tx(() => {
      const changed = Number(this.q.revokeMember.run(now, identifier).changes) === 1;
      this.q.deleteRelaysOf.run(identifier);
      return changed;
    });
  }

  claimRelay(name: string, owner: string, now: number): ClaimResult {
    return this.tx((): ClaimResult => {
      // Checked under the same lock as the insert, so a revocation on another
      // hub cannot slip between the caller's membership check and the claim.
      const m = this.memberRow(owner);
      if (m === undefined) throw new PosternError('POSTERN_NOT_A_MEMBER', `${owner} is not a member of the project`, 'enroll the node first');
      if (m.revokedAt !== null) throw new PosternError('POSTERN_MEMBER_REVOKED', `${owner}'s membership was revoked`, 'a revoked identity cannot hold a relay');
      const r = this.q.getRelay.get(name) as Row | undefined;
      if (r === undefined) {
        this.q.insertRelay.run(name, owner, now, now);
        return { ok: true };
      }
      const holder = text(r, 'owner');
      if (holder !== owner) return { ok: false, owner: holder };
      this.q.touchRelay.run(now, name, owner);
      return { ok: true };
    });
  }

  getRelay(name: string): RelayRecord | undefined {
    const r = this.q.getRelay.get(name) as Row | undefined;
    return r === undefined ? undefined : toRelay(r);
  }

  listRelays(): RelayRecord[] {
    return (this.q.listRelays.all() as Row[]).map(toRelay);
  }

  releaseRelay(name: string, owner: string): boolean {
    return this.tx(() => Number(this.q.releaseRelay.run(name, owner).changes) === 1);
  }

  countRelaysOwnedBy(owner: string): number {
    const r = this.q.countRelaysOf.get(owner) as Row | undefined;
    return r === undefined ? 0 : int(r, 'n');
  }

  /** Idempotent. */
  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/**
 * Open (creating it 0600 if new) and migrate the store at `path`
 * (`:memory:` for a throwaway store in tests).
 */
export function openSqliteStore(path: string, options?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, options);
}
