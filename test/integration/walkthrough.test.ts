/**
 * The walk-through of ARCHITECTURE.md with real processes: a hub, the vendor
 * node (saas.yaml), ACME's node (customer.yaml with --variable), real HTTP
 * and TCP targets, real clients through the inlets; then a second customer
 * that must be refused, ticket reuse, no plaintext at the hub, and a 200 MiB
 * byte-exact transfer while another stream keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { cli, cliOk, freePort, postern, type LongRunning } from '../helpers/processes.ts';
import { bulkService, echoService, httpService, scanningProxy } from '../helpers/servers.ts';

const MARKER = 'PLAINTEXT-MARKER-7c1e0f3a9b';
const BULK = 200 * 1024 * 1024;

let root: string;
let hub: LongRunning;
const homes: Record<string, string> = {};
const env = (who: string) => ({ POSTERN_HOME: homes[who]! });
const cleanups: (() => Promise<void> | void)[] = [];

async function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const r = await request(`http://127.0.0.1:${port}${path}`, { headersTimeout: 15_000, bodyTimeout: 15_000 });
  return { status: r.statusCode, body: await r.body.text() };
}

function tcpRoundTrip(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('connect', () => s.end(data));
    s.on('close', () => resolve(got));
    s.on('error', reject);
    setTimeout(() => reject(new Error('tcp round trip timed out')), 15_000).unref();
  });
}

/** Connect and read until close; resolves with what arrived (empty when refused). */
function readAll(port: number, timeoutMs = 15_000): Promise<{ bytes: number; hash: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const h = createHash('sha256');
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      h.update(d);
    });
    s.on('close', () => resolve({ bytes, hash: h.digest('hex') }));
    s.on('error', () => {});
    setTimeout(() => reject(new Error('read timed out')), timeoutMs).unref();
  });
}

async function inlet(who: string, via: string, to: string): Promise<number> {
  const out = await cliOk(['tcp-inlet', 'create', '--from', '127.0.0.1:0', '--via', via, '--to', to, '--json'], env(who));
  return Number((JSON.parse(out) as { from: string }).from.split(':').pop());
}

let github: { port: number };
let saas: { port: number };
let jira: { port: number };
let bulk: Awaited<ReturnType<typeof bulkService>>;
let proxy: Awaited<ReturnType<typeof scanningProxy>>;
let customerInletPort: number;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'postern-walk-'));
  for (const who of ['vendor', 'acme', 'globex', 'other']) homes[who] = join(root, who);
  const gh = await httpService('github');
  const sa = await httpService('saas');
  const ji = await echoService();
  bulk = await bulkService(BULK);
  github = gh;
  saas = sa;
  jira = ji;
  cleanups.push(() => void gh.server.close(), () => void sa.server.close(), () => void ji.server.close(), () => void bulk.server.close());

  // The hub listens on hubPort; every node reaches it through a proxy that scans for the marker.
  const hubPort = await freePort();
  proxy = await scanningProxy(hubPort, Buffer.from(MARKER));
  cleanups.push(() => void proxy.server.close());
  await cliOk(['hub', 'init', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${proxy.port}`, '--name', 'initech'], env('vendor'));
  hub = postern(['hub', 'start', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${hubPort}`], env('vendor'));
  await hub.waitFor(/listening on/);
  cleanups.push(() => hub.stop());
}, 120_000);

afterAll(async () => {
  for (const who of Object.keys(homes)) await cli(['node', 'delete', '--all'], env(who)).catch(() => {});
  for (const c of cleanups.reverse()) await c();
  rmSync(root, { recursive: true, force: true });
});

