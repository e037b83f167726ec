/**
 * Multiplexer properties: the frame codec round-trips and is canonical;
 * arbitrary input never escapes as anything but MuxProtocolError; and random
 * interleavings of writes, consumes, ends and partial deliveries across
 * several streams in both directions deliver every byte exactly, in order,
 * never exceeding a stream's window.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { concat } from '../../protocol/bytes.ts';
import {
  decodeFrame,
  EARLY_WINDOW,
  encodeDataHeader,
  encodeFrame,
  FRAME,
  HEADER_LEN,
  MAX_STREAM_ID,
  MuxProtocolError,
  MuxSession,
  RESET_REASON,
  type Frame,
  type MuxStream,
} from '../../protocol/mux/index.ts';

const u32 = fc.nat({ max: MAX_STREAM_ID });
const streamId = fc.integer({ min: 1, max: MAX_STREAM_ID });
const reason = fc.constantFrom(...Object.values(RESET_REASON));
const utf8Len = (s: string) => new TextEncoder().encode(s).length;
/** Well-formed Unicode (no lone surrogates) of 0..255 UTF-8 bytes. */
const message = fc.string({ unit: 'binary', maxLength: 80 }).filter((s) => utf8Len(s) <= 255);
const target = fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter((s) => utf8Len(s) >= 1 && utf8Len(s) <= 255);

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant(FRAME.DATA), id: streamId, data: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ type: fc.constant(FRAME.WINDOW_UPDATE), id: streamId, delta: u32 }),
  fc.record({ type: fc.constant(FRAME.OPEN), id: streamId, target, window: u32 }),
  fc.record({ type: fc.constant(FRAME.OPEN_ACK), id: streamId, window: u32 }),
  fc.record({ type: fc.constant(FRAME.FIN), id: streamId }),
  fc.record({ type: fc.constant(FRAME.RESET), id: streamId, reason, message }),
  fc.record({ type: fc.constant(FRAME.PING), id: fc.constant(0 as const), opaque: u32 }),
  fc.record({ type: fc.constant(FRAME.PONG), id: fc.constant(0 as const), opaque: u32 }),
  fc.record({ type: fc.constant(FRAME.GO_AWAY), id: fc.constant(0 as const), reason, message }),
);

function expectMuxError(run: () => void): void {
  try {
    run();
  } catch (e) {
    if (!(e instanceof MuxProtocolError)) throw e;
  }
}

