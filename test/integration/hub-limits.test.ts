/**
 * The hub's limits, each tested with a misbehaving peer over a real socket:
 * frame size (before the handshake, and for a peer that is not a member),
 * handshake timeout, unauthenticated connections per address,
 * garbage handshakes, enrollment attempts per link, and a sender flooding
 * a destination that does not read (forwarding backpressure).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { initHub } from '../../vendor-side/hub/init.ts';
import { Hub } from '../../vendor-side/hub/server.ts';
import { HubClient } from '../../agent/node/hub-client.ts';
import { loadOrCreateIdentity } from '../../agent/node/identity.ts';
import { MemoryVault } from '../../protocol/vault/index.ts';
import { identifierOf } from '../../protocol/identity/index.ts';
import { cliIdentity, loadAdminProject } from '../../vendor-side/admin/project.ts';
import { decodeTicket } from '../../protocol/ticket/index.ts';
import type { RoutedMessage } from '../../protocol/routing/index.ts';
import type { NodeIdentity } from '../../agent/node/identity.ts';
import { frameHeader } from '../../agent/transport/frame-decoder.ts';
import { PosternError } from '../../protocol/errors.ts';

/** The hub pauses a sender while its destination has this much queued (4 MiB by default). */
const HIGH_WATER = 256 * 1024;

let root: string;
let hub: Hub;
let port: number;
const lines: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'postern-limits-'));
  initHub({ dir: join(root, 'hub'), listen: '127.0.0.1:0', publicAddress: '127.0.0.1:1', home: join(root, 'admin') });
  hub = new Hub({
    dir: join(root, 'hub'),
    listen: { host: '127.0.0.1', port: 0 },
    log: (l) => lines.push(l),
    limits: { maxUnauthenticatedPerIp: 3, handshakeTimeoutMs: 400, maxEnrollAttemptsPerLink: 2, forwardHighWaterBytes: HIGH_WATER },
  });
  port = (await hub.start()).port;
});

afterAll(async () => {
  await hub?.close();
  rmSync(root, { recursive: true, force: true });
});

function raw(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    s.on('connect', () => resolve(s));
    s.on('error', reject);
  });
}

function closedWithin(s: Socket, ms: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    if (s.destroyed) return resolve(0);
    s.on('error', () => {});
    s.on('close', () => resolve(Date.now() - t0));
    setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms).unref();
  });
}

