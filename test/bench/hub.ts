/**
 * node test/bench/hub.ts [--quick] [--json FILE]
 *
 * The hub alone, as a real process started through the CLI, on loopback:
 *   - link handshakes per second: clients in worker processes open a TCP
 *     connection, complete the Noise XX link handshake, close, and again;
 *     reported per wall-clock second and per second of hub CPU (one core),
 *     each handshake presenting an attestation the hub has not seen (as
 *     after a restart), then per hub CPU-second for a node reconnecting
 *     with the attestation the hub verified before;
 *   - memory with idle agents: simulated nodes in worker processes, each
 *     with its own identity and link, enrolled with a ticket and sending the
 *     node's keepalives; the hub's RSS at two populations and per agent.
 * Not part of `npm test`.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cliOk, freePort, NODE } from '../helpers/processes.ts';
import { cpuSeconds, memory, report, type BenchRow } from './measure.ts';
import { nextMessage, type AgentsGrown, type HandshakeDone, type HandshakeRun } from './hub-shared.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonFile = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

const HANDSHAKES = quick ? 3_000 : 20_000;
const HANDSHAKE_MS = quick ? 5_000 : 15_000;
const WARMUP = { max: 500, ms: 2_000 };
const HANDSHAKE_WORKERS = Math.min(4, Math.max(2, availableParallelism()));
/** Per worker, each worker from its own source address: well under the hub's 64 unauthenticated per address. */
const HANDSHAKE_IN_FLIGHT = 16;
const TIERS = quick ? [200, 1_000] : [1_000, 10_000];
const AGENT_WORKERS = 4;
/** 4 workers × 12 connecting agents, all from 127.0.0.1: under the 64 unauthenticated per address. */
const AGENT_IN_FLIGHT = 12;
/** The node's default keepalive (agent/node/hub-client.ts). */
const KEEPALIVE_MS = 10_000;
const SETTLE_MS = 2_000;
/** The most enrollments one ticket allows. */
const TICKET_USES = 1_000;
/** Sockets, the store, stdio and the listener besides the links. */
const FD_MARGIN = 100;
const DEADLINE_MS = quick ? 55_000 : 170_000;
const MiB = 1024 ** 2;
const TARGET_PER_CPU_S = 1_000;
const TARGET_RSS_10K = 1024 * MiB;

const rows: BenchRow[] = [];
const add = (metric: string, value: number, unit: string) => rows.push({ scenario: 'hub', metric, value, unit });
const notes: string[] = [];
const problems: string[] = [];
const started: ChildProcess[] = [];
const root = mkdtempSync(join(tmpdir(), 'postern-hub-bench-'));
const env = { POSTERN_HOME: join(root, 'admin') };
const hubDir = join(root, 'hub');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
let lastHubLog: string | undefined;

// ---- the hub process --------------------------------------------------------

interface HubProcess {
  child: ChildProcess;
  pid: number;
  log: string;
}

/** `postern hub start`, its log in a file: a pipe read by this process would compete for the CPU. */
async function startHub(n: number): Promise<HubProcess> {
  const log = join(root, `hub-${n}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(NODE, [CLI, 'hub', 'start', '--dir', hubDir], { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  started.push(child);
  lastHubLog = log;
  const until = performance.now() + 30_000;
  while (!readFileSync(log, 'utf8').includes('listening on')) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the hub exited at start:\n${readFileSync(log, 'utf8')}`);
    if (performance.now() > until) throw new Error(`the hub did not listen within 30 s:\n${readFileSync(log, 'utf8')}`);
    await sleep(50);
  }
  return { child, pid: child.pid!, log };
}

/** Figures from a hub that died would be /proc errors; say what happened instead. */
function assertRunning(hub: HubProcess): void {
  if (hub.child.exitCode !== null || hub.child.signalCode !== null) {
    throw new Error(`the hub exited (${hub.child.signalCode ?? hub.child.exitCode}) during the bench`);
  }
}

