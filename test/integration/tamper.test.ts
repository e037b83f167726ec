/**
 * An attacker on the path between nodes and the hub (a proxy that follows
 * the link framing and flips one byte, with no key), against real
 * processes. A changed end-to-end transport message is not checked by the
 * links: the receiving node's channel refuses it and tells the other end,
 * so both ends close at once (not after their keepalive) and the links stay
 * up. A changed end-to-end handshake message is checked by the links: the
 * hub refuses the record and closes that node's link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoService, tamperingProxy } from '../helpers/servers.ts';
import { eventually, openLong, Project, roundTrip } from '../helpers/walkthrough-env.ts';

/** Long enough that closing through a keepalive (3 intervals) could not pass for closing at once. */
const KEEPALIVE_MS = 20_000;
/** Data to change on the way: its record is larger than any keepalive's. */
const LARGE = 'changed on the way '.repeat(100);
let p: Project;
let echo: Awaited<ReturnType<typeof echoService>>;
let proxy: Awaited<ReturnType<typeof tamperingProxy>>;
let inlet: number;

beforeAll(async () => {
  echo = await echoService();
  p = new Project({ POSTERN_KEEPALIVE_MS: String(KEEPALIVE_MS) });
  await p.startHub([], async (hubPort) => {
    proxy = await tamperingProxy(hubPort);
    return proxy.port;
  });
  await p.node('vendor', 'vendor', ['--attribute', 'vendor', '--relay', 'vendor-relay']);
  await p.node('acme', 'acme', ['--attribute', 'customer=acme', '--relay', 'acme-relay'], { echo: `127.0.0.1:${echo.port}` }, 'vendor');
  inlet = await p.inlet('vendor', 'vendor', 'acme-relay', 'echo');
  expect(await roundTrip(inlet, 'ping')).toBe('ping');
}, 120_000);

afterAll(async () => {
  await p?.close();
  proxy?.server.close();
  echo?.server.close();
});

describe('an attacker on the path', () => {
  it('end-to-end transport messages cross both links in transport records, the rest in authenticated ones', () => {
    // The round trip in beforeAll: the handshake messages authenticated, its data not,
    // and the hub forwards each message as the kind it came as.
    const r = proxy.records();
    expect(r.up.transport).toBeGreaterThanOrEqual(2);
    expect(r.down.transport).toBeGreaterThanOrEqual(2);
    expect(r.up.authenticated).toBeGreaterThanOrEqual(2);
    expect(r.down.authenticated).toBeGreaterThanOrEqual(2);
  });

  it('a changed transport message closes both ends of that channel at once; the links stay up', async () => {
    const { socket, closed } = await openLong(inlet);
    const reconnects = (who: string) => (p.log(who, who).match(/hub link down/g) ?? []).length;
    const before = { vendor: reconnects('vendor'), acme: reconnects('acme') };
    // Larger than any keepalive, so that only this message can be the one changed.
    proxy.arm('transport', LARGE.length);
    const t0 = Date.now();
    socket.write(LARGE);
    const end = await closed;
    expect(proxy.flipped()).toBe(1);
    // The notice, not the keepalive (which would take 3 × 20 s).
    expect(end - t0).toBeLessThan(5000);
    await eventually(async () => /closed: message failed authentication \(tampered or wrong key\) \(POSTERN_MESSAGE_TAMPERED\)/.test(p.log('acme', 'acme')), 5000);
    expect({ vendor: reconnects('vendor'), acme: reconnects('acme') }).toEqual(before);
    // A new channel over the same links.
    expect(await roundTrip(inlet, 'again')).toBe('again');
    expect({ vendor: reconnects('vendor'), acme: reconnects('acme') }).toEqual(before);
  }, 30_000);

  it('a changed handshake message fails the link it crossed; the node reconnects and works again', async () => {
    const refused = () => (p.hub.output.match(/closed: message failed authentication/g) ?? []).length;
    const before = refused();
    // End the channel left by the last test (a changed transport message), so the next connection
    // opens a new one: its first message, an authenticated record, is the one changed this time.
    const { socket, closed } = await openLong(inlet);
    proxy.arm('transport', LARGE.length);
    socket.write(LARGE);
    await closed;
    expect(refused()).toBe(before);
    proxy.arm('authenticated');
    expect(await roundTrip(inlet, 'lost', 10_000)).toBe('');
    expect(proxy.flipped()).toBe(3);
    await eventually(async () => refused() === before + 1, 5000);
    await eventually(async () => /hub link down \(link closed by peer\)/.test(p.log('vendor', 'vendor')), 5000);
    await eventually(async () => (await roundTrip(inlet, 'back', 3000)) === 'back', 20_000);
  }, 60_000);
});
