/**
 * Link sockets reading into slabs: a socket a server accepted paused is
 * taken over (its reads land in slabs, its server stops counting it), one
 * already reading is left as it was, and a TcpLink over a taken-over socket
 * hands out payloads that a hold keeps intact after the reader moved on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { adoptLinkSocket, dialLinkSocket, type SlabLinkSocket } from '../../../agent/transport/link-socket.ts';
import { SMALL_SLAB } from '../../../agent/transport/slab-reader.ts';
import { TcpLink } from '../../../agent/transport/tcp-link.ts';
import { retainPayload, type FrameHold } from '../../../agent/transport/frame-hold.ts';
import { frameHeader } from '../../../agent/transport/frame-decoder.ts';
import { concat } from '../../../protocol/bytes.ts';
import { makeAuthority, makeParty, trust } from '../../helpers/identities.ts';
import { until } from '../../helpers/until.ts';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function listen(pauseOnConnect: boolean, onSocket: (s: Socket) => void): Promise<number> {
  const srv = createServer({ pauseOnConnect }, onSocket);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return (srv.address() as AddressInfo).port;
}

const frame = (body: Uint8Array) => concat(frameHeader(body.length), body);


describe('adoptLinkSocket', () => {
  it('takes over a socket accepted paused: frames are views of a slab, both directions work, the server no longer counts it', async () => {
    let adopted: SlabLinkSocket | Socket | undefined;
    const frames: Uint8Array[] = [];
    const backings: number[] = [];
    const port = await listen(true, (s) => {
      adopted = adoptLinkSocket(s);
      if (!('reader' in adopted)) return;
      const d = adopted;
      sockets.push(d.socket);
      d.deliver = (n) =>
        d.reader.filled(n, (f) => {
          backings.push(f.buffer.byteLength === d.reader.slabBytes ? 1 : 0);
          frames.push(f.slice());
          d.socket.write(frame(f.slice().reverse()));
        });
    });
    const c = connect(port, '127.0.0.1');
    sockets.push(c);
    const echoed: Buffer[] = [];
    c.on('data', (b: Buffer) => echoed.push(b));
    const bodies = [new Uint8Array([1, 2, 3]), new Uint8Array(100_000).fill(9), new Uint8Array([4, 5])];
    c.write(concat(...bodies.map(frame)));
    await until(() => frames.length === 3);
    expect(adopted && 'reader' in adopted).toBe(true);
    // Compared as buffers: a deep comparison of 100,000 elements takes most of a second.
    expect(frames.map((f, i) => Buffer.from(f).equals(bodies[i]!))).toEqual([true, true, true]);
    // No per-read buffer: every frame is a view of the reader's slab.
    expect(backings).toEqual([1, 1, 1]);
    await until(() => Buffer.concat(echoed).length === bodies.reduce((n, b) => n + 4 + b.length, 0));
    expect(Buffer.concat(echoed).equals(concat(...bodies.map((b) => frame(b.slice().reverse()))))).toBe(true);
    const d = adopted as SlabLinkSocket;
    expect(d.socket.remoteAddress).toBe('127.0.0.1');
    const count = await new Promise<number>((r, j) => servers[0]!.getConnections((e, n) => (e ? j(e) : r(n))));
    expect(count).toBe(0);
    // The peer's close reaches the new socket.
    const closed = new Promise<void>((r) => d.socket.on('close', () => r()));
    c.end();
    await closed;
  });

  it('a taken-over socket stops reading while paused and starts again on resume (how the hub holds back a sender)', async () => {
    let d: SlabLinkSocket | undefined;
    let frames = 0;
    const port = await listen(true, (s) => {
      const a = adoptLinkSocket(s);
      if (!('reader' in a)) return;
      d = a;
      sockets.push(a.socket);
      a.deliver = (n) => a.reader.filled(n, () => frames++);
    });
    const c = connect(port, '127.0.0.1');
    sockets.push(c);
    const body = frame(new Uint8Array(60_000).fill(3));
    c.write(body);
    await until(() => frames === 1);
    d!.socket.pause();
    // 400 more frames (24 MB): none may be delivered while paused.
    for (let i = 0; i < 400; i++) c.write(body);
    await new Promise((r) => setTimeout(r, 200));
    expect(frames).toBe(1);
    d!.socket.resume();
    await until(() => frames === 401);
    expect(d!.reader.bufferedBytes).toBe(0);
  });

  /** A server socket passed to adoptLinkSocket that it must leave as it is: the text sent comes through 'data' events. */
  async function notTakenOver(pauseOnConnect: boolean, prepare: (s: Socket) => void, text: string): Promise<void> {
    let adopted: SlabLinkSocket | Socket | undefined;
    const got: Buffer[] = [];
    const port = await listen(pauseOnConnect, (s) => {
      prepare(s);
      adopted = adoptLinkSocket(s);
      sockets.push(s);
      s.on('data', (b: Buffer) => got.push(b));
    });
    const c = connect(port, '127.0.0.1');
    sockets.push(c);
    c.write(text);
    await until(() => Buffer.concat(got).toString() === text);
    expect(adopted).toBeDefined();
    expect('reader' in adopted!).toBe(false);
  }

  it('resumes a paused socket it cannot take over, which then reads through data events', async () => {
    // As on a Node whose stream handles cannot read into a given buffer.
    const withoutUserBuffers = (s: Socket) => ((s as unknown as { _handle: Record<string, unknown> })._handle['useUserBuffer'] = undefined);
    await notTakenOver(true, withoutUserBuffers, 'read anyway');
  });

  it('leaves a socket that is already reading as it was', async () => {
    await notTakenOver(false, () => {}, 'still here');
  });
});

