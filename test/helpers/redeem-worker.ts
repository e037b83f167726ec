/**
 * A second (third, fourth …) hub for the store's concurrency and crash tests.
 *
 * As a child process, run with the pinned Node:
 *   redeem PATH IDENTIFIER HASH…  print `ready`, wait for a line on stdin,
 *                                 then redeem each ticket hash in order and
 *                                 print the results as one JSON line.
 *   open PATH                     print `ready`, wait for a line, open (and
 *                                 migrate) the store, print `opened`.
 *   crash PATH HASH IDENTIFIER    redeem HASH for IDENTIFIER (committed), then
 *                                 begin a transaction, write enough to spill
 *                                 uncommitted pages into the WAL, print
 *                                 `in-transaction` and wait to be killed.
 *
 * As a worker thread (workerData: { path, identifier, hashes, gate }), post
 * `ready`, block on the shared gate until the test opens it, then redeem and
 * post the results: a real race between two connections of one process.
 */
import { DatabaseSync } from 'node:sqlite';
import { createInterface } from 'node:readline';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { openSqliteStore } from '../../vendor-side/hub/store/index.ts';

export interface RedeemOutcome {
  ok: boolean;
  code: string | null;
  alreadyMember: boolean;
}

export interface RedeemWorkerData {
  path: string;
  identifier: string;
  hashes: string[];
  /** Int32Array over a SharedArrayBuffer; the workers start when [0] becomes 1. */
  gate: Int32Array;
}

function redeemAll(path: string, identifier: string, hashes: string[], now: number): RedeemOutcome[] {
  const store = openSqliteStore(path);
  try {
    return hashes.map((h) => {
      const r = store.redeemTicket(h, identifier, now);
      return r.ok ? { ok: true, code: null, alreadyMember: r.alreadyMember } : { ok: false, code: r.code, alreadyMember: false };
    });
  } finally {
    store.close();
  }
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** Resolves on the first line of stdin: the common start signal. */
function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', () => {
      rl.close();
      process.stdin.destroy(); // nothing more to read; let the process exit when done
      resolve();
    });
  });
}

function crash(path: string, hash: string, identifier: string): void {
  const committed = redeemAll(path, identifier, [hash], nowSeconds());
  process.stdout.write(`${JSON.stringify(committed)}\n`);
  const db = new DatabaseSync(path);
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA cache_size = 16'); // pages: a small cache spills dirty pages into the WAL before COMMIT
  db.exec('BEGIN IMMEDIATE');
  db.prepare('UPDATE tickets SET uses_remaining = 0').run();
  db.prepare(
    `INSERT INTO members (identifier, project, attributes, relay, role, enrolled_at, revoked_at, ticket_hash)
     VALUES (?, ?, '{}', NULL, 'admin', 1, NULL, NULL)`,
  ).run('I-uncommitted', 'P-uncommitted');
  const meta = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  const filler = 'x'.repeat(1000);
  for (let i = 0; i < 2000; i++) meta.run(`uncommitted-${i}`, filler);
  process.stdout.write('in-transaction\n');
  setInterval(() => {}, 60_000); // hold the transaction open until SIGKILL
}

async function main(argv: string[]): Promise<void> {
  const [cmd, path, ...rest] = argv;
  if (path === undefined) throw new Error('usage: redeem-worker (redeem|open|crash) PATH …');
  if (cmd === 'redeem') {
    const [identifier, ...hashes] = rest;
    if (identifier === undefined || hashes.length === 0) throw new Error('usage: redeem PATH IDENTIFIER HASH…');
    process.stdout.write('ready\n');
    await waitForGo();
    process.stdout.write(`${JSON.stringify(redeemAll(path, identifier, hashes, nowSeconds()))}\n`);
  } else if (cmd === 'open') {
    process.stdout.write('ready\n');
    await waitForGo();
    openSqliteStore(path).close();
    process.stdout.write('opened\n');
  } else if (cmd === 'crash') {
    const [hash, identifier] = rest;
    if (hash === undefined || identifier === undefined) throw new Error('usage: crash PATH HASH IDENTIFIER');
    crash(path, hash, identifier);
  } else {
    throw new Error(`unknown command ${String(cmd)}`);
  }
}

if (!isMainThread && parentPort !== null) {
  const d = workerData as RedeemWorkerData;
  parentPort.postMessage('ready');
  Atomics.wait(d.gate, 0, 0);
  parentPort.postMessage(redeemAll(d.path, d.identifier, d.hashes, nowSeconds()));
} else {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
