/**
 * The white-labelled agent end to end, with real processes: build
 * initech-agent from the sample brand (once), serve it from the hub's
 * install port, install it with `curl … | sh` into a temporary prefix in an
 * environment with no Node.js on PATH (`env -i`), and complete the
 * walk-through through it: the vendor reaches ACME's "github" outlet. Then a
 * restart with the same ticket (never redeemed again), tickets from another
 * authority or hub (refused), and a tampered download (refused).
 *
 * The binary's size and its time from start to "relay ready" are printed
 * (README, "The branded agent"); no timing is asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { parseDocument } from 'yaml';
import { cli, cliOk, freePort, listen, LongRunning, postern, ROOT } from '../helpers/processes.ts';
import { echoService, httpService } from '../helpers/servers.ts';
import { roundTrip } from '../helpers/walkthrough-env.ts';
import { decodeTicket, encodeTicket } from '../../protocol/ticket/ticket.ts';
import type { Manifest } from '../../vendor-side/provisioning/build.ts';

const BINARY = 'initech-agent';
/** The tools install.sh uses, and nothing else: in particular no node. */
const TOOLS = ['sh', 'curl', 'uname', 'mktemp', 'sha256sum', 'mkdir', 'chmod', 'cp', 'mv', 'rm', 'id'];

let root: string;
let dist: string;
let prefix: string;
let tools: string;
let agentHome: string;
let hub: LongRunning;
let agent: LongRunning | undefined;
let manifest: Manifest;
let installPort = 0;
let hubPort = 0;
let saasListen = 0;
let hubInfo: { project: string; hubIdentifier: string; authorityIdentifier: string };
let acmeTicket = '';
let installLine = '';
const homes: Record<string, string> = {};
const env = (who: string) => ({ POSTERN_HOME: homes[who]! });
const cleanups: (() => unknown)[] = [];
let github: { port: number };
let jira: { port: number };
const measured: Record<string, string> = {};

/** A PATH of symlinks to TOOLS only. */
function toolDir(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const t of TOOLS) {
    const found = execFileSync('/bin/sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim();
    symlinkSync(found, join(dir, t));
  }
  return dir;
}

/** The agent's environment: `env -i` with only these. */
function bareEnv(extra: Record<string, string> = {}): string[] {
  return [`PATH=${tools}`, `HOME=${join(root, 'acme-user')}`, `INITECH_AGENT_HOME=${agentHome}`, ...Object.entries(extra).map(([k, v]) => `${k}=${v}`)];
}

