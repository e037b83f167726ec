/**
 * The stream multiplexer: two sessions back to back in memory (frames cross
 * through a queue, so no call is reentrant), then a misbehaving peer that
 * feeds hand-crafted frames into one session, one rule at a time.
 */
import { describe, expect, it } from 'vitest';
import { concat } from '../../../protocol/bytes.ts';
import { isPosternError } from '../../../protocol/errors.ts';
import {
  decodeFrame,
  DEFAULT_MAX_FRAME_PAYLOAD,
  EARLY_WINDOW,
  encodeFrame,
  FRAME,
  HEADER_LEN,
  MAX_WINDOW,
  MuxProtocolError,
  MuxSession,
  RESET_REASON,
  type Frame,
  type MuxOptions,
  type MuxStream,
} from '../../../protocol/mux/index.ts';

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Every event of one stream, and the bytes it received (copied: onData views are only valid during the call). */
function watch(s: MuxStream) {
  const chunks: Uint8Array[] = [];
  const ev = {
    accepted: 0,
    end: 0,
    closed: 0,
    credit: 0,
    reset: undefined as undefined | { reason: number; message: string; remote: boolean },
  };
  s.onData = (c) => chunks.push(c.slice());
  s.onEnd = () => ev.end++;
  s.onAccepted = () => ev.accepted++;
  s.onCredit = () => ev.credit++;
  s.onClose = () => ev.closed++;
  s.onReset = (reason, message, remote) => (ev.reset = { reason, message, remote });
  return { ev, bytes: () => concat(...chunks), chunks };
}

type Side = { session: MuxSession; sent: Frame[]; opened: MuxStream[] };

/** Two sessions; A is the channel initiator. pump() delivers queued frames until none are left. */
function pair(o: { a?: Partial<MuxOptions>; b?: Partial<MuxOptions> } = {}) {
  const queue: [Side, Uint8Array][] = [];
  const mk = (initiator: boolean, extra: Partial<MuxOptions> | undefined, peer: () => Side): Side => {
    const side: Side = {
      sent: [],
      opened: [],
      session: new MuxSession({
        initiator,
        send: (parts) => {
          const f = concat(...parts);
          side.sent.push(decodeFrame(f.slice(), Number.MAX_SAFE_INTEGER));
          queue.push([peer(), f]);
        },
        onOpen: (s) => side.opened.push(s),
        ...extra,
      }),
    };
    return side;
  };
  const A: Side = mk(true, o.a, () => B);
  const B: Side = mk(false, o.b, () => A);
  const pump = () => {
    for (let i = 0; queue.length > 0; i++) {
      if (i > 1_000_000) throw new Error('frames never stop');
      const [to, f] = queue.shift()!;
      to.session.receive(f);
    }
  };
  /** A opens, B accepts: both ends, watched. */
  const connect = (target = 'github') => {
    const s = A.session.open(target);
    const wa = watch(s);
    pump();
    const r = B.opened.at(-1)!;
    const wb = watch(r);
    r.accept();
    pump();
    return { s, r, wa, wb };
  };
  return { A, B, a: A.session, b: B.session, pump, connect, queue };
}

const types = (fs: Frame[]) => fs.map((f) => f.type);
const lastResetSent = (fs: Frame[]) => {
  const f = fs.filter((x) => x.type === FRAME.RESET).at(-1);
  return f?.type === FRAME.RESET ? { id: f.id, reason: f.reason } : undefined;
};

