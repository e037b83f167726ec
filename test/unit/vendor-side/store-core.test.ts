/**
 * The hub store on node:sqlite: atomic redemption across connections and
 * processes, relay ownership, revocation, 0600 files, and a crash mid-write.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { openSqliteStore, type TicketRecord } from '../../../vendor-side/hub/store/index.ts';
import { NODE, ROOT } from '../../helpers/processes.ts';

const NOW = 1_800_000_000;
const id = (n: number) => `I${n.toString(16).padStart(40, '0')}`;
let dir: string;
let path: string;

function ticket(over: Partial<TicketRecord> = {}): TicketRecord {
  return { secretHash: 'h1', project: 'P1', createdAt: NOW, expiresAt: NOW + 3600, usesRemaining: 1, attributes: { a: 'true' }, relay: 'acme-relay', enroller: false, createdBy: id(0), ...over };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'postern-store-'));
  path = join(dir, 'hub.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite store', () => {
  it('redeems a single-use ticket once, idempotently for the same identity', () => {
    const s = openSqliteStore(path);
    s.createTicket(ticket());
    const r1 = s.redeemTicket('h1', id(1), NOW);
    expect(r1).toMatchObject({ ok: true, alreadyMember: false, member: { identifier: id(1), relay: 'acme-relay', role: 'member', attributes: { a: 'true' } } });
    expect(s.redeemTicket('h1', id(1), NOW)).toMatchObject({ ok: true, alreadyMember: true });
    expect(s.redeemTicket('h1', id(2), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_USED' });
    expect(s.redeemTicket('nope', id(3), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_UNKNOWN' });
    s.createTicket(ticket({ secretHash: 'h2', expiresAt: NOW }));
    expect(s.redeemTicket('h2', id(3), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_EXPIRED' });
    s.createTicket(ticket({ secretHash: 'h3', usesRemaining: 3 }));
    const wins = [4, 5, 6, 7].map((n) => s.redeemTicket('h3', id(n), NOW).ok);
    expect(wins).toEqual([true, true, true, false]);
    s.close();
  });

  it('lets exactly one of two connections, and one of four processes, redeem a single-use ticket', async () => {
    const a = openSqliteStore(path);
    const b = openSqliteStore(path);
    a.createTicket(ticket());
    const rs = [a.redeemTicket('h1', id(1), NOW), b.redeemTicket('h1', id(2), NOW)];
    expect(rs.filter((r) => r.ok).length).toBe(1);
    a.createTicket(ticket({ secretHash: 'race', expiresAt: Math.floor(Date.now() / 1000) + 3600 }));
    a.close();
    b.close();
    const startAt = Date.now() + 1500;
    const outs = await Promise.all(
      [10, 11, 12, 13].map(
        (n) =>
          new Promise<string>((resolve) => {
            const c = spawn(NODE, [`${ROOT}test/helpers/store-worker.ts`, 'redeem', path, 'race', id(n)], { env: { ...process.env, START_AT: String(startAt) } });
            let out = '';
            c.stdout.on('data', (d: Buffer) => (out += d.toString()));
            c.on('close', () => resolve(out));
          }),
      ),
    );
    const results = outs.map((o) => JSON.parse(o) as { ok: boolean; code: string | null });
    expect(results.filter((r) => r.ok).length).toBe(1);
    expect(results.filter((r) => r.code === 'POSTERN_TICKET_USED').length).toBe(3);
  }, 30_000);

  it('gives a relay name to one identity, refuses a takeover, frees it on release and revocation', () => {
    const s = openSqliteStore(path);
    s.createTicket(ticket());
    s.redeemTicket('h1', id(1), NOW);
    s.createTicket(ticket({ secretHash: 'h2' }));
    s.redeemTicket('h2', id(2), NOW);
    expect(s.claimRelay('acme-relay', id(1), NOW)).toEqual({ ok: true });
    expect(s.claimRelay('acme-relay', id(1), NOW + 1)).toEqual({ ok: true });
    expect(s.claimRelay('acme-relay', id(2), NOW)).toEqual({ ok: false, owner: id(1) });
    expect(s.countRelaysOwnedBy(id(1))).toBe(1);
    expect(s.revokeMember(id(1), NOW)).toBe(true);
    expect(s.getRelay('acme-relay')).toBeUndefined();
    expect(s.claimRelay('acme-relay', id(2), NOW)).toEqual({ ok: true });
    expect(s.releaseRelay('acme-relay', id(2))).toBe(true);
    s.createTicket(ticket({ secretHash: 'h9' }));
    expect(s.redeemTicket('h9', id(1), NOW)).toEqual({ ok: false, code: 'POSTERN_MEMBER_REVOKED' });
    s.close();
  });

  it('keeps its files 0600 and its data across close and reopen', () => {
    const s = openSqliteStore(path);
    s.setMeta('project', 'P1');
    s.createTicket(ticket());
    s.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = openSqliteStore(path);
    expect(again.getMeta('project')).toBe('P1');
    expect(again.getTicket('h1')?.usesRemaining).toBe(1);
    again.close();
  });

  it('survives a crash mid-write: the uncommitted transaction is gone, committed redemptions stay', async () => {
    const s = openSqliteStore(path);
    s.createTicket(ticket());
    s.createTicket(ticket({ secretHash: 'h2', usesRemaining: 5 }));
    expect(s.redeemTicket('h1', id(1), NOW).ok).toBe(true);
    s.close();
    const child = spawn(NODE, [`${ROOT}test/helpers/store-worker.ts`, 'crash', path]);
    await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const after = openSqliteStore(path);
    expect(after.getTicket('h1')?.usesRemaining).toBe(0);
    expect(after.getTicket('h2')?.usesRemaining).toBe(5);
    expect(after.getMember(id(1))?.identifier).toBe(id(1));
    expect(after.getMember(`I${'0'.repeat(40)}`)).toBeUndefined();
    expect(after.redeemTicket('h1', id(2), NOW)).toEqual({ ok: false, code: 'POSTERN_TICKET_USED' });
    after.close();
  }, 30_000);
});
