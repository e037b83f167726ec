/**
 * The backend SDK against real processes: a hub and a customer node started
 * with the CLI, a real HTTP server behind the customer's outlets, and the
 * SDK's embedded node in this process. HTTP goes through the dispatcher
 * (no listening socket on the vendor side), through connect() and through
 * on-demand inlets; then every stable error code, and relay-offline once
 * the customer node is stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { fetch, request, type Dispatcher } from 'undici';
import { Project, eventually } from '../helpers/walkthrough-env.ts';
import { cliOk, freePort, listen } from '../helpers/processes.ts';
import { bulkChunk } from '../helpers/servers.ts';
import { startNode, posternCode, SDK_ERROR_CODES, type SdkNode } from '../../vendor-side/index.ts';

const BULK = 100 * 1024 * 1024;
/** Computed once: the server runs in this process too, and must not be the bottleneck. */
const CHUNKS = Array.from({ length: 16 }, (_, i) => bulkChunk(i));
const PULLS = [
  { number: 42, title: 'Fix the flaky deploy', state: 'open' },
  { number: 41, title: 'Add SSO', state: 'open' },
];

/** The customer's private HTTP service: JSON API, echo, a 100 MiB stream, a request that never answers. */
class GitServer {
  server!: HttpServer;
  port = 0;
  connections = 0;
  readonly open = new Set<Socket>();
  hanging: IncomingMessage[] = [];
  hangClosed = 0;
  slowInFlight = 0;
  slowPeak = 0;
  bulkHash: Promise<string> | undefined;

  async start(): Promise<void> {
    this.server = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/api/v3/repos/acme/app/pulls') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(PULLS));
      } else if (url.pathname === '/echo') {
        const parts: Buffer[] = [];
        req.on('data', (d: Buffer) => parts.push(d));
        req.on('end', () => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(parts).toString() }));
        });
      } else if (url.pathname === '/slow') {
        this.slowPeak = Math.max(this.slowPeak, ++this.slowInFlight);
        setTimeout(() => {
          this.slowInFlight--;
          res.end(url.searchParams.get('id') ?? '');
        }, Number(url.searchParams.get('ms') ?? 0));
      } else if (url.pathname === '/bulk') {
        this.bulkHash = new Promise((resolve) => {
          const total = Number(url.searchParams.get('bytes'));
          const hash = createHash('sha256');
          let sent = 0;
          let i = 0;
          const pump = () => {
            while (sent < total) {
              const c = CHUNKS[i++ % CHUNKS.length]!;
              const piece = c.subarray(0, Math.min(c.length, total - sent));
              hash.update(piece);
              sent += piece.length;
              if (!res.write(piece)) return void res.once('drain', pump);
            }
            res.end();
            resolve(hash.digest('hex'));
          };
          pump();
        });
      } else if (url.pathname === '/hang') {
        this.hanging.push(req);
        req.socket.once('close', () => this.hangClosed++);
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    this.server.on('connection', (s: Socket) => {
      this.connections++;
      this.open.add(s);
      s.once('close', () => this.open.delete(s));
    });
    this.port = await listen(this.server as unknown as Server);
  }
}

const git = new GitServer();
const project = new Project();
let sdk: SdkNode;
let customerPid = 0;
/** A self-signed certificate for github.acme.internal, when openssl is there to make one. */
let tlsCert: { cert: string; key: string } | undefined;
let tlsServer: HttpServer | undefined;
/** A target that speaks first, as SMTP or MySQL do: a banner on connect, then the end. */
let banner: Server | undefined;
const dispatchers: Dispatcher[] = [];
const base = 'http://github.acme.internal';

function dispatcher(to = 'git'): Dispatcher {
  const d = sdk.dispatcher({ via: 'acme-relay', to });
  dispatchers.push(d);
  return d;
}

async function closeDispatchers(): Promise<void> {
  await Promise.all(dispatchers.splice(0).map((d) => d.close()));
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return posternCode(e) ?? `not a postern error: ${String(e)}`;
  }
  return 'resolved';
}

async function streamCount(): Promise<number> {
  return (await sdk.node.channelTo('acme-relay')).mux.streamCount;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  await git.start();
  const closedPort = await freePort();
  await project.startHub();
  await project.node('acme', 'acme', ['--attribute', 'customer=acme', '--relay', 'acme-relay'], { git: `127.0.0.1:${git.port}`, refused: `127.0.0.1:${closedPort}` }, 'inlet-from-saas');
  await cliOk(['tcp-outlet', 'create', '--from', 'secret', '--to', `127.0.0.1:${git.port}`, '--allow', 'auditor'], project.env('acme'));
  tlsCert = selfSigned('github.acme.internal');
  if (tlsCert !== undefined) {
    tlsServer = createHttpsServer(tlsCert, (req, res) => res.end(JSON.stringify({ tls: true, url: req.url })));
    const tlsPort = await listen(tlsServer as unknown as Server);
    await cliOk(['tcp-outlet', 'create', '--from', 'git-tls', '--to', `127.0.0.1:${tlsPort}`, '--allow', 'inlet-from-saas'], project.env('acme'));
  }
  banner = createTcpServer((s) => s.end('220 banner ready\r\n'));
  const bannerPort = await listen(banner);
  await cliOk(['tcp-outlet', 'create', '--from', 'banner', '--to', `127.0.0.1:${bannerPort}`, '--allow', 'inlet-from-saas'], project.env('acme'));
  customerPid = project.pid('acme', 'acme');
  const ticket = await project.ticket(['--attribute', 'inlet-from-saas', '--enroller']);
  sdk = await startNode({ home: join(project.root, 'backend'), name: 'backend', ticket, connectTimeoutMs: 5000 });
}, 60_000);