describe('mux: two sessions back to back', () => {
  it('opens, accepts, carries data both ways, FINs both ways and closes on both sides', () => {
    const { A, B, a, b, pump } = pair();
    const s = a.open('github');
    expect(s.id).toBe(1);
    expect(s.target).toBe('github');
    const wa = watch(s);
    pump();
    expect(B.opened).toHaveLength(1);
    const r = B.opened[0]!;
    expect(r.id).toBe(1);
    expect(r.target).toBe('github');
    const wb = watch(r);
    expect(wa.ev.accepted).toBe(0);
    r.accept();
    pump();
    expect(wa.ev.accepted).toBe(1);
    expect(s.isAccepted && r.isAccepted).toBe(true);

    expect(s.write(text('GET / HTTP/1.1\r\n'))).toBe(16);
    expect(r.write(text('HTTP/1.1 200 OK\r\n'))).toBe(17);
    pump();
    expect(str(wb.bytes())).toBe('GET / HTTP/1.1\r\n');
    expect(str(wa.bytes())).toBe('HTTP/1.1 200 OK\r\n');

    s.end();
    s.end(); // idempotent
    pump();
    expect(wb.ev.end).toBe(1);
    expect(wa.ev.closed + wb.ev.closed).toBe(0);
    r.end();
    pump();
    expect(wa.ev.end).toBe(1);
    expect([wa.ev.closed, wb.ev.closed]).toEqual([1, 1]);
    expect([wa.ev.reset, wb.ev.reset]).toEqual([undefined, undefined]);
    expect(s.closed && r.closed).toBe(true);
    expect([a.streamCount, b.streamCount]).toEqual([0, 0]);
    expect(types(A.sent)).toEqual([FRAME.OPEN, FRAME.DATA, FRAME.FIN]);
    expect(types(B.sent)).toEqual([FRAME.OPEN_ACK, FRAME.DATA, FRAME.FIN]);
    expect(A.sent.filter((f) => f.type === FRAME.FIN)).toHaveLength(1);
  });

  it('keeps a half-closed stream flowing the other way', () => {
    const { a, b, pump, connect } = pair();
    const { s, r, wa, wb } = connect();
    s.end();
    pump();
    expect(wb.ev.end).toBe(1);
    expect(s.sendWindow).toBe(0);
    expect(s.write(text('late'))).toBe(0);
    for (const part of ['one ', 'two ', 'three']) r.write(text(part));
    pump();
    expect(str(wa.bytes())).toBe('one two three');
    expect(a.streamCount).toBe(1);
    r.end();
    pump();
    expect(wa.ev.end).toBe(1);
    expect([wa.ev.closed, wb.ev.closed]).toEqual([1, 1]);
    expect([a.streamCount, b.streamCount]).toEqual([0, 0]);
  });

  it('stops the writer at exactly the initial window until the reader consumes', () => {
    const W = 128 * 1024;
    const { B, pump, connect } = pair({ a: { initialWindow: W }, b: { initialWindow: W } });
    const { s, r, wa, wb } = connect();
    expect(s.sendWindow).toBe(W);
    expect(s.write(new Uint8Array(W + 1000))).toBe(W);
    expect(s.sendWindow).toBe(0);
    expect(s.write(new Uint8Array(10))).toBe(0);
    pump();
    expect(wb.bytes().length).toBe(W);
    const credit0 = wa.ev.credit;
    const updates = () => B.sent.filter((f) => f.type === FRAME.WINDOW_UPDATE);

    r.consumed(W / 2 - 1);
    pump();
    expect(updates()).toHaveLength(0);
    expect(s.sendWindow).toBe(0);

    r.consumed(1);
    pump();
    expect(updates()).toEqual([{ type: FRAME.WINDOW_UPDATE, id: s.id, delta: W / 2 }]);
    expect(wa.ev.credit).toBe(credit0 + 1);
    expect(s.sendWindow).toBe(W / 2);
    expect(s.write(new Uint8Array(W))).toBe(W / 2);
    pump();
    expect(wb.bytes().length).toBe(W + W / 2);
  });

  it('never grants more than was received, however much the adapter claims to have consumed', () => {
    const W = EARLY_WINDOW;
    const { B, pump, connect } = pair({ a: { initialWindow: W }, b: { initialWindow: W } });
    const { s, r } = connect();
    s.write(new Uint8Array(1000));
    pump();
    r.consumed(10 * W);
    pump();
    expect(B.sent.filter((f) => f.type === FRAME.WINDOW_UPDATE)).toHaveLength(0);
    expect(s.sendWindow).toBe(W - 1000);
  });

  it('splits a write into DATA frames of at most maxFramePayload without copying the payload', () => {
    const parts: Uint8Array[][] = [];
    const a = new MuxSession({ initiator: true, maxFramePayload: 1000, send: (p) => parts.push(p) });
    const s = a.open('x');
    a.receive(concat(...encodeFrame({ type: FRAME.OPEN_ACK, id: s.id, window: EARLY_WINDOW })));
    const chunk = new Uint8Array(2500).map((_, i) => i);
    expect(s.write(chunk)).toBe(2500);
    const data = parts.slice(1);
    expect(data.map((p) => p[0]!.length)).toEqual([HEADER_LEN, HEADER_LEN, HEADER_LEN]);
    expect(data.map((p) => p[1]!.length)).toEqual([1000, 1000, 500]);
    for (const p of data) expect(p[1]!.buffer).toBe(chunk.buffer);
    expect(concat(...data.map((p) => p[1]!))).toEqual(chunk);
    expect(decodeFrame(concat(...data[2]!), 1000)).toEqual({ type: FRAME.DATA, id: 1, data: chunk.subarray(2000) });
  });

  it('sends several buffers as if concatenated: frames span them, nothing is copied, the window cuts anywhere', () => {
    const parts: Uint8Array[][] = [];
    const a = new MuxSession({ initiator: true, maxFramePayload: 1000, send: (p) => parts.push(p) });
    const s = a.open('x');
    a.receive(concat(...encodeFrame({ type: FRAME.OPEN_ACK, id: s.id, window: EARLY_WINDOW })));
    const bufs = [300, 0, 1500, 7, 900].map((n, k) => new Uint8Array(n).map((_, i) => (i * 7 + k) & 0xff));
    expect(s.write(bufs)).toBe(2707);
    const data = parts.slice(1);
    expect(data.map((p) => p.slice(1).reduce((n, x) => n + x.length, 0))).toEqual([1000, 1000, 707]);
    expect(data[0]!.slice(1).map((x) => x.length)).toEqual([300, 700]);
    for (const p of data) for (const x of p.slice(1)) expect(bufs.some((b) => b.buffer === x.buffer)).toBe(true);
    expect(concat(...data.flatMap((p) => p.slice(1)))).toEqual(concat(...bufs));
    // A window smaller than the whole takes a prefix and says how much.
    const b = new MuxSession({ initiator: true, maxFramePayload: 1000, send: () => {} });
    const t = b.open('y');
    b.receive(concat(...encodeFrame({ type: FRAME.OPEN_ACK, id: t.id, window: EARLY_WINDOW })));
    const big = [new Uint8Array(EARLY_WINDOW - 10), new Uint8Array(100)];
    expect(t.write(big)).toBe(EARLY_WINDOW);
    expect(t.write([new Uint8Array(5)])).toBe(0);
  });

  it('marks DATA as sole only when it is the one frame of a message the session was given to own', () => {
    const seen: boolean[] = [];
    const b = new MuxSession({ initiator: false, send: () => {}, onOpen: (s) => ((s.onData = (_c, sole) => seen.push(sole)), s.accept()) });
    b.receive(concat(...encodeFrame({ type: FRAME.OPEN, id: 1, target: 'x', window: EARLY_WINDOW })));
    const data = (n: number) => concat(...encodeFrame({ type: FRAME.DATA, id: 1, data: new Uint8Array(n) }));
    b.receive(data(100), true);
    b.receive(data(100), false);
    b.receive(concat(data(10), data(20)), true);
    b.receive(data(100));
    // A view of a larger buffer is not all of it: freeing the buffer would free more than this message.
    b.receive(concat(data(100), new Uint8Array(7)).subarray(0, 109), true);
    expect(seen).toEqual([true, false, false, false, false, false]);
  });

  it('lets the opener send EARLY_WINDOW bytes and a FIN before OPEN_ACK, held until accept', () => {
    const W = 2 * EARLY_WINDOW;
    const { A, pump, b } = pair({ a: { initialWindow: W }, b: { initialWindow: W } });
    const s = A.session.open('x');
    const wa = watch(s);
    expect(s.sendWindow).toBe(EARLY_WINDOW);
    expect(s.write(new Uint8Array(EARLY_WINDOW + 5).fill(7))).toBe(EARLY_WINDOW);
    expect(s.sendWindow).toBe(0);
    s.end();
    pump();
    const r = [...b.streams()][0]!;
    const wb = watch(r);
    expect(wb.bytes().length).toBe(0);
    expect(wb.ev.end).toBe(0);
    r.accept();
    expect(wb.bytes()).toEqual(new Uint8Array(EARLY_WINDOW).fill(7));
    expect(wb.ev.end).toBe(1);
    pump();
    expect(wa.ev.accepted).toBe(1);
    expect(s.sendWindow).toBe(0); // FIN sent: nothing more to send
    r.end();
    pump();
    expect([wa.ev.closed, wb.ev.closed]).toEqual([1, 1]);
  });

  it('grants early bytes back once consumed, like any others', () => {
    const W = 2 * EARLY_WINDOW;
    const { A, B, pump } = pair({ a: { initialWindow: W }, b: { initialWindow: W } });
    const s = A.session.open('x');
    expect(s.write(new Uint8Array(EARLY_WINDOW))).toBe(EARLY_WINDOW);
    pump();
    const r = B.opened[0]!;
    watch(r);
    r.accept();
    pump();
    expect(s.sendWindow).toBe(W - EARLY_WINDOW);
    r.consumed(EARLY_WINDOW);
    pump();
    expect(B.sent.filter((f) => f.type === FRAME.WINDOW_UPDATE)).toEqual([{ type: FRAME.WINDOW_UPDATE, id: s.id, delta: EARLY_WINDOW }]);
    expect(s.sendWindow).toBe(W);
  });

  it('counts early bytes against the window the acceptor grants', () => {
    const W = 2 * EARLY_WINDOW;
    const { a, pump, B } = pair({ b: { initialWindow: W } });
    const s = a.open('x');
    s.write(new Uint8Array(1000));
    pump();
    B.opened[0]!.accept();
    pump();
    expect(s.sendWindow).toBe(W - 1000);
  });

  it('gives the acceptor no send window before it accepts, and sends its FIN only after OPEN_ACK', () => {
    const { A, B, pump } = pair();
    const s = A.session.open('x');
    const wa = watch(s);
    pump();
    const r = B.opened[0]!;
    expect(r.sendWindow).toBe(0);
    expect(r.write(text('too soon'))).toBe(0);
    r.end();
    pump();
    expect(types(B.sent)).toEqual([]);
    r.accept();
    pump();
    expect(types(B.sent)).toEqual([FRAME.OPEN_ACK, FRAME.FIN]);
    expect(wa.ev.accepted).toBe(1);
    expect(wa.ev.end).toBe(1);
    expect(wa.ev.reset).toBeUndefined();
  });

  it('delivers a reset with every reason and its message to the other side', () => {
    for (const reason of Object.values(RESET_REASON)) {
      for (const from of ['acceptor', 'opener'] as const) {
        const { a, b, pump, connect } = pair();
        const { s, r, wa, wb } = connect();
        const [here, hereW, thereW] = from === 'acceptor' ? [r, wb, wa] : [s, wa, wb];
        here.reset(reason, `reason ${reason} from the ${from}`);
        expect(hereW.ev.reset).toEqual({ reason, message: `reason ${reason} from the ${from}`, remote: false });
        pump();
        expect(thereW.ev.reset).toEqual({ reason, message: `reason ${reason} from the ${from}`, remote: true });
        expect([wa.ev.closed, wb.ev.closed]).toEqual([1, 1]);
        expect([a.streamCount, b.streamCount]).toEqual([0, 0]);
      }
    }
  });

  it('refuses a stream with a reason before accepting it', () => {
    const { A, B, a, pump } = pair();
    const s = A.session.open('jira');
    const w = watch(s);
    pump();
    B.opened[0]!.reset(RESET_REASON.POLICY_DENIED, 'policy denied: not a reader');
    pump();
    expect(w.ev.accepted).toBe(0);
    expect(w.ev.reset).toEqual({ reason: RESET_REASON.POLICY_DENIED, message: 'policy denied: not a reader', remote: true });
    expect(a.streamCount).toBe(0);
  });

  it('resets a stream with OUTLET_UNKNOWN when the session has no onOpen', () => {
    const queue: Uint8Array[] = [];
    const a = new MuxSession({ initiator: true, send: (p) => queue.push(concat(...p)) });
    const b = new MuxSession({ initiator: false, send: (p) => a.receive(concat(...p)) });
    const w = watch(a.open('x'));
    b.receive(queue.shift()!);
    expect(w.ev.reset?.reason).toBe(RESET_REASON.OUTLET_UNKNOWN);
    expect(b.streamCount).toBe(0);
  });

  it('keeps many interleaved streams in both directions separate and in order', () => {
    const { a, b, A, B, pump } = pair();
    const streams: MuxStream[] = [];
    for (let i = 0; i < 6; i++) streams.push(a.open(`a${i}`), b.open(`b${i}`));
    pump();
    const peers = [...A.opened, ...B.opened];
    expect(peers).toHaveLength(12);
    for (const p of peers) p.accept();
    const seen = new Map<number, ReturnType<typeof watch>>();
    // watch every stream's peer end: ids are unique per session, and each end lives in the other session
    for (const p of peers) seen.set(p.id, watch(p));
    pump();
    expect(streams.map((s) => s.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const expected = new Map<number, number[]>();
    for (let round = 0; round < 30; round++) {
      for (const s of streams) {
        const n = (s.id * 7 + round * 13) % 50;
        const chunk = Uint8Array.from({ length: n }, (_, k) => (s.id * 31 + round + k) & 0xff);
        expect(s.write(chunk)).toBe(n);
        expected.set(s.id, [...(expected.get(s.id) ?? []), ...chunk]);
      }
      if (round % 7 === 0) pump();
    }
    pump();
    for (const s of streams) expect([...seen.get(s.id)!.bytes()]).toEqual(expected.get(s.id));
  });

  it('enforces maxStreams across both directions: a local open throws, a peer OPEN gets TOO_MANY_STREAMS', () => {
    const { a, b, A, B, pump } = pair({ a: { maxStreams: 2 }, b: { maxStreams: 2 } });
    const s1 = watch(a.open('one'));
    pump();
    b.open('from-b');
    pump();
    expect([a.streamCount, b.streamCount]).toEqual([2, 2]);
    let err: unknown;
    try {
      a.open('three');
    } catch (e) {
      err = e;
    }
    expect(isPosternError(err, 'POSTERN_MUX_TOO_MANY_STREAMS')).toBe(true);

    // A peer that ignores the limit: B is full, a further OPEN is refused without a stream
    const before = B.opened.length;
    b.receive(concat(...encodeFrame({ type: FRAME.OPEN, id: 3, target: 'x', window: EARLY_WINDOW })));
    expect(B.opened.length).toBe(before);
    expect(b.streamCount).toBe(2);
    expect(lastResetSent(B.sent)).toEqual({ id: 3, reason: RESET_REASON.TOO_MANY_STREAMS });
    expect(s1.ev.reset).toBeUndefined();
    expect(A.opened).toHaveLength(1);
  });

  it('refuses new streams after GO_AWAY either way while open streams carry on', () => {
    const got: [number, string][] = [];
    const { a, b, pump, connect, B } = pair({ a: { onGoAway: (r, m) => got.push([r, m]) } });
    const { s, wb } = connect();
    b.goAway(RESET_REASON.GOING_AWAY, 'hub restarting');
    b.goAway(RESET_REASON.GOING_AWAY, 'again'); // once only
    pump();
    expect(got).toEqual([[RESET_REASON.GOING_AWAY, 'hub restarting']]);
    expect(b.goingAway && a.goingAway).toBe(true);
    for (const side of [a, b]) {
      let err: unknown;
      try {
        side.open('x');
      } catch (e) {
        err = e;
      }
      expect(isPosternError(err, 'POSTERN_MUX_CLOSED')).toBe(true);
    }
    s.write(text('still here'));
    pump();
    expect(str(wb.bytes())).toBe('still here');
    // a peer that opens anyway is refused
    b.receive(concat(...encodeFrame({ type: FRAME.OPEN, id: 3, target: 'x', window: EARLY_WINDOW })));
    expect(lastResetSent(B.sent)).toEqual({ id: 3, reason: RESET_REASON.GOING_AWAY });
    expect(b.streamCount).toBe(1);
  });

  it('answers PING with PONG carrying the same opaque value', () => {
    const pongs: number[] = [];
    const { a, pump, B } = pair({ a: { onPong: (o) => pongs.push(o) } });
    a.ping(0);
    a.ping(0xdeadbeef);
    a.ping(-1); // taken as u32
    pump();
    expect(pongs).toEqual([0, 0xdeadbeef, 0xffffffff]);
    expect(types(B.sent)).toEqual([FRAME.PONG, FRAME.PONG, FRAME.PONG]);
  });

  it('close() resets every open stream locally with GOING_AWAY and sends nothing more', () => {
    const { a, A, pump, connect } = pair();
    const one = connect();
    const two = connect('jira');
    const sentBefore = A.sent.length;
    a.close('channel lost');
    expect(one.wa.ev.reset).toEqual({ reason: RESET_REASON.GOING_AWAY, message: 'channel lost', remote: false });
    expect(two.wa.ev.reset).toEqual({ reason: RESET_REASON.GOING_AWAY, message: 'channel lost', remote: false });
    expect([one.wa.ev.closed, two.wa.ev.closed]).toEqual([1, 1]);
    expect(a.streamCount).toBe(0);
    expect(a.isClosed).toBe(true);
    one.s.write(text('x'));
    one.s.end();
    one.s.reset(RESET_REASON.CANCELLED);
    a.ping(1);
    a.goAway(RESET_REASON.GOING_AWAY, 'bye');
    expect(() => a.open('x')).toThrow(expect.objectContaining({ code: 'POSTERN_MUX_CLOSED' }));
    a.receive(concat(...encodeFrame({ type: FRAME.PING, id: 0, opaque: 1 }))); // ignored
    expect(A.sent.length).toBe(sentBefore);
    pump();
  });

  it('allocates odd ids to the initiator and even ids to the responder, never reusing one', () => {
    const { a, b, pump, connect } = pair();
    const first = connect();
    first.s.reset(RESET_REASON.CANCELLED);
    pump();
    expect([a.open('x').id, a.open('y').id]).toEqual([3, 5]);
    expect([b.open('x').id, b.open('y').id]).toEqual([2, 4]);
  });

  it('throws once stream ids are exhausted', () => {
    const a = new MuxSession({ initiator: true, send: () => {} });
    Reflect.set(a, 'nextId', 0xffffffff);
    expect(a.open('x').id).toBe(0xffffffff);
    expect(() => a.open('x')).toThrow(expect.objectContaining({ code: 'POSTERN_MUX_CLOSED' }));
  });

  it('rejects an outlet name that does not fit str8', () => {
    const a = new MuxSession({ initiator: true, send: () => {} });
    expect(() => a.open('')).toThrow(expect.objectContaining({ code: 'POSTERN_BAD_NAME' }));
    expect(() => a.open('é'.repeat(128))).toThrow(expect.objectContaining({ code: 'POSTERN_BAD_NAME' }));
    expect(a.open('é'.repeat(127)).target).toBe('é'.repeat(127));
    expect(a.streamCount).toBe(1);
  });

  it('processes several whole frames in one channel message', () => {
    const { A, B, pump } = pair();
    const s = A.session.open('x');
    pump();
    const r = B.opened[0]!;
    const w = watch(r);
    r.accept();
    pump();
    const msg = concat(
      ...encodeFrame({ type: FRAME.DATA, id: s.id, data: text('ab') }),
      ...encodeFrame({ type: FRAME.DATA, id: s.id, data: text('cd') }),
      ...encodeFrame({ type: FRAME.FIN, id: s.id }),
    );
    B.session.receive(msg);
    expect(str(w.bytes())).toBe('abcd');
    expect(w.ev.end).toBe(1);
  });
});

describe('mux frame codec edges', () => {
  it('keeps a message that starts with U+FEFF', () => {
    const f: Frame = { type: FRAME.RESET, id: 1, reason: RESET_REASON.INTERNAL, message: '\uFEFFbom' };
    expect(decodeFrame(concat(...encodeFrame(f)))).toEqual(f);
  });

  it('cuts a message longer than 255 bytes on a character boundary', () => {
    const f = decodeFrame(concat(...encodeFrame({ type: FRAME.GO_AWAY, id: 0, reason: RESET_REASON.GOING_AWAY, message: 'é'.repeat(200) })));
    expect(f).toEqual({ type: FRAME.GO_AWAY, id: 0, reason: RESET_REASON.GOING_AWAY, message: 'é'.repeat(127) });
    const g = decodeFrame(concat(...encodeFrame({ type: FRAME.RESET, id: 1, reason: 1, message: 'a'.repeat(300) })));
    expect(g).toMatchObject({ message: 'a'.repeat(255) });
  });

  it('refuses to encode fields that do not fit their wire size', () => {
    expect(() => encodeFrame({ type: FRAME.WINDOW_UPDATE, id: 1, delta: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeFrame({ type: FRAME.FIN, id: -1 })).toThrow(RangeError);
    expect(() => encodeFrame({ type: FRAME.RESET, id: 1, reason: 256, message: '' })).toThrow(RangeError);
    expect(() => encodeFrame({ type: FRAME.OPEN, id: 1, target: '', window: 1 })).toThrow(RangeError);
    expect(() => encodeFrame({ type: FRAME.OPEN, id: 1, target: 'x'.repeat(256), window: 1 })).toThrow(RangeError);
  });

  it('decodeFrame enforces the DATA limit it is given (DEFAULT_MAX_FRAME_PAYLOAD by default)', () => {
    const data = (n: number) => concat(...encodeFrame({ type: FRAME.DATA, id: 1, data: new Uint8Array(n) }));
    expect(() => decodeFrame(data(1001), 1000)).toThrow(MuxProtocolError);
    expect(decodeFrame(data(1000), 1000).type).toBe(FRAME.DATA);
    expect(() => decodeFrame(data(DEFAULT_MAX_FRAME_PAYLOAD + 1))).toThrow(MuxProtocolError);
    expect(decodeFrame(data(DEFAULT_MAX_FRAME_PAYLOAD)).type).toBe(FRAME.DATA);
  });
});

describe('mux against a misbehaving peer', () => {
  /** A real session fed crafted frames by a fake peer; it records what it sends back. */
  function victim(o: Partial<MuxOptions> & { accept?: boolean } = {}) {
    const sent: Frame[] = [];
    const opened: MuxStream[] = [];
    const watched = new Map<number, ReturnType<typeof watch>>();
    const session = new MuxSession({
      initiator: false,
      initialWindow: EARLY_WINDOW,
      send: (parts) => sent.push(decodeFrame(concat(...parts), Number.MAX_SAFE_INTEGER)),
      onOpen: (st) => {
        opened.push(st);
        watched.set(st.id, watch(st));
        if (o.accept !== false) st.accept();
      },
      ...o,
    });
    const feed = (...fs: Frame[]) => session.receive(concat(...fs.flatMap((f) => encodeFrame(f))));
    const open = (id: number, window = EARLY_WINDOW) => feed({ type: FRAME.OPEN, id, target: 'x', window });
    const lastReset = () => lastResetSent(sent);
    return { session, sent, opened, watched, feed, open, lastReset, w: (id: number) => watched.get(id)! };
  }

  it('resets a stream whose peer overruns the receive window, delivering nothing beyond it', () => {
    const v = victim();
    v.open(1);
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(40_000).fill(1) });
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(40_000).fill(2) });
    expect(v.w(1).bytes()).toEqual(new Uint8Array(40_000).fill(1));
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.FLOW_CONTROL });
    expect(v.w(1).ev.reset).toMatchObject({ reason: RESET_REASON.FLOW_CONTROL, remote: false });
    expect(v.session.streamCount).toBe(0);
    // stream-level only: the session carries on, and the racing frames are ignored
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(10) });
    v.open(3);
    expect(v.session.streamCount).toBe(1);
  });

  it('accepts exactly the window, then resets on one byte more', () => {
    const v = victim();
    v.open(1);
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(60_000) });
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(EARLY_WINDOW - 60_001) });
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(1) });
    expect(v.lastReset()).toBeUndefined();
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(1) });
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.FLOW_CONTROL });
    expect(v.w(1).bytes().length).toBe(EARLY_WINDOW);
  });

  it('holds at most EARLY_WINDOW bytes before accept, then resets FLOW_CONTROL', () => {
    const v = victim({ accept: false, initialWindow: 4 * EARLY_WINDOW });
    v.open(1);
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(60_000) });
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(EARLY_WINDOW - 60_000) });
    expect(v.opened[0]!.closed).toBe(false);
    v.feed({ type: FRAME.DATA, id: 1, data: new Uint8Array(1) });
    expect(v.opened[0]!.closed).toBe(true);
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.FLOW_CONTROL });
    expect(v.w(1).bytes().length).toBe(0);
  });

  it('resets PROTOCOL when a WINDOW_UPDATE would push the send window above 2^31-1', () => {
    const v = victim();
    v.open(1, EARLY_WINDOW);
    v.feed({ type: FRAME.WINDOW_UPDATE, id: 1, delta: MAX_WINDOW - EARLY_WINDOW });
    expect(v.opened[0]!.sendWindow).toBe(MAX_WINDOW);
    expect(v.lastReset()).toBeUndefined();
    v.feed({ type: FRAME.WINDOW_UPDATE, id: 1, delta: 1 });
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.PROTOCOL });
    expect(v.session.streamCount).toBe(0);
  });

  it('resets PROTOCOL on a WINDOW_UPDATE of 0 and on one before the stream was accepted', () => {
    const v = victim();
    v.open(1);
    v.feed({ type: FRAME.WINDOW_UPDATE, id: 1, delta: 0 });
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.PROTOCOL });
    const u = victim({ accept: false });
    u.open(1);
    u.feed({ type: FRAME.WINDOW_UPDATE, id: 1, delta: 100 });
    expect(u.lastReset()).toEqual({ id: 1, reason: RESET_REASON.PROTOCOL });
  });

  it('resets PROTOCOL on DATA after FIN and on a second FIN, delivering nothing after the FIN', () => {
    const v = victim();
    v.open(1);
    v.feed({ type: FRAME.DATA, id: 1, data: text('ok') }, { type: FRAME.FIN, id: 1 });
    expect(v.w(1).ev.end).toBe(1);
    v.feed({ type: FRAME.DATA, id: 1, data: text('late') });
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.PROTOCOL });
    expect(str(v.w(1).bytes())).toBe('ok');
    v.open(3);
    v.feed({ type: FRAME.FIN, id: 3 }, { type: FRAME.FIN, id: 3 });
    expect(v.lastReset()).toEqual({ id: 3, reason: RESET_REASON.PROTOCOL });
  });

  it('resets PROTOCOL on an OPEN with this side\'s parity, without a stream', () => {
    const v = victim();
    v.open(2);
    expect(v.lastReset()).toEqual({ id: 2, reason: RESET_REASON.PROTOCOL });
    expect(v.opened).toHaveLength(0);
    expect(v.session.streamCount).toBe(0);
    // and the initiator's side likewise refuses odd ids
    const sent: Frame[] = [];
    const ini = new MuxSession({ initiator: true, send: (p) => sent.push(decodeFrame(concat(...p))), onOpen: () => expect.unreachable() });
    ini.receive(concat(...encodeFrame({ type: FRAME.OPEN, id: 7, target: 'x', window: EARLY_WINDOW })));
    expect(lastResetSent(sent)).toEqual({ id: 7, reason: RESET_REASON.PROTOCOL });
  });

  it('resets PROTOCOL on an OPEN that reuses a closed id or goes backwards', () => {
    const v = victim();
    v.open(5);
    v.feed({ type: FRAME.RESET, id: 5, reason: RESET_REASON.CANCELLED, message: '' });
    expect(v.session.streamCount).toBe(0);
    v.open(5);
    expect(v.lastReset()).toEqual({ id: 5, reason: RESET_REASON.PROTOCOL });
    v.open(3);
    expect(v.lastReset()).toEqual({ id: 3, reason: RESET_REASON.PROTOCOL });
    expect(v.opened).toHaveLength(1);
  });

  it('resets PROTOCOL on an OPEN whose window is below EARLY_WINDOW or above 2^31-1', () => {
    const v = victim();
    v.open(1, EARLY_WINDOW - 1);
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.PROTOCOL });
    v.open(3, MAX_WINDOW + 1);
    expect(v.lastReset()).toEqual({ id: 3, reason: RESET_REASON.PROTOCOL });
    expect(v.opened).toHaveLength(0);
  });

  it('treats an OPEN that reuses a live id as session-fatal', () => {
    const v = victim();
    v.open(1);
    expect(() => v.open(1)).toThrow(MuxProtocolError);
  });

  it('resets PROTOCOL on OPEN_ACK for a stream it did not open, or a second OPEN_ACK', () => {
    const v = victim();
    v.open(1);
    v.feed({ type: FRAME.OPEN_ACK, id: 1, window: EARLY_WINDOW });
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.PROTOCOL });

    const sent: Frame[] = [];
    const ini = new MuxSession({ initiator: true, send: (p) => sent.push(decodeFrame(concat(...p))) });
    const s = ini.open('x');
    const w = watch(s);
    const ack = concat(...encodeFrame({ type: FRAME.OPEN_ACK, id: s.id, window: EARLY_WINDOW }));
    ini.receive(ack);
    expect(w.ev.accepted).toBe(1);
    ini.receive(ack);
    expect(lastResetSent(sent)).toEqual({ id: s.id, reason: RESET_REASON.PROTOCOL });
    expect(w.ev.reset).toMatchObject({ reason: RESET_REASON.PROTOCOL, remote: false });
  });

  it('resets PROTOCOL on DATA, FIN, WINDOW_UPDATE before OPEN_ACK and an OPEN_ACK window out of range', () => {
    const cases: Frame[][] = [
      [{ type: FRAME.DATA, id: 1, data: text('x') }],
      [{ type: FRAME.FIN, id: 1 }],
      [{ type: FRAME.WINDOW_UPDATE, id: 1, delta: 10 }],
      [{ type: FRAME.OPEN_ACK, id: 1, window: EARLY_WINDOW - 1 }],
      [{ type: FRAME.OPEN_ACK, id: 1, window: MAX_WINDOW + 1 }],
    ];
    for (const fs of cases) {
      const sent: Frame[] = [];
      const ini = new MuxSession({ initiator: true, send: (p) => sent.push(decodeFrame(concat(...p))) });
      const w = watch(ini.open('x'));
      ini.receive(concat(...fs.flatMap((f) => encodeFrame(f))));
      expect(lastResetSent(sent)).toEqual({ id: 1, reason: RESET_REASON.PROTOCOL });
      expect(w.bytes().length).toBe(0);
      expect([w.ev.accepted, w.ev.end, ini.streamCount]).toEqual([0, 0, 0]);
    }
  });

  it('ignores frames for unknown or closed stream ids, except OPEN', () => {
    const v = victim();
    v.open(1);
    v.feed({ type: FRAME.RESET, id: 1, reason: RESET_REASON.CANCELLED, message: 'bye' });
    const n = v.sent.length;
    v.feed(
      { type: FRAME.DATA, id: 1, data: text('racing') },
      { type: FRAME.WINDOW_UPDATE, id: 1, delta: 5 },
      { type: FRAME.FIN, id: 1 },
      { type: FRAME.RESET, id: 1, reason: 1, message: '' },
      { type: FRAME.OPEN_ACK, id: 1, window: EARLY_WINDOW },
      { type: FRAME.DATA, id: 99, data: text('never opened') },
      { type: FRAME.FIN, id: 1000 },
    );
    expect(v.sent.length).toBe(n);
    expect(v.w(1).bytes().length).toBe(0);
  });

  it('decodes an unknown reset reason as INTERNAL', () => {
    const v = victim();
    v.open(1);
    v.feed({ type: FRAME.RESET, id: 1, reason: 200, message: 'from the future' });
    expect(v.w(1).ev.reset).toEqual({ reason: RESET_REASON.INTERNAL, message: 'from the future', remote: true });
  });

  it('refuses an OPEN beyond maxStreams without creating the stream', () => {
    const v = victim({ maxStreams: 1 });
    v.open(1);
    v.open(3);
    expect(v.lastReset()).toEqual({ id: 3, reason: RESET_REASON.TOO_MANY_STREAMS });
    expect(v.opened.map((s) => s.id)).toEqual([1]);
    v.feed({ type: FRAME.DATA, id: 3, data: text('x') }); // ignored
    expect(v.session.streamCount).toBe(1);
  });

  it('refuses an OPEN after it sent GO_AWAY', () => {
    const v = victim();
    v.session.goAway(RESET_REASON.GOING_AWAY, 'draining');
    v.open(1);
    expect(v.lastReset()).toEqual({ id: 1, reason: RESET_REASON.GOING_AWAY });
    expect(v.opened).toHaveLength(0);
  });

  describe('session-fatal input throws MuxProtocolError', () => {
    const fin = concat(...encodeFrame({ type: FRAME.FIN, id: 1 }));
    const data = (n: number, id = 1) => concat(...encodeFrame({ type: FRAME.DATA, id, data: new Uint8Array(n) }));
    const raw = (type: number, id: number, body: number[]) => {
      const b = new Uint8Array(HEADER_LEN + body.length);
      b[0] = type;
      new DataView(b.buffer).setUint32(1, id);
      new DataView(b.buffer).setUint32(5, body.length);
      b.set(body, HEADER_LEN);
      return b;
    };
    const cases: [string, Uint8Array][] = [
      ['an empty message', new Uint8Array(0)],
      ...[1, 4, 8].map((n): [string, Uint8Array] => [`a ${n}-byte truncated header`, fin.subarray(0, n)]),
      ['a truncated body', data(10).subarray(0, HEADER_LEN + 9)],
      ['a length beyond the message', Uint8Array.of(FRAME.FIN, 0, 0, 0, 1, 0, 0, 0, 5)],
      ['trailing bytes after a frame', concat(fin, Uint8Array.of(0, 0, 0))],
      ['unknown type 9', raw(9, 1, [])],
      ['unknown type 9 with a GO_AWAY-like body', raw(9, 0, [10, 0])],
      ['unknown type 255', raw(255, 0, [])],
      ['an oversized DATA frame', data(DEFAULT_MAX_FRAME_PAYLOAD + 1)],
      ['DATA on stream 0', data(1, 0)],
      ['FIN on stream 0', raw(FRAME.FIN, 0, [])],
      ['OPEN on stream 0', raw(FRAME.OPEN, 0, [1, 120, 0, 1, 0, 0])],
      ['PING on a stream', raw(FRAME.PING, 1, [0, 0, 0, 0])],
      ['GO_AWAY on a stream', raw(FRAME.GO_AWAY, 2, [10, 0])],
      ['a FIN with a body', raw(FRAME.FIN, 1, [0])],
      ['a 3-byte WINDOW_UPDATE', raw(FRAME.WINDOW_UPDATE, 1, [0, 0, 1])],
      ['a 5-byte OPEN_ACK', raw(FRAME.OPEN_ACK, 1, [0, 1, 0, 0, 0])],
      ['a PONG without opaque', raw(FRAME.PONG, 0, [])],
      ['an OPEN with an empty target', raw(FRAME.OPEN, 1, [0, 0, 1, 0, 0])],
      ['an OPEN whose target overruns', raw(FRAME.OPEN, 1, [9, 120, 0, 1, 0, 0])],
      ['an OPEN target that is not UTF-8', raw(FRAME.OPEN, 1, [1, 0xff, 0, 1, 0, 0])],
      ['a RESET without message length', raw(FRAME.RESET, 1, [5])],
      ['a RESET whose message length lies', raw(FRAME.RESET, 1, [5, 3, 65])],
      ['a GO_AWAY message that is not UTF-8', raw(FRAME.GO_AWAY, 0, [10, 2, 0xc3, 0x28])],
    ];
    for (const [name, bytes] of cases) {
      it(name, () => {
        const v = victim();
        v.open(1);
        let err: unknown;
        try {
          v.session.receive(bytes);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(MuxProtocolError);
        expect(isPosternError(err, 'POSTERN_MUX_PROTOCOL')).toBe(true);
      });
    }

    it('a DATA frame of exactly maxFramePayload is fine, one byte more is fatal (custom limit too)', () => {
      const v = victim({ initialWindow: 2 * DEFAULT_MAX_FRAME_PAYLOAD });
      v.open(1);
      v.session.receive(data(DEFAULT_MAX_FRAME_PAYLOAD));
      expect(v.w(1).bytes().length).toBe(DEFAULT_MAX_FRAME_PAYLOAD);
      const u = victim({ maxFramePayload: 1000 });
      u.open(1);
      u.session.receive(data(1000));
      expect(() => u.session.receive(data(1001))).toThrow(MuxProtocolError);
    });
  });
});
