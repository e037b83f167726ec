/**
 * The stream multiplexer in memory: two sessions back to back, and a
 * misbehaving peer feeding crafted frames.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concat } from '../../../protocol/bytes.ts';
import { PosternError } from '../../../protocol/errors.ts';
import { DEFAULT_MAX_FRAME_PAYLOAD, EARLY_WINDOW, encodeFrame, FRAME, MuxProtocolError, MuxSession, RESET_REASON, type MuxStream } from '../../../protocol/mux/index.ts';

function pair(o: { window?: number; maxStreams?: number } = {}) {
  const queue: [MuxSession, Uint8Array][] = [];
  const sentByA: Uint8Array[] = [];
  const opened: { stream: MuxStream; target: string }[] = [];
  const a: MuxSession = new MuxSession({
    initiator: true,
    initialWindow: o.window,
    send: (parts) => {
      const f = concat(...parts);
      sentByA.push(f);
      queue.push([b, f]);
    },
  });
  const b: MuxSession = new MuxSession({
    initiator: false,
    initialWindow: o.window,
    maxStreams: o.maxStreams,
    send: (parts) => queue.push([a, concat(...parts)]),
    onOpen: (stream, target) => opened.push({ stream, target }),
  });
  const pump = () => {
    while (queue.length > 0) {
      const [to, f] = queue.shift()!;
      to.receive(f);
    }
  };
  return { a, b, pump, opened, sentByA };
}

function collect(s: MuxStream) {
  const got: Uint8Array[] = [];
  const ev = { end: false, reset: undefined as undefined | { reason: number; message: string; remote: boolean }, closed: false, accepted: false };
  s.onData = (c) => got.push(c.slice());
  s.onEnd = () => (ev.end = true);
  s.onReset = (reason, message, remote) => (ev.reset = { reason, message, remote });
  s.onClose = () => (ev.closed = true);
  s.onAccepted = () => (ev.accepted = true);
  return { bytes: () => concat(...got), ev };
}

describe('mux sessions', () => {
  /** Type and stream id of each frame A sent (one frame per send). */
  const frames = (sent: Uint8Array[]) => sent.map((f) => [f[0], (f[1]! << 24) | (f[2]! << 16) | (f[3]! << 8) | f[4]!]);

  it('holds a deferred OPEN until the stream first sends, then sends it just before: the peer accepts it as any other', () => {
    const { a, b, pump, opened, sentByA } = pair();
    const s = a.open('github', { defer: true });
    const sa = collect(s);
    pump();
    expect(sentByA).toEqual([]);
    expect(opened).toEqual([]);
    expect(s.write(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'))).toBe(18);
    expect(frames(sentByA)).toEqual([
      [FRAME.OPEN, 1],
      [FRAME.DATA, 1],
    ]);
    pump();
    const r = opened[0]!.stream;
    const rb = collect(r);
    r.accept();
    pump();
    expect(sa.ev.accepted).toBe(true);
    expect(new TextDecoder().decode(rb.bytes())).toBe('GET / HTTP/1.1\r\n\r\n');
    // Nothing sent twice: a later announce() and later writes send no second OPEN.
    s.announce();
    s.write(Uint8Array.of(1));
    expect(frames(sentByA).filter(([t]) => t === FRAME.OPEN)).toHaveLength(1);
    expect(b.streamCount).toBe(1);
  });

  it('sends a deferred OPEN alone on announce(), or before a FIN; only once', () => {
    const { a, sentByA } = pair();
    const s1 = a.open('x', { defer: true });
    s1.announce();
    s1.announce();
    const s3 = a.open('y', { defer: true });
    s3.end();
    expect(frames(sentByA)).toEqual([
      [FRAME.OPEN, 1],
      [FRAME.OPEN, 3],
      [FRAME.FIN, 3],
    ]);
  });

  it('announces deferred streams in the order of their ids, which the peer requires', () => {
    const { a, pump, opened, sentByA } = pair();
    a.open('one', { defer: true });
    const s3 = a.open('three', { defer: true });
    a.open('five', { defer: true });
    s3.write(Uint8Array.of(3));
    a.open('seven');
    expect(frames(sentByA)).toEqual([
      [FRAME.OPEN, 1],
      [FRAME.OPEN, 3],
      [FRAME.DATA, 3],
      [FRAME.OPEN, 5],
      [FRAME.OPEN, 7],
    ]);
    pump();
    // None refused for its id.
    expect(opened.map((o) => o.target)).toEqual(['one', 'three', 'five', 'seven']);
    expect(opened.every((o) => !o.stream.closed)).toBe(true);
  });

  it('a deferred stream reset or closed before it was announced is never heard of', () => {
    const { a, pump, opened, sentByA } = pair();
    const s1 = a.open('x', { defer: true });
    const e1 = collect(s1);
    s1.reset(RESET_REASON.CANCELLED, 'client left');
    expect(e1.ev.reset).toMatchObject({ reason: RESET_REASON.CANCELLED, remote: false });
    expect(e1.ev.closed).toBe(true);
    pump();
    expect(sentByA).toEqual([]);
    expect(opened).toEqual([]);
    expect(a.streamCount).toBe(0);
    // A later stream is announced past the forgotten id, and the peer takes it.
    const s3 = a.open('y', { defer: true });
    s3.announce();
    expect(frames(sentByA)).toEqual([[FRAME.OPEN, 3]]);
    pump();
    expect(opened.map((o) => [o.stream.id, o.target, o.stream.closed])).toEqual([[3, 'y', false]]);
  });

  it('ignores frames from the peer for a deferred stream it has not been told of, as for any stream not open', () => {
    const { a, pump, opened, sentByA } = pair();
    const s = a.open('x', { defer: true });
    const e = collect(s);
    // A guessed OPEN_ACK (and a FIN) for the id the next stream will have.
    a.receive(concat(...encodeFrame({ type: FRAME.OPEN_ACK, id: 1, window: EARLY_WINDOW })));
    a.receive(concat(...encodeFrame({ type: FRAME.FIN, id: 1 })));
    a.receive(concat(...encodeFrame({ type: FRAME.DATA, id: 1, data: Uint8Array.of(9) })));
    expect(e.ev.accepted).toBe(false);
    expect(e.ev.reset).toBeUndefined();
    expect(s.closed).toBe(false);
    expect(e.ev.end).toBe(false);
    expect(sentByA).toEqual([]);
    // The stream goes on as usual once announced.
    s.write(Uint8Array.of(1, 2, 3));
    pump();
    const r = opened[0]!.stream;
    r.accept();
    pump();
    expect(e.ev.accepted).toBe(true);
    expect(frames(sentByA).map(([t]) => t)).toEqual([FRAME.OPEN, FRAME.DATA]);
  });

  it('announces deferred streams before GO_AWAY, so the peer does not refuse them for it', () => {
    const { a, pump, opened, sentByA } = pair();
    a.open('x', { defer: true });
    a.goAway(RESET_REASON.GOING_AWAY, 'draining');
    expect(frames(sentByA).map(([t]) => t)).toEqual([FRAME.OPEN, FRAME.GO_AWAY]);
    pump();
    expect(opened).toHaveLength(1);
    expect(opened[0]!.stream.closed).toBe(false);
  });

  it('opens, accepts, carries data both ways, half-closes each way and closes', () => {
    const { a, pump, opened } = pair();
    const s = a.open('github');
    const sa = collect(s);
    pump();
    expect(opened.map((o) => o.target)).toEqual(['github']);
    const r = opened[0]!.stream;
    const rb = collect(r);
    // Early data: sent before OPEN_ACK, held by the acceptor until it accepts.
    expect(s.write(new TextEncoder().encode('early '))).toBe(6);
    pump();
    expect(rb.bytes().length).toBe(0);
    r.accept();
    pump();
    expect(sa.ev.accepted).toBe(true);
    expect(new TextDecoder().decode(rb.bytes())).toBe('early ');
    expect(s.write(new TextEncoder().encode('hello'))).toBe(5);
    s.end();
    pump();
    expect(new TextDecoder().decode(rb.bytes())).toBe('early hello');
    expect(rb.ev.end).toBe(true);
    // half-closed: the other way still flows
    r.write(new TextEncoder().encode('world'));
    pump();
    expect(new TextDecoder().decode(sa.bytes())).toBe('world');
    expect(a.streamCount).toBe(1);
    r.end();
    pump();
    expect(sa.ev.end && sa.ev.closed && rb.ev.closed).toBe(true);
    expect(a.streamCount).toBe(0);
  });

  it('stops a writer at exactly the window until the reader consumes, then grants in half windows', () => {
    const W = 100_000;
    const { a, pump, opened } = pair({ window: W });
    const s = a.open('x');
    expect(s.sendWindow).toBe(EARLY_WINDOW);
    pump();
    const r = opened[0]!.stream;
    const rb = collect(r);
    r.accept();
    pump();
    expect(s.write(new Uint8Array(W + 500))).toBe(W);
    expect(s.sendWindow).toBe(0);
    pump();
    expect(rb.bytes().length).toBe(W);
    let credited = 0;
    s.onCredit = () => credited++;
    r.consumed(W / 2 - 1);
    pump();
    expect(credited).toBe(0);
    r.consumed(1);
    pump();
    expect(credited).toBe(1);
    expect(s.sendWindow).toBe(W / 2);
  });

  it('counts early data against the window the acceptor grants', () => {
    const { a, pump, opened } = pair({ window: EARLY_WINDOW });
    const s = a.open('x');
    expect(s.write(new Uint8Array(EARLY_WINDOW + 10))).toBe(EARLY_WINDOW);
    expect(s.sendWindow).toBe(0);
    pump();
    const rb = collect(opened[0]!.stream);
    opened[0]!.stream.accept();
    pump();
    expect(rb.bytes().length).toBe(EARLY_WINDOW);
    expect(s.sendWindow).toBe(0);
  });

  it('delivers a reset with its reason and message to the other side', () => {
    for (const reason of Object.values(RESET_REASON)) {
      const { a, pump, opened } = pair();
      const s = a.open('x');
      const sa = collect(s);
      pump();
      opened[0]!.stream.reset(reason, `because ${reason}`);
      pump();
      expect(sa.ev.reset).toEqual({ reason, message: `because ${reason}`, remote: true });
      expect(a.streamCount).toBe(0);
    }
  });

  it('keeps interleaved streams separate and in order', () => {
    const { a, pump, opened } = pair({ window: 1 << 20 });
    const streams = Array.from({ length: 10 }, (_, i) => a.open(`t${i}`));
    pump();
    const readers = opened.map((o) => {
      o.stream.accept();
      return collect(o.stream);
    });
    pump();
    for (let round = 0; round < 20; round++) for (const [i, s] of streams.entries()) s.write(Uint8Array.of(i, round));
    pump();
    readers.forEach((rd, i) => expect([...rd.bytes()]).toEqual(Array.from({ length: 20 }, (_, r) => [i, r]).flat()));
  });

  it('refuses streams beyond the limit with TOO_MANY_STREAMS', () => {
    const { a, pump } = pair({ maxStreams: 2 });
    const ss = [a.open('a'), a.open('b'), a.open('c')].map((s) => collect(s));
    pump();
    expect(ss[2]!.ev.reset?.reason).toBe(RESET_REASON.TOO_MANY_STREAMS);
    expect(ss[0]!.ev.reset).toBeUndefined();
  });

  it('answers pings and refuses new streams after GO_AWAY', () => {
    const queue: Uint8Array[] = [];
    let pong = -1;
    const a = new MuxSession({ initiator: true, send: (p) => queue.push(concat(...p)), onPong: (o) => (pong = o) });
    const b = new MuxSession({ initiator: false, send: (p) => a.receive(concat(...p)) });
    a.ping(1234);
    b.receive(queue.shift()!);
    expect(pong).toBe(1234);
    b.goAway(RESET_REASON.GOING_AWAY, 'bye');
    expect(() => a.open('x')).toThrow(PosternError);
  });
});

