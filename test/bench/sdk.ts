/**
 * npm run bench:sdk [-- --quick] [--json FILE]
 *
 * HTTP through the backend SDK: requests per second and p50/p99 latency of
 * a 1 KiB GET, sequential (c=1), concurrent (c=64) and on a new connection
 * each time, through
 *   - direct:     undici → target (the reference),
 *   - inlet:      undici → sdk.openInlet() listener → portal → target,
 *   - dispatcher: undici with sdk.dispatcher() → portal → target (no socket on the vendor side).
 * The hub and the customer node are real processes (CLI); the SDK node runs
 * in this process, beside the client, as in a backend. Bounded in count and
 * time. Not part of `npm test`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { cli, cliOk, freePort, postern } from '../helpers/processes.ts';
import { httpTarget, report } from './measure.ts';
import { startNode, type SdkNode } from '../../vendor-side/index.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonFile = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const SEQ_N = quick ? 1000 : 5000;
const LOAD_N = quick ? 10_000 : 50_000;
const LOAD_C = 64;
const NEW_N = quick ? 200 : 1000;
const MAX_MS = quick ? 5_000 : 15_000;

interface Row {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
}
const rows: Row[] = [];
const add = (scenario: string, metric: string, value: number, unit: string) => rows.push({ scenario, metric, value, unit });

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** `concurrency` workers issue GETs until `maxRequests` or `maxMs`; latencies in µs. */
async function load(url: string, dispatcher: Dispatcher, concurrency: number, maxRequests: number, maxMs: number, reset = false): Promise<{ rps: number; p50: number; p99: number }> {
  const lat: number[] = [];
  const start = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < maxRequests && performance.now() - start < maxMs) {
      issued++;
      const t = performance.now();
      const r = await request(url, { dispatcher, reset });
      await r.body.arrayBuffer();
      lat.push((performance.now() - t) * 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: lat.length / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function measure(name: string, url: string, makeDispatcher: (connections: number) => Dispatcher): Promise<void> {
  const one = makeDispatcher(1);
  await load(url, one, 1, 100, MAX_MS); // warm up: channel, pool, JIT
  const c1 = await load(url, one, 1, SEQ_N, MAX_MS);
  add(name, 'p50 (c=1)', c1.p50, 'µs');
  add(name, 'p99 (c=1)', c1.p99, 'µs');
  add(name, 'req/s (c=1)', c1.rps, 'req/s');
  await one.close();
  const many = makeDispatcher(LOAD_C);
  const cN = await load(url, many, LOAD_C, LOAD_N, MAX_MS);
  add(name, `req/s (c=${LOAD_C})`, cN.rps, 'req/s');
  add(name, `p50 (c=${LOAD_C})`, cN.p50, 'µs');
  add(name, `p99 (c=${LOAD_C})`, cN.p99, 'µs');
  await many.close();
  const fresh = makeDispatcher(1);
  const nc = await load(url, fresh, 1, NEW_N, MAX_MS, true);
  add(name, 'new connection p50', nc.p50, 'µs');
  add(name, 'new connection p99', nc.p99, 'µs');
  await fresh.close();
}

const agentOptions = (connections: number) => ({ connections, pipelining: 1, keepAliveTimeout: 30_000 });

async function main(): Promise<void> {
  const http = await httpTarget();
  const root = mkdtempSync(join(tmpdir(), 'postern-bench-sdk-'));
  const vendor = { POSTERN_HOME: join(root, 'vendor') };
  const customer = { POSTERN_HOME: join(root, 'customer') };
  const hubPort = await freePort();
  await cliOk(['hub', 'init', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${hubPort}`], vendor);
  const hub = postern(['hub', 'start', '--dir', join(root, 'hub')], vendor);
  let sdk: SdkNode | undefined;
  console.log(`bench:sdk: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, 1 KiB GET${quick ? ' (quick)' : ''}`);
  try {
    await hub.waitFor(/listening on/);
    const ct = (await cliOk(['ticket', 'create', '--attribute', 'customer', '--relay', 'customer-relay'], vendor)).trim();
    await cliOk(['node', 'create', '--enrollment-ticket', ct, '--name', 'customer'], customer);
    await cliOk(['relay', 'create', 'customer-relay'], customer);
    await cliOk(['tcp-outlet', 'create', '--from', 'http', '--to', `127.0.0.1:${http.port}`, '--allow', 'vendor'], customer);
    const vt = (await cliOk(['ticket', 'create', '--attribute', 'vendor'], vendor)).trim();
    sdk = await startNode({ home: join(root, 'backend'), name: 'backend', ticket: vt });
    const node = sdk;

    await measure('direct', `http://127.0.0.1:${http.port}/`, (c) => new Agent(agentOptions(c)));
    const inlet = await node.openInlet({ via: 'customer-relay', to: 'http' });
    await measure('inlet', `http://127.0.0.1:${inlet.address.port}/`, (c) => new Agent(agentOptions(c)));
    await inlet.close();
    await measure('dispatcher', 'http://service.customer.internal/', (c) => node.dispatcher({ via: 'customer-relay', to: 'http', agent: agentOptions(c) }));
  } finally {
    await sdk?.close();
    await cli(['node', 'delete', '--all'], customer);
    await hub.stop();
    http.server.close();
    rmSync(root, { recursive: true, force: true });
  }
  report(rows, jsonFile);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
