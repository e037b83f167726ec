/**
 * npm run bench:agent [-- --runs N]
 *
 * The branded agent as a customer gets it: builds initech-agent from the
 * sample brand (pinned to a fresh local hub), then, N times each, measures
 * the time from spawning the binary to its "relay … ready" log line:
 *   - first start: enrolls with a new ticket (one hub round trip more);
 *   - restart: already enrolled, the ticket is not used again.
 * Prints the binary's size, the bundle's size, the build time and the
 * startup figures (median, min, max). Real processes on loopback, with
 * `env -i` and no Node.js on PATH. Not part of `npm test`.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { cliOk, freePort, LongRunning, postern, ROOT } from '../helpers/processes.ts';
import { loadBrandFile } from '../../vendor-side/provisioning/brand.ts';
import { buildAgent, hostTarget } from '../../vendor-side/provisioning/build.ts';

const args = process.argv.slice(2);
const RUNS = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 10;

const root = mkdtempSync(join(tmpdir(), 'postern-agent-bench-'));
const env = { POSTERN_HOME: join(root, 'vendor') };
let hub: LongRunning | undefined;

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const median = s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return `median ${median.toFixed(0)} ms (min ${s[0]!.toFixed(0)}, max ${s[s.length - 1]!.toFixed(0)}, n=${s.length})`;
}

async function startToRelayReady(bin: string, home: string, extra: string[]): Promise<number> {
  const t0 = performance.now();
  const p = new LongRunning('env', ['-i', 'PATH=/nonexistent', `INITECH_AGENT_HOME=${home}`, bin, 'up', ...extra, '--variable', 'SAAS_LISTEN=127.0.0.1:0'], {});
  try {
    await p.waitFor(/initech-agent relay \S+ ready/, 30_000);
    return performance.now() - t0;
  } finally {
    await p.stop();
  }
}

try {
  const hubPort = await freePort();
  const info = JSON.parse(await cliOk(['hub', 'init', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${hubPort}`, '--json'], env)) as { hubIdentifier: string; authorityIdentifier: string };
  const doc = parseDocument(readFileSync(join(ROOT, 'templates/brand.sample.yaml'), 'utf8'));
  doc.setIn(['hub', 'routes'], doc.createNode([`tcp:127.0.0.1:${hubPort}`]));
  doc.setIn(['hub', 'identifier'], info.hubIdentifier);
  doc.setIn(['hub', 'authority'], info.authorityIdentifier);
  writeFileSync(join(root, 'brand.yaml'), doc.toString());
  const t0 = performance.now();
  const built = await buildAgent({ brand: loadBrandFile(join(root, 'brand.yaml')), out: join(root, 'dist'), targets: [hostTarget()] });
  const buildMs = performance.now() - t0;
  const bin = built.binaries[0]!.path;
  hub = postern(['hub', 'start', '--dir', join(root, 'hub')], env);
  await hub.waitFor(/listening on/);

  const first: number[] = [];
  const restart: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const relay = `bench-${i}`;
    const ticket = (await cliOk(['ticket', 'create', '--attribute', 'inlet-to-saas', '--relay', relay], env)).trim();
    const home = join(root, `agent-${i}`);
    first.push(await startToRelayReady(bin, home, ['--ticket', ticket]));
    restart.push(await startToRelayReady(bin, home, []));
  }
  const size = statSync(bin).size;
  console.log(`initech-agent (${hostTarget()}, Node ${process.versions.node} base, ${new Date().toISOString().slice(0, 10)})`);
  console.log(`| measure | value |`);
  console.log(`|---|---|`);
  console.log(`| binary size | ${(size / 2 ** 20).toFixed(1)} MiB (${size} bytes) |`);
  console.log(`| bundle (agent/ + protocol/ + deps) | ${(built.bundleBytes / 1024).toFixed(0)} KiB, ${Object.keys(built.metafile.inputs).length} files |`);
  console.log(`| build time (bundle, blob, inject, hash) | ${(buildMs / 1000).toFixed(1)} s |`);
  console.log(`| start → relay ready, first start (enrolls) | ${stats(first)} |`);
  console.log(`| start → relay ready, restart (enrolled) | ${stats(restart)} |`);
} finally {
  await hub?.stop();
  rmSync(root, { recursive: true, force: true });
}