describe('mux against a misbehaving peer', () => {
  function victim(window = EARLY_WINDOW) {
    const sent: Uint8Array[] = [];
    const streams: MuxStream[] = [];
    const s = new MuxSession({ initiator: false, initialWindow: window, send: (p) => sent.push(concat(...p)), onOpen: (st) => (streams.push(st), st.accept()) });
    const frame = (f: Parameters<typeof encodeFrame>[0]) => s.receive(concat(...encodeFrame(f)));
    const lastReset = () => {
      const f = sent.at(-1)!;
      return f[0] === FRAME.RESET ? f[9] : undefined;
    };
    return { s, sent, streams, frame, lastReset };
  }

  it('resets a stream whose peer overruns the window, delivering nothing beyond it', () => {
    const v = victim(EARLY_WINDOW);
    v.frame({ type: FRAME.OPEN, id: 1, target: 'x', window: EARLY_WINDOW });
    const got = collect(v.streams[0]!);
    v.frame({ type: FRAME.DATA, id: 1, data: new Uint8Array(40_000) });
    v.frame({ type: FRAME.DATA, id: 1, data: new Uint8Array(40_000) });
    expect(got.bytes().length).toBe(40_000);
    expect(v.lastReset()).toBe(RESET_REASON.FLOW_CONTROL);
    expect(v.s.streamCount).toBe(0);
  });

  it('refuses the wrong stream parity, DATA after FIN and a window above 2^31-1', () => {
    const v = victim();
    v.frame({ type: FRAME.OPEN, id: 2, target: 'x', window: EARLY_WINDOW });
    expect(v.lastReset()).toBe(RESET_REASON.PROTOCOL);
    v.frame({ type: FRAME.OPEN, id: 3, target: 'x', window: EARLY_WINDOW });
    v.frame({ type: FRAME.FIN, id: 3 });
    v.frame({ type: FRAME.DATA, id: 3, data: Uint8Array.of(1) });
    expect(v.lastReset()).toBe(RESET_REASON.PROTOCOL);
    v.frame({ type: FRAME.OPEN, id: 5, target: 'x', window: EARLY_WINDOW });
    v.frame({ type: FRAME.WINDOW_UPDATE, id: 5, delta: 0x7fffffff });
    expect(v.lastReset()).toBe(RESET_REASON.PROTOCOL);
  });

  it('treats an unknown type, a bad length, a truncated header, an oversized DATA frame and a reused live id as fatal', () => {
    const bad = [
      Uint8Array.of(99, 0, 0, 0, 1, 0, 0, 0, 0),
      Uint8Array.of(FRAME.FIN, 0, 0, 0, 1, 0, 0, 0, 5),
      Uint8Array.of(FRAME.DATA, 0, 0),
      concat(...encodeFrame({ type: FRAME.DATA, id: 1, data: new Uint8Array(DEFAULT_MAX_FRAME_PAYLOAD + 1) })),
      concat(...encodeFrame({ type: FRAME.FIN, id: 0 })),
    ];
    for (const f of bad) expect(() => victim().s.receive(f)).toThrow(MuxProtocolError);
    const v = victim();
    v.frame({ type: FRAME.OPEN, id: 1, target: 'x', window: EARLY_WINDOW });
    expect(() => v.frame({ type: FRAME.OPEN, id: 1, target: 'x', window: EARLY_WINDOW })).toThrow(MuxProtocolError);
  });

  it('never holds received bytes: random frames either work or throw MuxProtocolError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 }), (frames) => {
        const v = victim();
        for (const f of frames) {
          try {
            v.s.receive(f);
          } catch (e) {
            expect(e).toBeInstanceOf(MuxProtocolError);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('mux properties', () => {
  it('random writes and consumes across streams deliver every byte exactly, never beyond the window', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(3), fc.nat(40_000), fc.boolean()), { maxLength: 40 }), (ops) => {
        const W = EARLY_WINDOW;
        const { a, pump, opened } = pair({ window: W });
        const streams = [0, 1, 2, 3].map((i) => a.open(`s${i}`));
        pump();
        const sent = streams.map(() => [] as number[]);
        const readers = opened.map((o) => {
          o.stream.accept();
          return collect(o.stream);
        });
        pump();
        let seq = 0;
        const delivered = [0, 0, 0, 0];
        for (const [i, n, consume] of ops) {
          const data = Uint8Array.from({ length: n }, () => seq++ & 0xff);
          const took = streams[i]!.write(data);
          sent[i]!.push(...data.subarray(0, took));
          pump();
          const have = readers[i]!.bytes().length;
          expect(have - delivered[i]!).toBeLessThanOrEqual(W);
          if (consume) {
            opened[i]!.stream.consumed(have - delivered[i]!);
            delivered[i] = have;
            pump();
          }
        }
        readers.forEach((rd, i) => expect([...rd.bytes()]).toEqual(sent[i]));
      }),
      { numRuns: 200 },
    );
  });
});

