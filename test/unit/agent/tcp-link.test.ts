/**
 * TcpLink over real loopback sockets: relay messages queued in one event-loop
 * turn leave as few relay records as fit, in order with sealed messages; the
 * frame limit is a handshake message's until the peer is authenticated and a
 * relay record's after; a received record's buffer is freed only when its
 * last holder lets go.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { TcpLink } from '../../../agent/transport/tcp-link.ts';
import { dialLinkSocket, type SlabLinkSocket } from '../../../agent/transport/link-socket.ts';
import { FrameHold, retainPayload } from '../../../agent/transport/frame-hold.ts';
import { FrameDecoder, frameHeader, MAX_FRAME } from '../../../agent/transport/frame-decoder.ts';
import { endOfTurn } from '../../../agent/transport/end-of-turn.ts';
import { MAX_CHANNEL_MESSAGE, MAX_RELAY_MESSAGES, MAX_RELAY_RECORD, MAX_TRANSPORT_MESSAGE } from '../../../protocol/channel/index.ts';
import type { PosternError } from '../../../protocol/errors.ts';
import { makeAuthority, makeParty, trust } from '../../helpers/identities.ts';
import { until } from '../../helpers/until.ts';

const auth = makeAuthority();
const open = trust(auth, { requireCredential: false });
const servers: Server[] = [];
const links: TcpLink[] = [];

afterEach(() => {
  for (const l of links.splice(0)) l.close();
  for (const s of servers.splice(0)) s.close();
});

interface Received {
  plaintext: Uint8Array;
  relayed?: Uint8Array;
  transport?: boolean;
}

interface Side {
  link: TcpLink;
  got: Received[];
  /** Frames seen on the wire by this side (handshake ones included). */
  frames: number[];
  closed: Promise<PosternError | undefined>;
  established: Promise<void>;
}