function runBare(args: string[], extra: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('env', ['-i', ...bareEnv(extra), join(prefix, 'bin', BINARY), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${port}${path}`, { headersTimeout: 15_000, bodyTimeout: 15_000 });
  return { status: r.statusCode, body: await r.body.text() };
}

async function vendorInlet(to: string): Promise<number> {
  const out = await cliOk(['tcp-inlet', 'create', '--from', '127.0.0.1:0', '--via', 'acme-relay', '--to', to, '--json'], env('vendor'));
  return Number((JSON.parse(out) as { from: string }).from.split(':').pop());
}

function agentPid(): number {
  return Number(readFileSync(join(agentHome, 'nodes', BINARY, 'node.pid'), 'utf8'));
}

async function stopAgent(): Promise<void> {
  if (agent === undefined) return;
  const exited = new Promise<void>((r) => (agent!.child.exitCode !== null ? r() : agent!.child.once('exit', () => r())));
  try {
    process.kill(agentPid(), 'SIGTERM');
  } catch {
    /* gone */
  }
  await exited;
  agent = undefined;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'postern-agent-'));
  for (const who of ['vendor']) homes[who] = join(root, who);
  dist = join(root, 'dist');
  prefix = join(root, 'prefix');
  agentHome = join(root, 'acme-state');
  tools = toolDir(join(root, 'tools'));
  const gh = await httpService('github');
  const sa = await httpService('saas');
  const ji = await echoService();
  github = gh;
  jira = ji;
  cleanups.push(() => gh.server.close(), () => sa.server.close(), () => ji.server.close());

  hubPort = await freePort();
  installPort = await freePort();
  saasListen = await freePort();
  hubInfo = JSON.parse(await cliOk(['hub', 'init', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${hubPort}`, '--name', 'initech', '--json'], env('vendor')));

  // The sample brand, pinned to this hub and served from its install port.
  const doc = parseDocument(readFileSync(join(ROOT, 'templates/brand.sample.yaml'), 'utf8'));
  doc.setIn(['hub', 'routes'], doc.createNode([`tcp:127.0.0.1:${hubPort}`]));
  doc.setIn(['hub', 'identifier'], hubInfo.hubIdentifier);
  doc.setIn(['hub', 'authority'], hubInfo.authorityIdentifier);
  doc.setIn(['install', 'url'], `http://127.0.0.1:${installPort}`);
  writeFileSync(join(root, 'brand.yaml'), doc.toString());
  const t0 = performance.now();
  manifest = JSON.parse(await cliOk(['agent', 'build', '--brand', join(root, 'brand.yaml'), '--out', dist, '--json'], env('vendor'))) as Manifest;
  measured['build'] = `${((performance.now() - t0) / 1000).toFixed(1)} s`;

  hub = postern(['hub', 'start', '--dir', join(root, 'hub'), '--install-listen', `127.0.0.1:${installPort}`, '--artifacts', dist], env('vendor'));
  cleanups.push(() => hub.stop());
  await hub.waitFor(/install: serving/);

  // The vendor's node, as in the walk-through.
  const saasTicket = (await cliOk(['ticket', 'create', '--attribute', 'outlet-to-saas', '--attribute', 'inlet-from-saas', '--relay', 'saas-relay', '--enroller'], env('vendor'))).trim();
  writeFileSync(join(root, 'saas.yaml'), `relay: saas-relay\ntcp-outlet:\n  from: saas\n  to: 127.0.0.1:${sa.port}\n  allow: inlet-to-saas\npolicy:\n  resource-type: tcp-inlet\n  allow: outlet-from-saas\n`);
  await cliOk(['node', 'create', join(root, 'saas.yaml'), '--enrollment-ticket', saasTicket, '--name', 'saas'], env('vendor'));
}, 150_000);

afterAll(async () => {
  await stopAgent().catch(() => {});
  for (const who of Object.keys(homes)) await cli(['node', 'delete', '--all'], env(who)).catch(() => {});
  for (const c of cleanups.reverse()) await c();
  const sizes = manifest?.files.filter((f) => f.kind === 'binary').map((f) => `${f.target} ${(f.size / 2 ** 20).toFixed(1)} MiB`);
  console.log(`initech-agent: ${sizes?.join(', ')}; ${Object.entries(measured).map(([k, v]) => `${k} ${v}`).join('; ')}`);
  rmSync(root, { recursive: true, force: true });
});