describe('early data against a misbehaving opener', () => {
  it('holds at most EARLY_WINDOW bytes before accept, then resets FLOW_CONTROL', () => {
    const sent: Uint8Array[] = [];
    let stream: MuxStream | undefined;
    const s = new MuxSession({ initiator: false, send: (p) => sent.push(concat(...p)), onOpen: (st) => (stream = st) });
    s.receive(concat(...encodeFrame({ type: FRAME.OPEN, id: 1, target: 'x', window: EARLY_WINDOW })));
    s.receive(concat(...encodeFrame({ type: FRAME.DATA, id: 1, data: new Uint8Array(60_000) })));
    s.receive(concat(...encodeFrame({ type: FRAME.DATA, id: 1, data: new Uint8Array(EARLY_WINDOW - 60_000) })));
    expect(stream!.closed).toBe(false);
    s.receive(concat(...encodeFrame({ type: FRAME.DATA, id: 1, data: Uint8Array.of(1) })));
    expect(stream!.closed).toBe(true);
    expect(sent.at(-1)![9]).toBe(RESET_REASON.FLOW_CONTROL);
  });

  it('delivers an early FIN after the early data, at accept', () => {
    const { a, pump, opened } = pair();
    const s = a.open('x');
    s.write(Uint8Array.of(1, 2, 3));
    s.end();
    pump();
    const rb = collect(opened[0]!.stream);
    expect(rb.ev.end).toBe(false);
    opened[0]!.stream.accept();
    expect([...rb.bytes()]).toEqual([1, 2, 3]);
    expect(rb.ev.end).toBe(true);
  });
});