describe('TcpLink over a taken-over socket', () => {
  it('relays large payloads a hold keeps after the reader moves to a new slab, and frees the slab once let go', async () => {
    const auth = makeAuthority();
    const open = trust(auth, { requireCredential: false });
    const S = makeParty();
    const C = makeParty();
    const kept: { payload: Uint8Array; done: (() => void) | undefined; copy: Uint8Array }[] = [];
    let serverLink: TcpLink | undefined;
    let established!: () => void;
    const ready = new Promise<void>((r) => (established = r));
    const port = await listen(true, (s) => {
      const socket = adoptLinkSocket(s);
      expect('reader' in socket).toBe(true);
      serverLink = new TcpLink({
        socket,
        initiator: false,
        local: S.local([]),
        trust: open,
        onEstablished: () => established(),
        onMessage: (_m, relayed?: Uint8Array, frame?: FrameHold) => {
          if (relayed === undefined) return;
          // Kept the way the hub keeps a payload it forwards at the end of the turn.
          kept.push({ ...retainPayload(relayed, frame), copy: relayed.slice() });
        },
      });
    });
    const d = dialLinkSocket('127.0.0.1', port);
    const client = new TcpLink({ socket: d, initiator: true, local: C.local([]), trust: open });
    await ready;
    // Two slabs' worth of 200 KiB payloads: each is more than an eighth of a slab, so it is held, not copied.
    const n = 12;
    for (let k = 0; k < n; k++) client.sendRelay(new TextEncoder().encode(`h${k}`), [new Uint8Array(200 * 1024).fill(k + 1)], undefined, true);
    await until(() => kept.length === n);
    expect(kept.every((k) => k.done !== undefined)).toBe(true);
    // Every payload intact although the reader has moved past the slabs of the first ones.
    kept.forEach((k, i) => {
      expect(k.payload.length).toBe(200 * 1024);
      expect(k.payload.every((x) => x === i + 1)).toBe(true);
    });
    // Once the link is closed and every hold let go, every slab is freed, the last one included.
    client.close();
    serverLink?.close();
    expect(kept.some((k) => k.payload.length > 0)).toBe(true);
    for (const k of kept) k.done!();
    expect(kept.every((k) => k.payload.length === 0)).toBe(true);
  });

  it('an idle link keeps a small slab, however many small messages it reads', async () => {
    const auth = makeAuthority();
    const open = trust(auth, { requireCredential: false });
    let socket: SlabLinkSocket | Socket | undefined;
    let got = 0;
    let established!: () => void;
    const ready = new Promise<void>((r) => (established = r));
    const links: TcpLink[] = [];
    const port = await listen(true, (s) => {
      socket = adoptLinkSocket(s);
      links.push(new TcpLink({ socket, initiator: false, local: makeParty().local([]), trust: open, onEstablished: () => established(), onMessage: () => got++ }));
    });
    const client = new TcpLink({ socket: dialLinkSocket('127.0.0.1', port), initiator: true, local: makeParty().local([]), trust: open });
    links.push(client);
    await ready;
    const slab = (socket as SlabLinkSocket).reader.slabHold;
    for (let i = 0; i < 300; i++) {
      client.send([new Uint8Array(300).fill(i & 0xff)]);
      await new Promise((r) => setImmediate(r));
    }
    await until(() => got === 300);
    const reader = (socket as SlabLinkSocket).reader;
    // 300 × ~350 bytes read, but the reader started over after each: the same small slab throughout.
    expect(reader.slabHold).toBe(slab);
    expect(reader.slabBytes).toBe(SMALL_SLAB);
    expect(reader.bufferedBytes).toBe(0);
    for (const l of links) l.close();
  });
});