describe('branded agent binary', () => {
  it('is built from the sample brand: one executable, rendered templates, SHA256SUMS', () => {
    const names = manifest.files.map((f) => f.name).sort();
    expect(names).toEqual(['README.md', 'SHA256SUMS', 'customer.yaml', `${BINARY}-linux-x64`, `${BINARY}.service`, 'install.sh'].sort());
    const sums = readFileSync(join(dist, 'SHA256SUMS'), 'utf8');
    const bin = manifest.files.find((f) => f.kind === 'binary')!;
    expect(sums).toContain(`${bin.sha256}  ${BINARY}-linux-x64`);
    expect(statSync(join(dist, `${BINARY}-linux-x64`)).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(dist, 'install.sh'), 'utf8')).toContain(bin.sha256);
    expect(existsSync(join(dist, '.build'))).toBe(false);
  });

  it('is served by the hub with its SHA-256, and nothing else is', async () => {
    const bin = manifest.files.find((f) => f.kind === 'binary')!;
    const head = await request(`http://127.0.0.1:${installPort}/${bin.name}`, { method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['x-checksum-sha256']).toBe(bin.sha256);
    expect(Number(head.headers['content-length'])).toBe(bin.size);
    await head.body.dump();
    const script = await httpGet(installPort, '/install.sh');
    expect(script.status).toBe(200);
    expect(script.body).toBe(readFileSync(join(dist, 'install.sh'), 'utf8'));
    expect((await httpGet(installPort, '/manifest.json')).status).toBe(404);
    expect((await httpGet(installPort, '/../hub/vault.json')).status).toBe(404);
    const post = await request(`http://127.0.0.1:${installPort}/install.sh`, { method: 'POST', body: 'x' });
    expect(post.statusCode).toBe(405);
    await post.body.dump();
  });

  it('ticket create --install-command prints the customer\'s one line', async () => {
    installLine = (
      await cliOk(['ticket', 'create', '--expires-in', '24h', '--usage-count', '1', '--attribute', 'inlet-to-saas', '--attribute', 'outlet-from-saas', '--relay', 'acme-relay', '--install-command'], env('vendor'))
    ).trim();
    expect(installLine).toMatch(new RegExp(`^curl -fsSL http://127\\.0\\.0\\.1:${installPort}/install\\.sh \\| sh -s -- --ticket pstn1_[A-Za-z0-9_-]+$`));
    acmeTicket = installLine.split(' --ticket ')[1]!;
  });

  it('installs with that line where there is no node, connects, and the vendor reaches "github"', async () => {
    const noNode = spawnSync('env', ['-i', `PATH=${tools}`, 'sh', '-c', 'command -v node || echo no-node'], { encoding: 'utf8' });
    expect(noNode.stdout.trim()).toBe('no-node');
    const extra = ['--prefix', prefix, '--variable', `GITHUB_ADDRESS=127.0.0.1:${github.port}`, '--variable', `SAAS_LISTEN=127.0.0.1:${saasListen}`];
    const started = performance.now();
    agent = new LongRunning('env', ['-i', ...bareEnv(), 'sh', '-c', `${installLine} ${extra.join(' ')}`], {});
    await agent.waitFor(/Initech Agent connected to Initech/, 60_000);
    measured['install+enroll'] = `${Math.round(performance.now() - started)} ms`;
    const out = agent.output;
    const stamp = (re: RegExp) => Date.parse(out.match(re)![1]!);
    measured['start→relay ready (enrolling)'] = `${stamp(/(\S+) initech-agent relay acme-relay ready/) - stamp(/(\S+) initech-agent Initech Agent \S+ starting/)} ms`;
    expect(out).toMatch(/SHA-256 checked: [0-9a-f]{64}/);
    expect(out).toMatch(/systemd is not running here, or this is not root/);
    expect(out).toMatch(/initech-agent enrolled as I[0-9a-f]{40}/);
    expect(out).toMatch(/initech-agent relay acme-relay ready/);
    expect(out).toMatch(/relay acme-relay ready; outlets github → 127\.0\.0\.1:\d+, jira → jira\.local:443/);
    expect(existsSync(join(prefix, 'bin', BINARY))).toBe(true);

    const gh = await vendorInlet('github');
    const r = await httpGet(gh, '/api/v3/repos/acme/app/pulls');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ service: 'github', url: '/api/v3/repos/acme/app/pulls' });
    // ACME reaches the vendor's saas outlet through the built-in config's inlet.
    expect(JSON.parse((await httpGet(saasListen, '/ping')).body)).toMatchObject({ service: 'saas' });
  });

  it('manages its outlets and reports its status from the binary', async () => {
    const c = runBare(['tcp-outlet', 'create', '--from', 'jira', '--to', `127.0.0.1:${jira.port}`]);
    expect(c.stderr).toBe('');
    expect(c.stdout).toMatch(/tcp-outlet jira → 127\.0\.0\.1:\d+/);
    const ji = await vendorInlet('jira');
    expect(await roundTrip(ji, 'hello jira')).toBe('hello jira');
    const s = runBare(['status', '--json']);
    expect(s.code).toBe(0);
    const st = JSON.parse(s.stdout) as { running: boolean; connected: boolean; relays: unknown[]; outlets: { name: string }[]; lastError: unknown };
    expect(st).toMatchObject({ running: true, connected: true, relays: [{ name: 'acme-relay', ready: true }] });
    expect(st.outlets.map((o) => o.name).sort()).toEqual(['github', 'jira']);
    expect(runBare(['status']).stdout).toMatch(/^Initech Agent: running \(pid \d+\), connected to Initech/);
    expect(runBare(['tcp-outlet', 'list']).stdout).toMatch(/github → .*\njira → /);
    const d = runBare(['tcp-outlet', 'delete', 'nope']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/POSTERN_OUTLET_UNKNOWN/);
  });

  it('restarts with the same ticket without redeeming it again', async () => {
    const before = JSON.parse(runBare(['status', '--json']).stdout) as { identifier: string };
    await stopAgent();
    expect(JSON.parse(runBare(['status', '--json']).stdout)).toMatchObject({ running: false, enrolled: true });
    // Re-run as a customer would, with the inlet moved: the old inlet must not linger.
    const oldListen = saasListen;
    saasListen = await freePort();
    const started = performance.now();
    agent = new LongRunning('env', ['-i', ...bareEnv(), join(prefix, 'bin', BINARY), 'up', '--ticket', acmeTicket, '--variable', `GITHUB_ADDRESS=127.0.0.1:${github.port}`, '--variable', `SAAS_LISTEN=127.0.0.1:${saasListen}`], {});
    await agent.waitFor(/initech-agent relay acme-relay ready/, 30_000);
    measured['start→relay ready (enrolled)'] = `${Math.round(performance.now() - started)} ms`;
    await agent.waitFor(/Initech Agent connected/, 30_000);
    expect(agent.output).not.toMatch(/enrolled as/);
    const after = JSON.parse(runBare(['status', '--json']).stdout) as { identifier: string; inlets: { from: string }[] };
    expect(after.identifier).toBe(before.identifier);
    expect(after.inlets.map((i) => i.from)).toEqual([`127.0.0.1:${saasListen}`]);
    expect(oldListen).not.toBe(saasListen);
    expect(JSON.parse((await httpGet(saasListen, '/ping')).body)).toMatchObject({ service: 'saas' });
    // The ticket allowed one use; the hub saw exactly one enrollment by this identity.
    expect(hub.output.match(new RegExp(`node ${after.identifier} enrolled`, 'g'))?.length).toBe(1);
    const gh = await vendorInlet('github');
    expect((await httpGet(gh)).status).toBe(200);
  });

  it('refuses a ticket naming another authority or hub, before dialling anything', () => {
    const real = decodeTicket(acmeTicket);
    const fresh = join(root, 'other-state');
    const otherAuthority = encodeTicket({ ...real, authorityPublicKey: randomBytes(32) });
    const a = runBare(['up', '--ticket', otherAuthority], { INITECH_AGENT_HOME: fresh });
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/names authority I[0-9a-f]{40}, not Initech's authority/);
    expect(a.stderr).toMatch(/POSTERN_TICKET_UNTRUSTED/);
    const otherHub = encodeTicket({ ...real, hubPublicKey: randomBytes(32) });
    const h = runBare(['up', '--ticket', otherHub], { INITECH_AGENT_HOME: fresh });
    expect(h.stderr).toMatch(/names hub I[0-9a-f]{40}, not Initech's hub/);
    expect(h.stderr).not.toMatch(/\n\s+at /);
  });

  it('carries the brand in help, version and the service unit', () => {
    const help = runBare(['--help']);
    expect(help.stdout).toMatch(/^Initech Agent 0\.\d+\.\d+: connects Initech/);
    expect(help.stdout).toContain('INITECH_AGENT_HOME');
    expect(runBare(['up', '--help']).stdout).toMatch(/GITHUB_ADDRESS\s+your GitHub Enterprise server/);
    expect(runBare(['version']).stdout).toMatch(/^initech-agent \S+ \(Initech Agent by Initech; Postern agent on Node v24\./);
    const dry = runBare(['service', 'install', '--dry-run', '--ticket', acmeTicket]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(`ExecStart=${join(prefix, 'bin', BINARY)} up`);
    expect(dry.stdout).toContain('/etc/systemd/system/initech-agent.service');
    expect(dry.stdout).toContain('run systemctl enable --now initech-agent.service');
    const bad = runBare(['bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command "bogus"/);
  });

  it('refuses a download whose SHA-256 does not match and installs nothing', async () => {
    const evil = createServer((_req, res) => res.end('#!/bin/sh\necho tampered\n'));
    const port = await listen(evil as never);
    try {
      const p = join(root, 'prefix-tampered');
      // Not spawnSync: the server answering the download runs in this process.
      const r = new LongRunning('env', ['-i', `PATH=${tools}`, 'sh', join(dist, 'install.sh'), '--prefix', p, '--base-url', `http://127.0.0.1:${port}`, '--no-start'], {});
      const status = await new Promise<number | null>((res) => r.child.once('exit', (code) => res(code)));
      expect(status).toBe(1);
      const stderr = r.output;
      expect(stderr).toMatch(/SHA-256 is [0-9a-f]{64}, not [0-9a-f]{64}: it was damaged or altered; nothing was installed/);
      expect(existsSync(join(p, 'bin', BINARY))).toBe(false);
    } finally {
      evil.close();
    }
  });
});