describe('hub limits against misbehaving peers', () => {
  it('closes a link announcing a frame above 65,535 bytes before reading it', async () => {
    const s = await raw();
    s.write(frameHeader(65536));
    await closedWithin(s, 2000);
    expect(lines.join('\n')).toMatch(/frame length 65536 outside 1\.\.65535/);
  });

  it('closes a link sending a zero-length frame', async () => {
    const s = await raw();
    s.write(frameHeader(0));
    await closedWithin(s, 2000);
  });

  it('closes a connection that does not finish its handshake in time (400 ms here)', async () => {
    const s = await raw();
    const ms = await closedWithin(s, 3000);
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(lines.join('\n')).toMatch(/did not complete within 400 ms/);
  });

  it('refuses a garbage third handshake message', async () => {
    const s = await raw();
    s.write(Buffer.concat([frameHeader(32), randomBytes(32)]));
    await new Promise((r) => s.once('data', r)); // message 2
    s.write(Buffer.concat([frameHeader(100), randomBytes(100)]));
    await closedWithin(s, 2000);
    expect(lines.join('\n')).toMatch(/refused: Noise handshake failed/);
  });

  it('caps unauthenticated connections per address (3 here)', async () => {
    const idle = [await raw(), await raw(), await raw()];
    const fourth = await raw();
    await closedWithin(fourth, 2000);
    expect(lines.join('\n')).toMatch(/too many unauthenticated connections/);
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const again = await raw();
    await new Promise((r) => setTimeout(r, 100));
    expect(again.destroyed).toBe(false);
    again.destroy();
  });

  it('closes a link after too many enrollment attempts (2 here)', async () => {
    const admin = loadAdminProject(join(root, 'admin'));
    const identity = loadOrCreateIdentity(new MemoryVault());
    const client = new HubClient({
      hub: { project: admin.project, routes: [`tcp:127.0.0.1:${port}`], hubIdentifier: identifierOf(hub.identity.publicKey), authorityPublicKey: admin.authorityPublicKey },
      identity,
      credentials: () => [],
      onRouted: () => {},
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    client.start();
    await client.waitConnected(true);
    const bad = { op: 'enroll', secret: 'ab'.repeat(32) };
    await expect(client.request('authority', bad)).rejects.toMatchObject({ code: 'POSTERN_TICKET_UNKNOWN' });
    await expect(client.request('authority', bad)).rejects.toMatchObject({ code: 'POSTERN_TICKET_UNKNOWN' });
    const third = await client.request('authority', bad).catch((e: PosternError) => e);
    expect(['POSTERN_TOO_MANY_ATTEMPTS', 'POSTERN_HUB_DISCONNECTED']).toContain((third as PosternError).code);
    expect(lines.join('\n')).toMatch(/too many enrollment attempts; closing/);
    client.stop();
  });

  it('keeps the handshake frame limit for a peer that is not a member, once authenticated too', async () => {
    const admin = loadAdminProject(join(root, 'admin'));
    const client = new HubClient({
      hub: { project: admin.project, routes: [`tcp:127.0.0.1:${port}`], hubIdentifier: identifierOf(hub.identity.publicKey), authorityPublicKey: admin.authorityPublicKey },
      identity: loadOrCreateIdentity(new MemoryVault()),
      credentials: () => [],
      onRouted: () => {},
      backoff: { initialMs: 60_000, maxMs: 60_000 },
    });
    client.start();
    await client.waitConnected(true);
    // A relay record's size is for members only: a stranger announcing one is cut off before it is buffered.
    const link = (client as unknown as { link: { socket: Socket } }).link;
    const closed = closedWithin(link.socket, 2000);
    link.socket.write(frameHeader(70_000));
    await closed;
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.join('\n')).toMatch(/closed: frame length 70000 outside 1\.\.65535/);
    client.stop();
  });

  it('forwards to a node\'s listener and channels only: a member aiming at its other addresses is cut off', async () => {
    const admin = loadAdminProject(join(root, 'admin'));
    const info = { project: admin.project, routes: [`tcp:127.0.0.1:${port}`], hubIdentifier: identifierOf(hub.identity.publicKey), authorityPublicKey: admin.authorityPublicKey };
    const client = (identity: NodeIdentity, credentials: Uint8Array[], onRouted: (m: RoutedMessage) => void = () => {}) =>
      new HubClient({ hub: info, identity, credentials: () => credentials, onRouted, backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const started = async (c: HubClient) => {
      c.start();
      await c.waitConnected(true);
      return c;
    };
    const asAdmin = () => started(client(cliIdentity(join(root, 'admin')), [admin.credential]));
    const minter = await asAdmin();
    const t = await minter.request('authority', { op: 'create-ticket', expiresIn: 600, usageCount: 1, attributes: {}, relay: 'victim', enroller: false });
    minter.stop();
    const got: RoutedMessage[] = [];
    const victim = await started(client(loadOrCreateIdentity(new MemoryVault()), [], (m) => got.push(m)));
    await victim.request('authority', { op: 'enroll', secret: Buffer.from(decodeTicket(String(t['ticket'])).secret).toString('hex') });
    await victim.request('relays', { op: 'create-relay', name: 'victim' });
    // A forged answer to the victim's requests, sealed and as a relay message; a notice address; and
    // return routes that would aim the victim's own answer at its other addresses or at nothing, so
    // that the hub would close the victim's link for it.
    const attempts: [string[], string[], boolean][] = [
      [['relay:victim', 'rpc'], ['ch-0123456789abcdef'], false],
      [['relay:victim', 'rpc'], ['ch-0123456789abcdef'], true],
      [['relay:victim', 'peer-gone'], ['ch-0123456789abcdef'], false],
      [['relay:victim', 'listener', 'rpc'], ['ch-0123456789abcdef'], false],
      [['relay:victim', 'listener'], [], false],
      [['relay:victim', 'listener'], ['ch-0123456789abcdef', 'rpc'], false],
      [['relay:victim', 'listener'], ['rpc'], true],
    ];
    for (const [onward, ret, relay] of attempts) {
      const attacker = await asAdmin();
      const socket = (attacker as unknown as { link: { socket: Socket } }).link.socket;
      const closed = closedWithin(socket, 2000);
      attacker.sendRouted(onward, ret, [new TextEncoder().encode(JSON.stringify({ id: 1, ok: true }))], relay ? 'relay' : 'sealed');
      await closed;
      attacker.stop();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.join('\n').match(/forwarding (to|with return route) .* refused: only (a node's listener or channels|the sender's channel); closing/g)?.length).toBe(attempts.length);
    expect(got).toEqual([]);
    // The victim kept its link all along, and still answers.
    await expect(victim.request('hub', { op: 'ping' })).resolves.toMatchObject({ ok: true });
    victim.stop();
  });

  /** The hub pauses a sender's link while a destination is full: it then holds the way to stop waiting. */
  const isPaused = (l: { unpause?: () => void }) => l.unpause !== undefined;

  /** A member sending to a node (relay `relay`) whose link stops reading, and the hub's view of both. */
  async function flooding(relay: string) {
    const admin = loadAdminProject(join(root, 'admin'));
    const info = { project: admin.project, routes: [`tcp:127.0.0.1:${port}`], hubIdentifier: identifierOf(hub.identity.publicKey), authorityPublicKey: admin.authorityPublicKey };
    const started = async (identity: NodeIdentity, credentials: Uint8Array[], onRouted: (m: RoutedMessage) => void = () => {}) => {
      const c = new HubClient({ hub: info, identity, credentials: () => credentials, onRouted, backoff: { initialMs: 60_000, maxMs: 60_000 } });
      c.start();
      await c.waitConnected(true);
      return c;
    };
    const sender = await started(cliIdentity(join(root, 'admin')), [admin.credential]);
    const t = await sender.request('authority', { op: 'create-ticket', expiresIn: 600, usageCount: 1, attributes: {}, relay, enroller: false });
    const got = { messages: 0, bytes: 0 };
    const sink = await started(loadOrCreateIdentity(new MemoryVault()), [], (m) => {
      got.messages++;
      got.bytes += m.payload.length;
    });
    await sink.request('authority', { op: 'enroll', secret: Buffer.from(decodeTicket(String(t['ticket'])).secret).toString('hex') });
    await sink.request('relays', { op: 'create-relay', name: relay });
    // The misbehaving side: the sink stops reading, so its link's kernel buffers fill and the hub's queue for it grows.
    const sinkSocket = (sink as unknown as { link: { socket: Socket } }).link.socket;
    sinkSocket.pause();
    const hubLinks = (hub as unknown as { links: Map<string, { link: { writableLength: number; socket: Socket }; unpause?: () => void }> }).links;
    const state = { sent: 0, peak: 0, paused: false };
    /**
     * Send 32 KiB messages until the hub has paused the sender and `after` more were sent since
     * (bounded: 2,048 messages, 10 s), sampling the hub's largest queue after each batch.
     */
    const flood = async (after: number) => {
      let sentAtPause = -1;
      const t0 = Date.now();
      while (state.sent < 2048 && Date.now() - t0 < 10_000 && !(sentAtPause >= 0 && state.sent - sentAtPause >= after)) {
        for (let i = 0; i < 16; i++, state.sent++) {
          // Relay payloads are freed once written: each message is a buffer of its own.
          sender.sendRouted([`relay:${relay}`, 'listener'], ['ch-0123456789abcdef'], [new Uint8Array(MESSAGE).fill(state.sent & 0xff)], 'relay');
        }
        await new Promise((r) => setImmediate(r));
        state.peak = Math.max(state.peak, ...[...hubLinks.values()].map((l) => l.link.writableLength));
        if (sentAtPause < 0 && [...hubLinks.values()].some(isPaused)) {
          state.paused = true;
          sentAtPause = state.sent;
        }
      }
    };
    return { sender, sink, sinkSocket, hubLinks, state, got, flood };
  }
  const MESSAGE = 32 * 1024;

  it(`pauses a member flooding a node that does not read: the hub queues the high-water mark (${HIGH_WATER / 1024} KiB) and one read, and loses nothing`, async () => {
    const f = await flooding('sink');
    // 8 MiB more after the pause: the sender goes on writing into its own link, the hub does not take it.
    await f.flood(256);
    expect(f.state.paused).toBe(true);
    // High-water mark, plus what one read of the sender's link held (a 1 MiB slab at most) before the pause.
    expect(f.state.peak).toBeGreaterThan(HIGH_WATER);
    expect(f.state.peak).toBeLessThanOrEqual(HIGH_WATER + 1024 * 1024 + MESSAGE);
    // Reading again drains everything, in full: backpressure, not loss.
    f.sinkSocket.resume();
    const deadline = Date.now() + 20_000;
    while (f.got.messages < f.state.sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(f.got.messages).toBe(f.state.sent);
    expect(f.got.bytes).toBe(f.state.sent * MESSAGE);
    expect([...f.hubLinks.values()].some(isPaused)).toBe(false);
    // Every pause ended with its listeners: none left behind on the sink's link at the hub.
    for (const l of f.hubLinks.values()) {
      expect(l.link.socket.listenerCount('drain')).toBe(0);
      expect(l.link.socket.listenerCount('close')).toBeLessThanOrEqual(1);
    }
    f.sender.stop();
    f.sink.stop();
  });

  it('a paused sender whose link the hub closes (as when revoked) takes its wait for the destination with it', async () => {
    const f = await flooding('sink2');
    await f.flood(0);
    expect(f.state.paused).toBe(true);
    // (A paused link is not read, so the hub learns that its node left only from this or its idle timeout.)
    const paused = [...f.hubLinks.values()].find(isPaused)!;
    const before = f.hubLinks.size;
    (paused.link as unknown as { close(e: PosternError): void }).close(new PosternError('POSTERN_MEMBER_REVOKED', 'membership revoked'));
    expect(f.hubLinks.size).toBe(before - 1);
    // The sink's link at the hub has not drained, yet nothing waits on it any more.
    const sinkAtHub = [...f.hubLinks.values()].find((l) => l.link.writableLength > 0)!;
    expect(sinkAtHub.link.writableLength).toBeGreaterThan(HIGH_WATER);
    expect(sinkAtHub.link.socket.listenerCount('drain')).toBe(0);
    f.sender.stop();
    f.sinkSocket.resume();
    f.sink.stop();
  });

  it('never logs a ticket secret', () => {
    expect(lines.join('\n')).not.toMatch(/ab{0}(ab){32}/);
    expect(lines.join('\n')).not.toMatch(/pstn1_/);
  });
});