/** A listening TcpLink (accepted socket, 'data' path) and a dialled one (slab path), established. */
async function pair(serverRecords: 'after-handshake' | 'when-allowed' = 'after-handshake'): Promise<{ server: Side; client: Side; raw: Socket }> {
  const S = makeParty();
  const C = makeParty();
  const serverSide = (s: Socket) =>
    side((o) => new TcpLink({ ...o, socket: s, initiator: false, local: S.local([]), trust: open, relayRecords: serverRecords }), s);
  let srv!: Server;
  const accepted = new Promise<{ side: Side; raw: Socket }>((resolve) => {
    srv = createServer((s) => resolve({ side: serverSide(s), raw: s }));
    servers.push(srv);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const d = dialLinkSocket('127.0.0.1', port);
  const client = side((o) => new TcpLink({ ...o, socket: d, initiator: true, local: C.local([]), trust: open }), d);
  const { side: server, raw } = await accepted;
  await Promise.all([server.established, client.established]);
  return { server, client, raw };
}

type Hooks = Pick<ConstructorParameters<typeof TcpLink>[0], 'onEstablished' | 'onMessage' | 'onClose'>;

function side(make: (o: Hooks) => TcpLink, socket: Socket | SlabLinkSocket): Side {
  const got: Received[] = [];
  const frames: number[] = [];
  if ('reader' in socket) {
    // A dialled socket reads through `onread` (no 'data' events): count what its slab reader delivers.
    const filled = socket.reader.filled.bind(socket.reader);
    socket.reader.filled = (n, onFrame) => filled(n, (f) => (frames.push(f.length), onFrame(f)));
  } else {
    // An independent decoder on the same bytes counts the frames as sent.
    const counter = new FrameDecoder(MAX_RELAY_RECORD);
    socket.on('data', (c: Buffer) => {
      try {
        // A copy: the link's own decoder frees the chunks it has copied.
        counter.push(Buffer.from(c), (f) => frames.push(f.length));
      } catch {
        /* the link itself reports a bad frame */
      }
    });
  }
  let est!: () => void;
  let done!: (e?: PosternError) => void;
  const established = new Promise<void>((r) => (est = r));
  const closed = new Promise<PosternError | undefined>((r) => (done = r));
  const link = make({
    onEstablished: () => est(),
    onMessage: (plaintext, relayed, _frame, transport) => got.push({ plaintext: plaintext.slice(), relayed: relayed?.slice(), transport }),
    onClose: (e) => done(e),
  });
  links.push(link);
  return { link, got, frames, closed, established };
}


const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

describe('TcpLink relay records', () => {
  it('relay messages of one turn leave in as few records as fit, in order, and a sealed message after them stays after them', async () => {
    const { server, client } = await pair();
    const before = server.frames.length;
    const n = 3 * MAX_RELAY_MESSAGES + 8;
    const written: number[] = [];
    for (let k = 0; k < n; k++) client.link.sendRelay(new TextEncoder().encode(`h${k}`), [bytes(3000, k & 0xff)], () => written.push(k));
    client.link.send([new TextEncoder().encode('sealed, sent last')]);
    await until(() => server.got.length === n + 1);
    // 200 messages of 3,000 bytes: the message count per record is the limit, so 4 records, then the sealed one.
    expect(server.frames.length - before).toBe(4 + 1);
    expect(server.got.slice(0, n).map((m) => text(m.plaintext))).toEqual(Array.from({ length: n }, (_, k) => `h${k}`));
    expect(server.got.slice(0, n).every((m, k) => m.relayed!.length === 3000 && m.relayed![0] === (k & 0xff))).toBe(true);
    expect(server.got[n]!.relayed).toBeUndefined();
    expect(text(server.got[n]!.plaintext)).toBe('sealed, sent last');
    await until(() => written.length === n);
    expect(written).toEqual(Array.from({ length: n }, (_, k) => k));
  });

  it('relay messages queued by separate callbacks of one turn share a record, written before the rest of the pass runs', async () => {
    const { server, client } = await pair();
    const before = server.frames.length;
    const socket = (client.link as unknown as { socket: { writableLength: number } }).socket;
    let pendingAfterFlush = -1;
    await new Promise<void>((done) => {
      setImmediate(() => client.link.sendRelay(new TextEncoder().encode('a'), [bytes(100, 1)]));
      setImmediate(() => {
        client.link.sendRelay(new TextEncoder().encode('b'), [bytes(100, 2)]);
        // Queued after the link's flush, in the same pass: by then the link has uncorked and written.
        endOfTurn.defer(() => (pendingAfterFlush = socket.writableLength));
      });
      setImmediate(() => setImmediate(done));
    });
    await until(() => server.got.length === 2);
    expect(server.got.map((m) => text(m.plaintext))).toEqual(['a', 'b']);
    expect(server.frames.length - before).toBe(1);
    expect(pendingAfterFlush).toBe(0);
  });

  it('transport messages travel in records of their own, marked as such both ways; a change of kind starts a record', async () => {
    const { server, client } = await pair();
    const kinds = [true, true, false, true, false, false];
    for (const [from, to] of [[client, server], [server, client]] as const) {
      const before = to.frames.length;
      const start = to.got.length;
      kinds.forEach((t, k) => from.link.sendRelay(new TextEncoder().encode(`h${k}`), [bytes(100, k)], undefined, t));
      await until(() => to.got.length === start + kinds.length);
      expect(to.got.slice(start).map((m) => [text(m.plaintext), m.relayed![0], m.transport])).toEqual(kinds.map((t, k) => [`h${k}`, k, t]));
      expect(to.frames.length - before).toBe(4);
    }
  });

  it('records carry up to 256 KiB of payload both ways once the link is up (slab and stream readers)', async () => {
    const { server, client } = await pair();
    const full = Array.from({ length: 4 }, (_, k) => bytes(MAX_TRANSPORT_MESSAGE, k + 1));
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      const before = to.frames.length;
      for (const p of full) from.link.sendRelay(new TextEncoder().encode('big'), [p]);
      await until(() => to.got.length === 4);
      expect(to.frames.length - before).toBe(1);
      expect(to.frames.at(-1)).toBeGreaterThan(4 * MAX_TRANSPORT_MESSAGE);
      expect(to.got.map((m) => m.relayed!.length)).toEqual([MAX_TRANSPORT_MESSAGE, MAX_TRANSPORT_MESSAGE, MAX_TRANSPORT_MESSAGE, MAX_TRANSPORT_MESSAGE]);
      expect(to.got.every((m, k) => m.relayed!.every((b) => b === k + 1))).toBe(true);
      to.got.length = 0;
    }
  });

  it('refuses a relay message no record can hold, and relays before the handshake', async () => {
    const { client } = await pair();
    expect(() => client.link.sendRelay(new Uint8Array(1), [bytes(MAX_CHANNEL_MESSAGE + 1, 1)])).toThrow(/does not fit a relay record/);
    const srv = createServer(() => {});
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const early = new TcpLink({
      socket: dialLinkSocket('127.0.0.1', (srv.address() as { port: number }).port),
      initiator: true,
      local: makeParty().local([]),
      trust: open,
    });
    links.push(early);
    expect(() => early.sendRelay(new Uint8Array(1), [bytes(10, 1)])).toThrow(/not established/);
  });
});

describe('TcpLink frame limits (misbehaving peer)', () => {
  it('before the handshake, a frame longer than a handshake message closes the link', async () => {
    const P = makeParty();
    let closed!: (e?: PosternError) => void;
    const result = new Promise<PosternError | undefined>((r) => (closed = r));
    const srv = createServer((s) => {
      links.push(new TcpLink({ socket: s, initiator: false, local: P.local([]), trust: open, onClose: (e) => closed(e) }));
    });
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const raw = connect((srv.address() as { port: number }).port, '127.0.0.1');
    raw.on('error', () => {});
    raw.write(frameHeader(MAX_FRAME + 1));
    expect((await result)?.code).toBe('POSTERN_FRAME_INVALID');
    raw.destroy();
  });

  it('after the handshake, a frame longer than the largest relay record closes the link', async () => {
    const { server, client } = await pair();
    // Write a bad length header straight onto the client's socket.
    client.link.socket.write(frameHeader(MAX_RELAY_RECORD + 1));
    expect((await server.closed)?.code).toBe('POSTERN_FRAME_INVALID');
  });

  it('the slab reader side enforces the same limit', async () => {
    const { client, raw } = await pair();
    raw.write(frameHeader(MAX_RELAY_RECORD + 1));
    expect((await client.closed)?.code).toBe('POSTERN_FRAME_INVALID');
  });
});

describe('TcpLink relay record limits and failures', () => {
  it('a side that allows relay records only when told keeps the handshake limit until then', async () => {
    const { server, client } = await pair('when-allowed');
    const big = Array.from({ length: 2 }, (_, k) => bytes(40_000, k + 1)); // one 80 KB record
    client.link.sendRelay(new TextEncoder().encode('h'), [big[0]!]);
    client.link.sendRelay(new TextEncoder().encode('h'), [big[1]!]);
    expect((await server.closed)?.code).toBe('POSTERN_FRAME_INVALID');

    const again = await pair('when-allowed');
    again.server.link.allowRelayRecords();
    again.client.link.sendRelay(new TextEncoder().encode('h'), [big[0]!]);
    again.client.link.sendRelay(new TextEncoder().encode('h'), [big[1]!]);
    await until(() => again.server.got.length === 2);
    expect(again.server.frames.at(-1)).toBeGreaterThan(80_000);
  });

  it('a record that cannot be sealed at flush closes the link with the reason, and nothing after it is sent', async () => {
    const { server, client } = await pair();
    const parts = [bytes(200_000, 1)];
    client.link.sendRelay(new TextEncoder().encode('h'), parts);
    parts.push(bytes(100_000, 2)); // changed after queueing: no longer fits one record
    client.link.sendRelay(new TextEncoder().encode('after'), [bytes(10, 3)]);
    expect((await client.closed)?.code).toBe('POSTERN_MESSAGE_TOO_LARGE');
    await server.closed;
    expect(server.got).toEqual([]);
  });

  it('relay messages a closing link will never write still release what waited for them', async () => {
    const { client } = await pair();
    const released: string[] = [];
    client.link.sendRelay(new TextEncoder().encode('queued'), [bytes(100, 1)], () => released.push('queued'));
    // Closed in the same turn: the queued message never reaches a record.
    client.link.close();
    expect(released).toEqual(['queued']);
    await client.closed;
  });
});

describe('FrameHold', () => {
  it('frees the frame when the last holder lets go, once, and not before', () => {
    const buf = new Uint8Array(64 * 1024);
    const h = new FrameHold(buf);
    const a = h.hold();
    const b = h.hold();
    h.drop(); // the link's own hold, after delivery
    a();
    a(); // a second call is ignored
    expect(buf.buffer.byteLength).toBe(64 * 1024);
    b();
    expect(buf.buffer.byteLength).toBe(0);
    expect(() => h.hold()).toThrow(/already freed/);
  });

  it('a forwarded payload keeps its frame when it is at least 1/8 of it (a record of full messages), else a copy freed once written', () => {
    // A record of four 65,300-byte messages: each is a quarter of the frame, and keeps it.
    const frame = new Uint8Array(4 * 65_300);
    const h = new FrameHold(frame);
    const parts = [0, 1, 2, 3].map((k) => retainPayload(frame.subarray(k * 65_300, (k + 1) * 65_300), h));
    expect(parts.every((p) => p.payload.buffer === frame.buffer && typeof p.done === 'function')).toBe(true);
    // A small message in a large record is copied: it never pins the frame.
    const small = retainPayload(frame.subarray(0, 20_000), h);
    expect(small.payload.buffer).not.toBe(frame.buffer);
    expect(small.payload.length).toBe(20_000);
    h.drop();
    parts.slice(0, 3).forEach((p) => p.done!());
    expect(frame.buffer.byteLength).toBe(4 * 65_300);
    parts[3]!.done!();
    expect(frame.buffer.byteLength).toBe(0);
    small.done!();
    expect(small.payload.buffer.byteLength).toBe(0); // the copy is freed once written, too
    // Without a hold (a view of a socket read): small views are copied, large ones kept as they are.
    const read = new Uint8Array(65_536);
    expect(retainPayload(read.subarray(0, 100), undefined).payload.buffer).not.toBe(read.buffer);
    expect(retainPayload(read.subarray(0, 40_000), undefined).payload.buffer).toBe(read.buffer);
  });
});