afterAll(async () => {
  if (customerPid && alive(customerPid)) process.kill(customerPid, 'SIGCONT');
  await closeDispatchers().catch(() => {});
  await sdk?.close();
  await project.close();
  git.server?.close();
  tlsServer?.close();
  banner?.close();
});

function selfSigned(name: string): { cert: string; key: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'postern-cert-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name}`, '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('backend SDK', () => {
  it('exports its stable error codes', () => {
    expect(SDK_ERROR_CODES).toEqual(expect.arrayContaining(['POSTERN_RELAY_OFFLINE', 'POSTERN_OUTLET_UNKNOWN', 'POSTERN_POLICY_DENIED', 'POSTERN_TARGET_REFUSED', 'POSTERN_TIMEOUT']));
  });

  it('GETs and POSTs through the dispatcher, over pooled keep-alive streams', async () => {
    const d = dispatcher();
    const before = git.connections;
    const r = await request(`${base}/api/v3/repos/acme/app/pulls`, { dispatcher: d });
    expect(r.statusCode).toBe(200);
    expect(await r.body.json()).toEqual(PULLS);
    for (let i = 0; i < 20; i++) {
      const p = await request(`${base}/echo?i=${i}`, { dispatcher: d, method: 'POST', body: `payload ${i}` });
      expect(await p.body.json()).toEqual({ method: 'POST', url: `/echo?i=${i}`, host: 'github.acme.internal', body: `payload ${i}` });
    }
    // Pooled: undici opens a second connection while it validates the idle one (as over TCP), no more.
    expect(git.connections - before).toBeLessThanOrEqual(2);
    // fetch takes the same dispatcher.
    const f = await fetch(`${base}/echo`, { dispatcher: d, method: 'PUT', body: 'via fetch' });
    expect(await f.json()).toMatchObject({ method: 'PUT', body: 'via fetch' });
  });

  it('runs TLS to an https service inside the portal stream', async (ctx) => {
    if (tlsCert === undefined) return ctx.skip();
    const d = sdk.dispatcher({ via: 'acme-relay', to: 'git-tls', tls: { ca: tlsCert.cert } });
    dispatchers.push(d);
    const r = await request('https://github.acme.internal/api/v3/meta', { dispatcher: d });
    expect(await r.body.json()).toEqual({ tls: true, url: '/api/v3/meta' });
    // The certificate is checked against the URL's host name.
    const wrong = sdk.dispatcher({ via: 'acme-relay', to: 'git-tls', tls: { ca: tlsCert.cert } });
    dispatchers.push(wrong);
    await expect(request('https://ghe.other.internal/', { dispatcher: wrong })).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('streams a 100 MiB response byte-exact', async () => {
    const r = await request(`${base}/bulk?bytes=${BULK}`, { dispatcher: dispatcher() });
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of r.body) {
      bytes += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    expect(bytes).toBe(BULK);
    expect(hash.digest('hex')).toBe(await git.bulkHash);
  });

  it('serves 100 concurrent requests', async () => {
    const d = dispatcher();
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const r = await request(`${base}/slow?ms=500&id=${i}`, { dispatcher: d });
        return { status: r.statusCode, body: await r.body.text() };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
    expect(answers.map((a) => a.body)).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    expect(git.slowPeak).toBe(100); // all in flight at once: 100 streams on the one channel
  });

  it('frees the stream of an aborted request on both sides', async () => {
    await closeDispatchers();
    await eventually(async () => (await streamCount()) === 0, 5000, 20);
    const before = await streamCount();
    const d = dispatcher();
    const ac = new AbortController();
    const hung = git.hanging.length;
    const closed = git.hangClosed;
    const pending = request(`${base}/hang`, { dispatcher: d, signal: ac.signal });
    await eventually(async () => git.hanging.length > hung, 5000, 10);
    expect(await streamCount()).toBe(before + 1);
    ac.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await eventually(async () => (await streamCount()) === before, 5000, 10);
    await eventually(async () => git.hangClosed > closed, 5000, 10);
  });

  it('connects a Duplex for any TCP protocol', async () => {
    const s: Duplex = await sdk.connect({ via: 'acme-relay', to: 'git' });
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    const ended = new Promise((r) => s.once('end', r));
    s.end('GET /api/v3/repos/acme/app/pulls HTTP/1.0\r\nhost: git\r\n\r\n');
    await ended;
    const text = Buffer.concat(got).toString();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual(PULLS);
  });

  it('opens and closes several inlets on demand', async () => {
    const a = await sdk.openInlet({ via: 'acme-relay', to: 'git' });
    const b = await sdk.openInlet({ via: 'acme-relay', to: 'git', listen: '127.0.0.1:0' });
    expect(a.address.port).not.toBe(b.address.port);
    for (const i of [a, b]) {
      const r = await request(`http://127.0.0.1:${i.address.port}/api/v3/repos/acme/app/pulls`, { reset: true });
      expect(await r.body.json()).toEqual(PULLS);
    }
    await a.close();
    await expect(request(`http://127.0.0.1:${a.address.port}/`, { reset: true })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await b.close();
    expect(sdk.node.status().inlets).toEqual([]); // on-demand inlets are not saved as resources
  });

  it('an on-demand inlet reaches a target that speaks first for a client that sends nothing', async () => {
    const inlet = await sdk.openInlet({ via: 'acme-relay', to: 'banner' });
    try {
      const text = await new Promise<string>((resolve, reject) => {
        const s = connect(inlet.address.port, '127.0.0.1');
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString()));
        s.on('end', () => resolve(got));
        s.on('error', reject);
        setTimeout(() => {
          s.destroy();
          reject(new Error(`no banner after 5 s (got ${JSON.stringify(got)})`));
        }, 5000).unref();
      });
      expect(text).toBe('220 banner ready\r\n');
    } finally {
      await inlet.close();
    }
  });

  it('lists the agents online and since when', async () => {
    const agents = await sdk.agents();
    const acme = agents.find((a) => a.relay === 'acme-relay');
    expect(acme).toBeDefined();
    expect(acme!.onlineSince.getTime()).toBeLessThanOrEqual(Date.now());
    expect(acme!.identifier).toMatch(/\S/);
  });

  it('gives OUTLET_UNKNOWN, POLICY_DENIED and TARGET_REFUSED as codes', async () => {
    expect(await codeOf(request(`${base}/`, { dispatcher: dispatcher('nope') }))).toBe('POSTERN_OUTLET_UNKNOWN');
    expect(await codeOf(sdk.connect({ via: 'acme-relay', to: 'nope' }))).toBe('POSTERN_OUTLET_UNKNOWN');
    // The agent's outlet policy (allow: auditor) refuses this node...
    expect(await codeOf(request(`${base}/`, { dispatcher: dispatcher('secret') }))).toBe('POSTERN_POLICY_DENIED');
    // ...and this node's own tcp-inlet check refuses an agent that lacks an attribute.
    expect(await codeOf(sdk.connect({ via: 'acme-relay', to: 'git', allow: 'customer = "globex"' }))).toBe('POSTERN_POLICY_DENIED');
    expect(await codeOf(request(`${base}/`, { dispatcher: dispatcher('refused') }))).toBe('POSTERN_TARGET_REFUSED');
    // fetch wraps errors in TypeError('fetch failed'); posternCode looks through the cause.
    expect(await codeOf(fetch(`${base}/`, { dispatcher: dispatcher('nope') }))).toBe('POSTERN_OUTLET_UNKNOWN');
  });

  it('times out with POSTERN_TIMEOUT when the agent does not answer, and leaves no connection behind', async () => {
    await eventually(async () => git.open.size === 0, 10_000, 20);
    process.kill(customerPid, 'SIGSTOP');
    try {
      const t0 = Date.now();
      expect(await codeOf(sdk.connect({ via: 'acme-relay', to: 'git', connectTimeoutMs: 300 }))).toBe('POSTERN_TIMEOUT');
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await streamCount()).toBe(0);
    } finally {
      process.kill(customerPid, 'SIGCONT');
    }
    // The agent saw OPEN then RESET: the target connection it started must not stay open.
    const r = await request(`${base}/api/v3/repos/acme/app/pulls`, { dispatcher: dispatcher(), reset: true });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    await eventually(async () => git.open.size === 0, 5000, 20);
  });

  it('fails in-flight requests and then answers RELAY_OFFLINE within a bounded time after the agent stops', async () => {
    const d = dispatcher();
    const inflight = codeOf(request(`${base}/hang`, { dispatcher: d }));
    await eventually(async () => git.hanging.length > 0 && (await streamCount()) > 0, 5000, 10);
    process.kill(customerPid, 'SIGTERM');
    await eventually(async () => !alive(customerPid), 10_000, 20);
    const stopped = Date.now();
    expect(await inflight).toBe('POSTERN_CONNECTION_LOST');
    const code = await codeOf(request(`${base}/api/v3/repos/acme/app/pulls`, { dispatcher: d }));
    expect(code).toBe('POSTERN_RELAY_OFFLINE');
    expect(Date.now() - stopped).toBeLessThan(3000);
    expect(await codeOf(sdk.connect({ via: 'acme-relay', to: 'git' }))).toBe('POSTERN_RELAY_OFFLINE');
    expect((await sdk.agents()).map((a) => a.relay)).not.toContain('acme-relay');
  });
});