describe('walk-through', () => {
  it('enrolls the vendor node from saas.yaml and ACME from customer.yaml', async () => {
    const saasTicket = (
      await cliOk(
        ['ticket', 'create', '--expires-in', '24h', '--usage-count', '1', '--attribute', 'outlet-to-saas', '--attribute', 'inlet-from-saas', '--relay', 'saas-relay', '--enroller'],
        env('vendor'),
      )
    ).trim();
    expect(saasTicket).toMatch(/^pstn1_[A-Za-z0-9_-]+$/);
    writeFileSync(join(root, 'saas.ticket'), `${saasTicket}\n`);
    writeFileSync(
      join(root, 'saas.yaml'),
      `relay: saas-relay\ntcp-outlet:\n  from: saas\n  to: 127.0.0.1:${saas.port}\n  allow: inlet-to-saas\npolicy:\n  resource-type: tcp-inlet\n  allow: outlet-from-saas\n`,
    );
    await cliOk(['node', 'create', join(root, 'saas.yaml'), '--enrollment-ticket', join(root, 'saas.ticket'), '--name', 'saas'], env('vendor'));

    const acmeTicket = (
      await cliOk(['ticket', 'create', '--expires-in', '24h', '--usage-count', '1', '--attribute', 'inlet-to-saas', '--attribute', 'outlet-from-saas', '--relay', 'acme-relay'], env('vendor'))
    ).trim();
    writeFileSync(join(root, 'acme.ticket'), acmeTicket);
    customerInletPort = await freePort();
    writeFileSync(
      join(root, 'customer.yaml'),
      [
        'relay: $RELAY',
        'tcp-inlet:',
        `  from: 127.0.0.1:\${INLET_PORT}`,
        '  via: saas-relay',
        '  to: saas',
        '  allow: outlet-to-saas',
        'tcp-outlet:',
        '  from: github',
        '  to: $GITHUB_ADDRESS',
        '  allow: inlet-from-saas',
        'policy:',
        '  resource-type: tcp-outlet',
        '  allow: inlet-from-saas',
        '',
      ].join('\n'),
    );
    const out = await cliOk(
      [
        'node', 'create', join(root, 'customer.yaml'), '--enrollment-ticket', join(root, 'acme.ticket'), '--name', 'acme',
        '--variable', 'RELAY=acme-relay', '--variable', `GITHUB_ADDRESS=127.0.0.1:${github.port}`, '--variable', `INLET_PORT=${customerInletPort}`, '--json',
      ],
      env('acme'),
    );
    const status = JSON.parse(out) as { relays: { name: string; ready: boolean }[]; connected: boolean };
    expect(status.connected).toBe(true);
    expect(status.relays).toEqual([{ name: 'acme-relay', ready: true }]);
    await cliOk(['tcp-outlet', 'create', '--from', 'jira', '--to', `127.0.0.1:${jira.port}`], env('acme'));
    await hub.waitFor(/relay acme-relay created/);
  });

  it('lets the vendor reach ACME\'s github and jira through on-demand inlets', async () => {
    const gh = await inlet('vendor', 'acme-relay', 'github');
    const r = await httpGet(gh, `/api/v3/repos?marker=${MARKER}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ service: 'github', url: `/api/v3/repos?marker=${MARKER}` });
    const ji = await inlet('vendor', 'acme-relay', 'jira');
    expect(await tcpRoundTrip(ji, `hello jira ${MARKER}`)).toBe(`hello jira ${MARKER}`);
  });

  it('lets ACME reach only the vendor\'s saas outlet', async () => {
    const r = await httpGet(customerInletPort, `/ping?${MARKER}`);
    expect(JSON.parse(r.body)).toMatchObject({ service: 'saas' });
    // ACME has no inlet-from-saas: the vendor's saas node exposes nothing else, and an unknown outlet is refused.
    const other = await inlet('acme', 'saas-relay', 'github');
    expect((await readAll(other)).bytes).toBe(0);
  });

  it('refuses another customer: no takeover of acme-relay, no access to ACME\'s outlets', async () => {
    const t = (await cliOk(['ticket', 'create', '--attribute', 'inlet-to-saas', '--attribute', 'outlet-from-saas', '--relay', 'globex-relay'], env('vendor'))).trim();
    await cliOk(['node', 'create', '--enrollment-ticket', t, '--name', 'globex'], env('globex'));
    const take = await cli(['relay', 'create', 'acme-relay'], env('globex'));
    expect(take.code).not.toBe(0);
    expect(take.stderr).toMatch(/may not create relay acme-relay/);
    expect(take.stderr).toMatch(/POSTERN_RELAY_FORBIDDEN/);
    const gh = await inlet('globex', 'acme-relay', 'github');
    expect((await readAll(gh)).bytes).toBe(0);
    const log = readFileSync(join(homes['globex']!, 'nodes', 'globex', 'node.log'), 'utf8');
    expect(log).toMatch(/acme-relay\/github refused: policy denied/);
    // ACME's relay still answers the vendor.
    const v = await inlet('vendor', 'acme-relay', 'github');
    expect((await httpGet(v)).status).toBe(200);
  });

  it('refuses a used ticket with a clear reason', async () => {
    const r = await cli(['node', 'create', '--enrollment-ticket', join(root, 'acme.ticket'), '--name', 'again'], env('other'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/POSTERN_TICKET_USED/);
    const bad = await cli(['node', 'create', '--enrollment-ticket', 'pstn1_notaticket', '--name', 'bad'], env('other'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/POSTERN_TICKET_(DAMAGED|MALFORMED)/);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('carries 200 MiB byte-exact while another stream on the same channel keeps answering', async () => {
    const b = await cliOk(['tcp-outlet', 'create', '--from', 'bulk', '--to', `127.0.0.1:${bulk.port}`], env('acme'));
    expect(b).toMatch(/bulk/);
    const bulkInlet = await inlet('vendor', 'acme-relay', 'bulk');
    const gh = await inlet('vendor', 'acme-relay', 'github');
    let answered = 0;
    let done = false;
    const transfer = readAll(bulkInlet, 240_000).finally(() => (done = true));
    while (!done && answered < 2000) {
      const r = await httpGet(gh, '/during-bulk');
      expect(r.status).toBe(200);
      answered++;
    }
    const got = await transfer;
    expect(got.bytes).toBe(BULK);
    expect(got.hash).toBe(await bulk.sentHash);
    expect(answered).toBeGreaterThan(0);
  }, 300_000);

  it('never showed the hub a plaintext marker', () => {
    expect(proxy.bytes()).toBeGreaterThan(BULK);
    expect(proxy.seen()).toBe(false);
  });
});
