/**
 * A child process for store tests: `redeem PATH HASH ID` prints the result
 * of one redemption; `crash PATH` opens a transaction, writes, and waits to
 * be killed before it commits.
 */
import { openSqliteStore } from '../../vendor-side/hub/store/index.ts';
import { DatabaseSync } from 'node:sqlite';

const [cmd, path, hash, id] = process.argv.slice(2);
if (cmd === 'redeem') {
  const s = openSqliteStore(path!);
  // Line up with the other workers, then race.
  const at = Number(process.env['START_AT'] ?? 0);
  while (Date.now() < at) {
    /* spin until the common start */
  }
  const r = s.redeemTicket(hash!, id!, Math.floor(Date.now() / 1000));
  process.stdout.write(`${JSON.stringify({ ok: r.ok, code: r.ok ? null : r.code })}\n`);
  s.close();
} else if (cmd === 'crash') {
  openSqliteStore(path!).close();
  const db = new DatabaseSync(path!);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;');
  db.exec('BEGIN IMMEDIATE');
  db.exec("UPDATE tickets SET uses_remaining = 0");
  db.exec("INSERT INTO members (identifier, project, attributes, relay, role, enrolled_at, revoked_at, ticket_hash) VALUES ('I" + '0'.repeat(40) + "', 'P', '{}', NULL, 'member', 1, NULL, NULL)");
  process.stdout.write('in-transaction\n');
  setInterval(() => {}, 1000);
}