describe('mux frame codec', () => {
  it('decode(encode(f)) = f for every frame type', () => {
    fc.assert(
      fc.property(frame, (f) => {
        const bytes = concat(...encodeFrame(f));
        expect(bytes.length).toBeGreaterThanOrEqual(HEADER_LEN);
        expect(new DataView(bytes.buffer).getUint32(5)).toBe(bytes.length - HEADER_LEN);
        expect(decodeFrame(bytes, 300)).toEqual(f);
      }),
      { numRuns: 2000 },
    );
  });

  it('encodeDataHeader + payload is the DATA frame encodeFrame builds, and decoding views the payload', () => {
    fc.assert(
      fc.property(streamId, fc.uint8Array({ maxLength: 300 }), (id, data) => {
        const msg = concat(encodeDataHeader(id, data.length), data);
        expect(msg).toEqual(concat(...encodeFrame({ type: FRAME.DATA, id, data })));
        const f = decodeFrame(msg);
        expect(f.type === FRAME.DATA && f.data.buffer === msg.buffer && f.data.byteOffset === HEADER_LEN).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('unknown reset and GO_AWAY reasons decode as INTERNAL', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }).filter((r) => r === 0 || r > 10), message, streamId, (r, m, id) => {
        const reset = decodeFrame(concat(...encodeFrame({ type: FRAME.RESET, id, reason: r, message: m })));
        const away = decodeFrame(concat(...encodeFrame({ type: FRAME.GO_AWAY, id: 0, reason: r, message: m })));
        expect(reset).toEqual({ type: FRAME.RESET, id, reason: RESET_REASON.INTERNAL, message: m });
        expect(away).toEqual({ type: FRAME.GO_AWAY, id: 0, reason: RESET_REASON.INTERNAL, message: m });
      }),
      { numRuns: 300 },
    );
  });

  it('decoding arbitrary bytes returns a frame whose encoding is those bytes, or throws MuxProtocolError', () => {
    // Mostly plausible headers (a known type, a matching length) so decoding gets past the first checks.
    const plausible = fc
      .tuple(fc.nat(9), fc.oneof(fc.constant(0), fc.nat(4), u32), fc.uint8Array({ maxLength: 40 }), fc.boolean())
      .map(([type, id, body, honest]) => {
        const b = new Uint8Array(HEADER_LEN + body.length);
        const v = new DataView(b.buffer);
        b[0] = type;
        v.setUint32(1, id);
        v.setUint32(5, honest ? body.length : (body.length + 1) % 50);
        b.set(body, HEADER_LEN);
        return b;
      });
    fc.assert(
      fc.property(fc.oneof(plausible, fc.uint8Array({ maxLength: 64 })), (b) => {
        let f: Frame;
        try {
          f = decodeFrame(b);
        } catch (e) {
          expect(e).toBeInstanceOf(MuxProtocolError);
          return;
        }
        const reasonKnown = (f.type !== FRAME.RESET && f.type !== FRAME.GO_AWAY) || b[HEADER_LEN] === f.reason;
        if (reasonKnown) expect(concat(...encodeFrame(f))).toEqual(b);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('mux session on hostile input', () => {
  /** A session whose adapter accepts, writes back, ends and consumes, so crafted frames reach every path. */
  function victim(initiator: boolean) {
    let sent = 0;
    const s = new MuxSession({
      initiator,
      initialWindow: EARLY_WINDOW,
      maxStreams: 4,
      maxFramePayload: 1000,
      send: () => void sent++,
      onOpen: (st, t) => {
        if (t.length % 3 === 0) return st.reset(RESET_REASON.POLICY_DENIED, 'no');
        st.accept();
        let held = 0;
        st.onData = (c) => {
          held += c.length;
          expect(held).toBeLessThanOrEqual(EARLY_WINDOW);
          st.write(c);
          if (c.length % 2 === 0) {
            st.consumed(held);
            held = 0;
          }
        };
        st.onEnd = () => st.end();
      },
    });
    if (initiator) s.open('out');
    return s;
  }

  it('receive() on arbitrary bytes either works or throws MuxProtocolError', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (initiator, msgs) => {
        const s = victim(initiator);
        for (const m of msgs) expectMuxError(() => s.receive(m));
      }),
      { numRuns: 1000 },
    );
  });

  it('receive() on sequences of well-formed frames with small ids either works or throws MuxProtocolError', () => {
    const small = fc.integer({ min: 1, max: 8 });
    const hostile: fc.Arbitrary<Frame> = fc.oneof(
      fc.record({ type: fc.constant(FRAME.DATA), id: small, data: fc.integer({ min: 0, max: 1200 }).map((n) => new Uint8Array(n)) }),
      fc.record({ type: fc.constant(FRAME.WINDOW_UPDATE), id: small, delta: fc.oneof(u32, fc.nat(70_000)) }),
      fc.record({ type: fc.constant(FRAME.OPEN), id: small, target: fc.constantFrom('a', 'ab', 'abc'), window: fc.oneof(u32, fc.constant(EARLY_WINDOW)) }),
      fc.record({ type: fc.constant(FRAME.OPEN_ACK), id: small, window: fc.oneof(u32, fc.constant(EARLY_WINDOW)) }),
      fc.record({ type: fc.constant(FRAME.FIN), id: small }),
      fc.record({ type: fc.constant(FRAME.RESET), id: small, reason: fc.nat(255), message }),
      fc.record({ type: fc.constant(FRAME.PING), id: fc.constant(0 as const), opaque: u32 }),
      fc.record({ type: fc.constant(FRAME.GO_AWAY), id: fc.constant(0 as const), reason: fc.nat(255), message }),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(fc.array(hostile, { minLength: 1, maxLength: 4 }), { maxLength: 60 }), (initiator, msgs) => {
        const s = victim(initiator);
        for (const m of msgs) expectMuxError(() => s.receive(concat(...m.flatMap((f) => encodeFrame(f)))));
        expect(s.streamCount).toBeLessThanOrEqual(4);
      }),
      { numRuns: 500 },
    );
  });
});

describe('mux flow control under random interleavings', () => {
  type Op =
    | { op: 'write'; s: number; n: number }
    | { op: 'consume'; s: number; frac: number }
    | { op: 'deliver'; n: number }
    | { op: 'end'; s: number }
    | { op: 'accept'; s: number };
  const STREAMS = 4;
  const SOURCE = 200_000;
  /** What stream i writes: distinct per stream and position, built once. */
  const source = Array.from({ length: STREAMS }, (_, i) => Uint8Array.from({ length: SOURCE }, (_, k) => (k * 7 + i * 101 + (k >> 8)) & 0xff));
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('write' as const), s: fc.nat(STREAMS - 1), n: fc.nat(30_000) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('consume' as const), s: fc.nat(STREAMS - 1), frac: fc.double({ min: 0, max: 1, noNaN: true }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('deliver' as const), n: fc.nat(12) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('end' as const), s: fc.nat(STREAMS - 1) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('accept' as const), s: fc.nat(STREAMS - 1) }) },
  );

  it('every stream delivers exactly the bytes taken, in order, and a writer never gets ahead of the window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: EARLY_WINDOW, max: 3 * EARLY_WINDOW }),
        fc.constantFrom(1000, 16_384, 65_000),
        fc.array(op, { minLength: 60, maxLength: 200 }),
        (W, maxFramePayload, ops) => {
          // Frames in flight, delivered a few at a time: the two sessions drift apart at random.
          const queue: [MuxSession, Uint8Array][] = [];
          const opened: MuxStream[] = [];
          const mk = (initiator: boolean, peer: () => MuxSession) =>
            new MuxSession({ initiator, initialWindow: W, maxFramePayload, send: (p) => queue.push([peer(), concat(...p)]), onOpen: (s) => opened.push(s) });
          const a: MuxSession = mk(true, () => b);
          const b: MuxSession = mk(false, () => a);
          const deliver = (n: number) => {
            for (let i = 0; i < n && queue.length > 0; i++) {
              const [to, f] = queue.shift()!;
              to.receive(f);
            }
          };
          // Half the streams opened by each side; the writer is always the opener.
          const writers = Array.from({ length: STREAMS }, (_, i) => (i % 2 === 0 ? a : b).open(`s${i}`));
          const taken = writers.map(() => 0);
          const readers: { s?: MuxStream; got: Uint8Array[]; received: number; consumed: number; ended: boolean }[] = writers.map(() => ({ got: [], received: 0, consumed: 0, ended: false }));
          const bind = () => {
            for (const s of opened.splice(0)) {
              const i = Number(s.target.slice(1));
              const r = readers[i]!;
              r.s = s;
              s.onData = (c) => {
                r.got.push(c.slice());
                r.received += c.length;
              };
              s.onEnd = () => (r.ended = true);
              s.onReset = (reason, m) => expect.fail(`stream ${i} reset: ${reason} ${m}`);
            }
          };
          const check = () => {
            for (let i = 0; i < STREAMS; i++) {
              // Bytes taken but not yet consumed by the reader never exceed the window (early data included).
              expect(taken[i]! - readers[i]!.consumed).toBeLessThanOrEqual(W);
              expect(readers[i]!.received).toBeLessThanOrEqual(taken[i]!);
            }
          };
          for (const o of ops) {
            if (o.op === 'write') {
              const w = writers[o.s]!;
              const n = Math.min(o.n, source[o.s]!.length - taken[o.s]!);
              const window = w.sendWindow;
              const took = w.write(source[o.s]!.subarray(taken[o.s]!, taken[o.s]! + n));
              expect(took).toBe(Math.min(n, window));
              taken[o.s]! += took;
            } else if (o.op === 'consume') {
              const r = readers[o.s]!;
              const n = Math.floor((r.received - r.consumed) * o.frac);
              r.s?.consumed(n);
              r.consumed += n;
            } else if (o.op === 'deliver') {
              deliver(o.n);
              bind();
            } else if (o.op === 'accept') {
              // The acceptor takes its time: until then the opener's early bytes (and FIN) wait at the acceptor.
              readers[o.s]!.s?.accept();
            } else {
              writers[o.s]!.end();
            }
            check();
          }
          // Drain: consume everything, deliver everything, until quiet.
          for (let guard = 0; guard < 1000; guard++) {
            deliver(Infinity);
            bind();
            for (const r of readers) {
              r.s?.accept();
              r.s?.consumed(r.received - r.consumed);
              r.consumed = r.received;
            }
            if (queue.length === 0) break;
          }
          for (let i = 0; i < STREAMS; i++) {
            const r = readers[i]!;
            expect(r.received).toBe(taken[i]);
            expect(Buffer.compare(concat(...r.got), source[i]!.subarray(0, taken[i]))).toBe(0);
            const ended = ops.some((o) => o.op === 'end' && o.s === i);
            expect(r.ended).toBe(ended);
            // Liveness: once all is consumed, all credit is back but for less than half a window not yet granted.
            if (!ended) expect(writers[i]!.sendWindow).toBeGreaterThan(W / 2);
            if (!ended) expect(writers[i]!.sendWindow).toBeLessThanOrEqual(W);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
