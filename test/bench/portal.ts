/**
 * npm run bench [-- --quick] [--json FILE]
 *
 * The same workloads, in one run, through: a direct loopback connection (the
 * reference), `ssh -L` (default cipher and aes128-gcm, when sshd is
 * installed), Snyk Broker (HTTP only, when installed: snyk-broker.ts),
 * three plain Node relays in a row (the floor for three Node processes, see
 * relay-chain.ts) and Postern's full path: client → inlet
 * node → hub → outlet node → target, all real processes on loopback. Prints each figure with its
 * ratio to the direct path of the same run. Not part of `npm test`.
 */
import { cpus } from 'node:os';
import { bulkDown, bulkTarget, bulkUp, connectToFirstByte, cpuSeconds, httpBulkDown, httpBulkUp, httpLoad, httpTarget, memory, report, type BenchRow } from './measure.ts';
import { startPostern } from './setup.ts';
import { sshAvailable, startSsh } from './ssh.ts';
import { startRelayChain } from './relay-chain.ts';
import { snykBrokerAvailable, startSnykBroker } from './snyk-broker.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonFile = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const GiB = 1024 ** 3;
const BULK = quick ? 256 * 1024 ** 2 : GiB;
const LAT_N = quick ? 2000 : 10_000;
const LOAD_N = quick ? 20_000 : 100_000;
const LOAD_C = 256;
/**
 * Every path is warmed up before its request figures, the same way for all:
 * a Node process (the load generator, the relays, Postern's processes)
 * reaches its steady speed only once V8 has optimised the code a request
 * runs, which takes thousands of requests; a hub or an agent runs for days.
 */
const WARM_N = quick ? 2000 : 10_000;
const WARM_MS = 15_000;
const WARM_CONN = quick ? 100 : 500;

const rows: BenchRow[] = [];
const add = (scenario: string, metric: string, value: number, unit: string) => rows.push({ scenario, metric, value, unit });

const cpuNow = (pids: Record<string, number>) => Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));

async function measurePath(name: string, bulkPort: number, httpPort: number, pids?: Record<string, number>): Promise<void> {
  const before = pids ? cpuNow(pids) : {};
  const down = await bulkDown(bulkPort, BULK);
  const up = await bulkUp(bulkPort, BULK);
  if (pids) {
    for (const [k, p] of Object.entries(pids)) {
      add(name, `CPU s/GiB (${k})`, (cpuSeconds(p) - before[k]!) / ((2 * BULK) / GiB), 's');
    }
  }
  add(name, 'bulk down', down / 1e6, 'MB/s');
  add(name, 'bulk up', up / 1e6, 'MB/s');
  await measureRequests(name, httpPort, '/', pids);
}

/** The request figures of one path (latency at c=1, load at c=256, new connections), then its processes' peak RSS. */
async function measureRequests(name: string, port: number, path: string, pids?: Record<string, number>): Promise<void> {
  await httpLoad(port, 1, WARM_N, WARM_MS, path);
  await connectToFirstByte(port, WARM_CONN, path);
  const c1 = await httpLoad(port, 1, LAT_N, 20_000, path);
  add(name, '1 KiB HTTP p50 (c=1)', c1.p50, 'µs');
  add(name, '1 KiB HTTP p99 (c=1)', c1.p99, 'µs');
  const c256 = await httpLoad(port, LOAD_C, LOAD_N, 30_000, path);
  add(name, `req/s (c=${LOAD_C})`, c256.rps, 'req/s');
  add(name, `p99 (c=${LOAD_C})`, c256.p99, 'µs');
  add(name, 'new conn → first byte p50', (await connectToFirstByte(port, quick ? 200 : 1000, path)) / 1000, 'ms');
  if (pids) for (const [k, p] of Object.entries(pids)) add(name, `peak RSS (${k})`, memory(p).hwm / 1024 ** 2, 'MiB');
}

/** Its server refuses request bodies over 10 MiB (413): its upload is measured with one that size. */
const BROKER_MAX_BODY = 10 * 1024 ** 2;

/**
 * Snyk Broker carries HTTP only: bulk down is an HTTP GET of the same size
 * as the others' TCP transfer, bulk up one POST of its largest body.
 */
async function measureBroker(httpPort: number): Promise<void> {
  const name = 'snyk-broker';
  const b = await startSnykBroker(httpPort);
  try {
    const pids = b.pids();
    const before = cpuNow(pids);
    add(name, 'bulk down', (await httpBulkDown(b.port, b.prefix, BULK)) / 1e6, 'MB/s');
    for (const [k, p] of Object.entries(pids)) add(name, `CPU s/GiB down (${k})`, (cpuSeconds(p) - before[k]!) / (BULK / GiB), 's');
    add(name, `bulk up (one ${BROKER_MAX_BODY / 1024 ** 2} MiB POST)`, (await httpBulkUp(b.port, b.prefix, BROKER_MAX_BODY)) / 1e6, 'MB/s');
    await measureRequests(name, b.port, `${b.prefix}/`, pids);
  } finally {
    await b.close();
  }
}

async function main(): Promise<void> {
  const bulk = await bulkTarget();
  const http = await httpTarget();
  console.log(`bench: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, bulk ${BULK / 1024 ** 2} MiB each way`);
  try {
    await measurePath('direct', bulk.port, http.port);
    if (sshAvailable()) {
      const ssh = await startSsh();
      try {
        await measurePath('ssh -L', await ssh.forward(bulk.port), await ssh.forward(http.port));
        await measurePath('ssh -L aes128-gcm', await ssh.forward(bulk.port, 'aes128-gcm@openssh.com'), await ssh.forward(http.port, 'aes128-gcm@openssh.com'));
      } finally {
        await ssh.close();
      }
    } else {
      console.log('ssh -L skipped: install openssh-server (apt-get install openssh-server) to compare');
    }
    if (snykBrokerAvailable()) {
      // A reference that fails is reported, not fatal: the other paths are still measured.
      await measureBroker(http.port).catch((e: unknown) => console.error(`snyk-broker failed: ${e instanceof Error ? e.message : String(e)}`));
    } else console.log('snyk-broker skipped: npm run bench:install-broker to compare (HTTP only; needs Node 24)');
    const chainBulk = await startRelayChain(bulk.port);
    const chainHttp = await startRelayChain(http.port);
    try {
      await measurePath('3 Node relays (no crypto)', chainBulk.port, chainHttp.port);
    } finally {
      chainBulk.close();
      chainHttp.close();
    }
    const p = await startPostern({ bulk: bulk.port, http: http.port });
    try {
      await measurePath('postern', await p.inlet('bulk'), await p.inlet('http'), await p.pids());
    } finally {
      await p.close();
    }
  } finally {
    bulk.server.close();
    http.server.close();
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