async function stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(t);
}

/** The soft limit on open files: a process at its limit fails accept() or connect() with EMFILE. */
function maxOpenFiles(pid: number): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m === null || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function countLines(file: string, needle: string): number {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.includes(needle)).length;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- workers ------------------------------------------------------------------

async function startWorkers(file: string, argsOf: (i: number) => string[], n: number): Promise<ChildProcess[]> {
  const workers = Array.from({ length: n }, (_, i) => {
    const w = fork(new URL(file, import.meta.url), argsOf(i), { execPath: NODE, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    started.push(w);
    return w;
  });
  await Promise.all(workers.map((w) => nextMessage(w, 'ready', 30_000)));
  return workers;
}

async function mintTickets(count: number, uses: number): Promise<string[]> {
  const mint = async () => (await cliOk(['ticket', 'create', '--usage-count', String(uses), '--expires-in', '1h', '--attribute', 'bench'], env)).trim();
  const tickets: string[] = [];
  // A few at a time: each is a CLI process and a link to the hub.
  while (tickets.length < count) {
    tickets.push(...(await Promise.all(Array.from({ length: Math.min(4, count - tickets.length) }, mint))));
  }
  return tickets;
}

// ---- handshakes ---------------------------------------------------------------

async function handshakeRound(workers: ChildProcess[], max: number, ms: number, attestation: HandshakeRun['attestation']): Promise<HandshakeDone> {
  const replies = workers.map((w) => nextMessage<HandshakeDone>(w, 'done', ms + 30_000));
  const run: HandshakeRun = { type: 'run', max: Math.ceil(max / workers.length), ms, attestation };
  for (const w of workers) w.send(run);
  const all = await Promise.all(replies);
  return {
    type: 'done',
    established: all.reduce((s, r) => s + r.established, 0),
    failed: all.reduce((s, r) => s + r.failed, 0),
    firstError: all.find((r) => r.firstError !== null)?.firstError ?? null,
  };
}

async function benchHandshakes(hub: HubProcess, ticket: string): Promise<void> {
  const workers = await startWorkers('./hub-handshake-worker.ts', (i) => [ticket, `127.0.0.${2 + i}`, String(HANDSHAKE_IN_FLIGHT)], HANDSHAKE_WORKERS);
  // Untimed first: the hub's JIT and the workers' warm up.
  const warm = await handshakeRound(workers, WARMUP.max, WARMUP.ms, 'fresh');
  const logBefore = statSync(hub.log).size;
  const workersCpu = () => workers.reduce((s, w) => s + cpuSeconds(w.pid!), 0);
  const timed = async (attestation: HandshakeRun['attestation']) => {
    const cpu0 = cpuSeconds(hub.pid);
    const wcpu0 = workersCpu();
    const t0 = performance.now();
    const r = await handshakeRound(workers, HANDSHAKES, HANDSHAKE_MS, attestation);
    const secs = (performance.now() - t0) / 1000;
    assertRunning(hub);
    return { r, secs, cpu: cpuSeconds(hub.pid) - cpu0, wcpu: workersCpu() - wcpu0 };
  };
  // Every attestation new to the hub (its signature verified each time), then a node's one attestation again and again.
  const fresh = await timed('fresh');
  const known = await timed('known');
  await Promise.all(workers.map((w) => stop(w)));
  const { r, secs, cpu, wcpu } = fresh;
  add('handshakes/s (wall)', r.established / secs, 'handshakes/s');
  add('handshakes per hub CPU-second', r.established / cpu, 'handshakes/CPU-s');
  add('hub CPU during handshakes', (100 * cpu) / secs, '% of a core');
  add('handshakes per hub CPU-second, node reconnecting', known.r.established / known.cpu, 'handshakes/CPU-s');
  notes.push(
    `handshakes: ${HANDSHAKE_WORKERS} workers × ${HANDSHAKE_IN_FLIGHT} in flight, each worker from its own source address, each handshake with an attestation the hub had not seen; ` +
      `${fmt(r.established)} in ${secs.toFixed(1)} s, hub CPU ${cpu.toFixed(2)} s, clients' CPU ${wcpu.toFixed(2)} s (after ${fmt(warm.established)} untimed)`,
  );
  notes.push(
    `node reconnecting (its one attestation, which the hub verified before): ${fmt(known.r.established)} in ${known.secs.toFixed(1)} s, hub CPU ${known.cpu.toFixed(2)} s`,
  );
  const all = warm.established + r.established + known.r.established;
  const hubLogged = (statSync(hub.log).size - logBefore) / Math.max(1, r.established + known.r.established);
  notes.push(`hub log: ${hubLogged.toFixed(0)} bytes per handshake (a line when the link is established, one when it closes)`);
  const failed = warm.failed + r.failed + known.r.failed;
  if (failed > 0) problems.push(`${fmt(failed)} handshakes failed, first: ${warm.firstError ?? r.firstError ?? known.r.firstError}`);
  // Clients count at message 3; the hub's own log says whether it completed them too.
  const hubSide = countLines(hub.log, ' established (');
  if (hubSide < all) problems.push(`the hub logged ${fmt(hubSide)} established links for ${fmt(all)} client handshakes`);
}

// ---- idle agents --------------------------------------------------------------

/** Refuse, with the numbers, a population the processes cannot hold. */
function checkFileLimits(hub: HubProcess, workers: ChildProcess[], agents: number): void {
  const hubMax = maxOpenFiles(hub.pid);
  if (hubMax < agents + FD_MARGIN) {
    throw new Error(`the hub may open ${hubMax} files, too few for ${fmt(agents)} agents (needs about ${fmt(agents + FD_MARGIN)}): raise it with ulimit -n`);
  }
  const per = agents / workers.length;
  for (const w of workers) {
    const max = maxOpenFiles(w.pid!);
    if (max < per + FD_MARGIN) throw new Error(`a worker may open ${max} files, too few for ${fmt(per)} agents: raise it with ulimit -n`);
  }
}

async function grow(workers: ChildProcess[], agents: number): Promise<AgentsGrown> {
  const per = agents / workers.length;
  const replies = workers.map((w) => nextMessage<AgentsGrown>(w, 'grown', 30_000 + agents * 20));
  for (const w of workers) w.send({ type: 'grow', target: per });
  const all = await Promise.all(replies);
  const sum = (k: 'enrolled' | 'failed' | 'dropped') => all.reduce((s, r) => s + r[k], 0);
  return { type: 'grown', enrolled: sum('enrolled'), failed: sum('failed'), dropped: sum('dropped'), firstError: all.find((r) => r.firstError !== null)?.firstError ?? null };
}

async function benchAgents(hub: HubProcess, tickets: string[]): Promise<void> {
  const most = TIERS[TIERS.length - 1]!;
  const per = most / AGENT_WORKERS;
  const workers = await startWorkers(
    './hub-agents-worker.ts',
    (i) => [String(i * per), String(TICKET_USES), String(KEEPALIVE_MS), String(AGENT_IN_FLIGHT), ...tickets],
    AGENT_WORKERS,
  );
  await sleep(SETTLE_MS);
  const base = memory(hub.pid);
  add('RSS, no agents', base.rss / MiB, 'MiB');
  notes.push(
    `agents: ${AGENT_WORKERS} workers × up to ${fmt(per)} agents, each with its own identity and TCP connection, ` +
      `enrolled with a ticket, keepalive every ${KEEPALIVE_MS / 1000} s; at most ${AGENT_IN_FLIGHT} connecting per worker`,
  );
  let last = { agents: 0, rss: base.rss };
  for (const agents of TIERS) {
    checkFileLimits(hub, workers, agents);
    const t0 = performance.now();
    const g = await grow(workers, agents);
    const secs = (performance.now() - t0) / 1000;
    if (g.failed > 0) problems.push(`${fmt(g.failed)} agents failed to connect or enroll, first: ${g.firstError}`);
    if (g.dropped > 0) problems.push(`${fmt(g.dropped)} enrolled agents lost their link`);
    await sleep(SETTLE_MS);
    assertRunning(hub);
    const m = memory(hub.pid);
    add(`RSS, ${fmt(agents)} idle agents`, m.rss / MiB, 'MiB');
    notes.push(`${fmt(agents)} agents: ${fmt(g.enrolled)} enrolled (${secs.toFixed(1)} s to connect and enroll), hub holds ${fmt(openFiles(hub.pid))} fds`);
    last = { agents: g.enrolled, rss: m.rss };
  }
  if (last.agents > 0) add('RSS per idle agent', (last.rss - base.rss) / last.agents / 1024, 'KiB');
  add('peak RSS (VmHWM)', memory(hub.pid).hwm / MiB, 'MiB');
  // Idle is not free: one keepalive period of pings and answers.
  const cpu0 = cpuSeconds(hub.pid);
  const t0 = performance.now();
  await sleep(quick ? 5_000 : KEEPALIVE_MS);
  add(`hub CPU, ${fmt(last.agents)} idle agents`, (100 * (cpuSeconds(hub.pid) - cpu0)) / ((performance.now() - t0) / 1000), '% of a core');
}

// ---- run ----------------------------------------------------------------------

async function run(): Promise<void> {
  const port = await freePort();
  await cliOk(['hub', 'init', '--dir', hubDir, '--listen', `127.0.0.1:${port}`], env);
  let hub = await startHub(1);
  const most = TIERS[TIERS.length - 1]!;
  const tickets = await mintTickets(Math.ceil(most / TICKET_USES), Math.min(TICKET_USES, most));
  const [handshakeTicket] = await mintTickets(1, HANDSHAKE_WORKERS);
  await benchHandshakes(hub, handshakeTicket!);
  // A fresh hub for the memory figures: what the handshakes left in its heap is not the agents'.
  await stop(hub.child);
  hub = await startHub(2);
  await benchAgents(hub, tickets);
}

async function teardown(): Promise<void> {
  // Workers first: a hub stopping under connected agents would only see them reconnect.
  await Promise.all(started.filter((c) => c.connected).map((c) => stop(c, 'SIGKILL')));
  await Promise.all(started.map((c) => stop(c)));
  rmSync(root, { recursive: true, force: true });
}

const watchdog = setTimeout(() => {
  console.error(`hub bench: not done after ${DEADLINE_MS / 1000} s; stopping`);
  void teardown().finally(() => process.exit(1));
}, DEADLINE_MS);
try {
  await run();
} catch (e) {
  problems.push(e instanceof Error ? e.message : String(e));
  if (lastHubLog !== undefined) console.error(`hub log, last lines:\n${readFileSync(lastHubLog, 'utf8').split('\n').slice(-20).join('\n')}`);
} finally {
  await teardown();
  clearTimeout(watchdog);
}

report(rows, jsonFile);
for (const n of notes) console.log(n);
const perCpu = rows.find((r) => r.metric === 'handshakes per hub CPU-second')?.value;
const rssMost = rows.find((r) => r.metric === `RSS, ${fmt(TIERS[TIERS.length - 1]!)} idle agents`)?.value;
console.log(
  `targets: ≥ ${fmt(TARGET_PER_CPU_S)} handshakes per hub CPU-second (${perCpu === undefined ? 'not measured' : perCpu >= TARGET_PER_CPU_S ? 'met' : 'MISSED'}); ` +
    `10,000 idle agents ≤ ${TARGET_RSS_10K / MiB} MiB RSS (${quick ? 'not measured with --quick' : rssMost === undefined ? 'not measured' : rssMost * MiB <= TARGET_RSS_10K ? 'met' : 'MISSED'})`,
);
for (const p of problems) console.error(`error: ${p}`);
if (problems.length > 0) process.exitCode = 1;
