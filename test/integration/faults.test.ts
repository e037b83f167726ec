/**
 * Faults with real processes: a refusing target, an agent restart, a silent
 * (SIGSTOPped) peer, a hub killed with SIGKILL and restarted, credential
 * refresh across expiry, and revocation. Bounds are stated in each test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { cli, cliOk, freePort } from '../helpers/processes.ts';
import { echoService } from '../helpers/servers.ts';
import { eventually, openLong, Project, roundTrip } from '../helpers/walkthrough-env.ts';

const KEEPALIVE_MS = 500;
let p: Project;
let echo: Awaited<ReturnType<typeof echoService>>;
let inletEcho: number;
/** A target that speaks first, as SMTP or MySQL do: a banner on connect, then an echo. */
let banner: Server;
let inletBanner: number;

async function works(port: number): Promise<boolean> {
  return (await roundTrip(port, 'ping', 3000)) === 'ping';
}

beforeAll(async () => {
  echo = await echoService();
  banner = createServer((s) => {
    s.on('error', () => {});
    s.end('220 banner ready\r\n');
  });
  await new Promise<void>((r) => banner.listen(0, '127.0.0.1', r));
  p = new Project({ POSTERN_KEEPALIVE_MS: String(KEEPALIVE_MS) });
  await p.startHub(['--credential-ttl', '12']);
  await p.node('vendor', 'vendor', ['--attribute', 'vendor', '--relay', 'vendor-relay']);
  const closedPort = await freePort();
  await p.node('acme', 'acme', ['--attribute', 'customer=acme', '--relay', 'acme-relay'], { echo: `127.0.0.1:${echo.port}`, down: `127.0.0.1:${closedPort}`, banner: `127.0.0.1:${(banner.address() as AddressInfo).port}` }, 'vendor');
  inletEcho = await p.inlet('vendor', 'vendor', 'acme-relay', 'echo');
  inletBanner = await p.inlet('vendor', 'vendor', 'acme-relay', 'banner');
  expect(await works(inletEcho)).toBe(true);
}, 120_000);

afterAll(async () => {
  banner?.close();
  await p?.close();
  echo?.server.close();
});

describe('faults', () => {
  it('a refusing target closes the client with the reason logged; the outlet keeps serving', async () => {
    const down = await p.inlet('vendor', 'vendor', 'acme-relay', 'down');
    expect(await roundTrip(down, 'hello')).toBe('');
    expect(p.log('acme', 'acme')).toMatch(/outlet down: target 127\.0\.0\.1:\d+ refused: ECONNREFUSED/);
    expect(p.log('vendor', 'vendor')).toMatch(/acme-relay\/down refused: target .* refused/);
    expect(await works(inletEcho)).toBe(true);
  });

  it('a target that speaks first reaches a client that sends nothing (the inlet announces the stream by itself)', async () => {
    // The inlet holds a stream's OPEN until its first bytes or the next turn: here no bytes ever come.
    const got = await new Promise<string>((resolve, reject) => {
      const c = connect(inletBanner, '127.0.0.1');
      let text = '';
      c.on('data', (d) => (text += d.toString()));
      c.on('end', () => resolve(text));
      c.on('error', reject);
      setTimeout(() => reject(new Error(`no banner after 5 s (got ${JSON.stringify(text)})`)), 5000).unref();
    });
    expect(got).toBe('220 banner ready\r\n');
  });

  it('an agent restart gives "relay offline" at once, and works again when it is back', async () => {
    const pid = p.pid('acme', 'acme');
    process.kill(pid, 'SIGTERM');
    await eventually(async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000, 50);
    const t0 = Date.now();
    expect(await roundTrip(inletEcho, 'while down', 5000)).toBe('');
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(p.log('vendor', 'vendor')).toMatch(/acme-relay unreachable: relay acme-relay is offline|acme-relay\/echo refused/);
    await cliOk(['node', 'create', '--name', 'acme'], p.env('acme'));
    const ms = await eventually(() => works(inletEcho), 15_000);
    expect(ms).toBeLessThan(15_000);
  }, 60_000);

  it(`a silent peer (SIGSTOP) is detected within 3 keepalives (${3 * KEEPALIVE_MS} ms) plus one interval, and streams end`, async () => {
    const { closed } = await openLong(inletEcho);
    const pid = p.pid('acme', 'acme');
    const t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    try {
      const at = await Promise.race([closed, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('not detected')), 10_000))]);
      expect(at - t0).toBeLessThan(4 * KEEPALIVE_MS + 1000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await eventually(() => works(inletEcho), 15_000);
  }, 60_000);

  it('survives a graceful hub restart (SIGTERM): streams end cleanly, agents come back by themselves', async () => {
    const { closed } = await openLong(inletEcho);
    await p.hub.stop('SIGTERM');
    await Promise.race([closed, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('stream hung')), 10_000))]);
    await p.restartHub();
    await eventually(() => works(inletEcho), 20_000);
    expect(p.hub.output).toMatch(/relay acme-relay created/);
  }, 60_000);

  it('survives the hub being killed with SIGKILL: in-flight streams end, new ones work again within seconds', async () => {
    const { closed } = await openLong(inletEcho);
    const t0 = Date.now();
    await p.hub.stop('SIGKILL');
    const at = await Promise.race([closed, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('stream hung')), 10_000))]);
    expect(at - t0).toBeLessThan(5000);
    await p.restartHub();
    const ms = await eventually(() => works(inletEcho), 20_000);
    expect(ms).toBeLessThan(20_000);
    expect(p.log('acme', 'acme')).toMatch(/reconnecting in \d+ ms/);
  }, 60_000);

  it('refreshes credentials before they expire (TTL 12 s) and keeps working past several expiries', async () => {
    const before = (await p.control('vendor', 'vendor', 'status')) as { credentialExpiresAt: string };
    await new Promise((r) => setTimeout(r, 14_000));
    const after = (await p.control('vendor', 'vendor', 'status')) as { credentialExpiresAt: string };
    expect(Date.parse(after.credentialExpiresAt)).toBeGreaterThan(Date.parse(before.credentialExpiresAt));
    expect(Date.parse(after.credentialExpiresAt)).toBeGreaterThan(Date.now());
    expect(await works(inletEcho)).toBe(true);
    expect(p.log('vendor', 'vendor')).toMatch(/credential refreshed/);
  }, 60_000);

  it('revocation by relay name closes the member out within seconds and frees the name', async () => {
    const { closed } = await openLong(inletEcho);
    const t0 = Date.now();
    const out = await cliOk(['member', 'revoke', '--relay', 'acme-relay'], p.env('vendor'));
    expect(out).toMatch(/Revoked I[0-9a-f]{40}/);
    const at = await Promise.race([closed, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('still open')), 10_000))]);
    expect(at - t0).toBeLessThan(5000);
    expect(await roundTrip(inletEcho, 'after revoke', 5000)).toBe('');
    await eventually(async () => /membership revoked/.test(p.hub.output), 5000);
    // The name is free again: a new member whose ticket allows it can take it.
    await p.node('acme2', 'acme2', ['--attribute', 'customer=acme', '--relay', 'acme-relay'], { echo: `127.0.0.1:${echo.port}` }, 'vendor');
    await eventually(() => works(inletEcho), 15_000);
    const r = await cli(['node', 'show', 'acme', '--json'], p.env('acme'));
    expect(r.stdout).toMatch(/"connected": false|"running": false/);
  }, 90_000);
});
