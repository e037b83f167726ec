import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createServer, type AddressInfo } from 'node:net';
import { frameHeader, MAX_FRAME } from '../../../agent/transport/frame-decoder.ts';
import { GROWN_SLAB, SLAB_SIZE, SlabFrameReader, SMALL_SLAB, STREAM_READ } from '../../../agent/transport/slab-reader.ts';
import { dialLinkSocket } from '../../../agent/transport/link-socket.ts';
import { concat } from '../../../protocol/bytes.ts';
import { codeOf } from '../../helpers/errors.ts';

function frame(body: Uint8Array): Uint8Array {
  return concat(frameHeader(body.length), body);
}

/** Feed `wire` to a reader the way a socket does: each read at most `step` bytes into the buffer it asks for. */
function feed(r: SlabFrameReader, wire: Uint8Array, steps: number[], onFrame: (f: Uint8Array) => void): void {
  let o = 0;
  let i = 0;
  while (o < wire.length) {
    const buf = r.nextBuffer();
    const n = Math.min(steps[i++ % steps.length]!, buf.length, wire.length - o);
    buf.set(wire.subarray(o, o + n));
    o += n;
    r.filled(n, onFrame);
  }
}

describe('slab frame reader', () => {
  it('returns every frame intact for any read sizes, across slab changes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 24 }),
        fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 8 }),
        (sizes, steps) => {
          const bodies = sizes.map((n, i) => new Uint8Array(Math.min(n, MAX_FRAME)).fill((i % 250) + 1));
          const wire = concat(...bodies.map(frame));
          const r = new SlabFrameReader(MAX_FRAME, 256 * 1024);
          const got: Uint8Array[] = [];
          // A frame is valid during its onFrame call: copy it there.
          feed(r, wire, steps, (f) => got.push(f.slice()));
          expect(got.map((v) => v.length)).toEqual(bodies.map((b) => b.length));
          got.forEach((v, i) => expect(v.every((x) => x === (i % 250) + 1)).toBe(true));
          expect(r.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an idle link starts over at the beginning of its small slab', () => {
    const r = new SlabFrameReader(MAX_FRAME);
    let first: ArrayBufferLike | undefined;
    for (let i = 0; i < 100; i++) {
      const buf = r.nextBuffer();
      first ??= buf.buffer;
      expect(buf.buffer).toBe(first);
      expect(buf.byteOffset).toBe(0);
      buf.set(frame(new Uint8Array(200).fill(i)));
      let got: Uint8Array | undefined;
      r.filled(204, (f) => (got = f.slice()));
      expect(got?.every((x) => x === i)).toBe(true);
    }
    expect(r.slabBytes).toBe(SMALL_SLAB);
  });

  it('a held slab is neither written again nor freed until its last hold lets go', () => {
    // Small slabs of 16 KiB: smaller buffers are left to the garbage collector, not freed by hand.
    const r = new SlabFrameReader(MAX_FRAME, SLAB_SIZE, 16 * 1024);
    const kept: { view: Uint8Array; done: () => void; fill: number }[] = [];
    let slabs = new Set<ArrayBufferLike>();
    for (let i = 0; i < 40; i++) {
      const buf = r.nextBuffer();
      slabs.add(buf.buffer);
      buf.set(frame(new Uint8Array(1000).fill(i)));
      r.filled(1004, (f) => kept.push({ view: f, done: r.slabHold.hold(), fill: i }));
    }
    // 40 frames of 1,004 bytes do not fit one 16 KiB slab: the reader moved on, keeping the held ones intact.
    expect(slabs.size).toBeGreaterThan(1);
    kept.forEach((k) => expect(k.view.length === 1000 && k.view.every((x) => x === k.fill)).toBe(true));
    for (const k of kept) k.done();
    // The slabs the reader left are freed at once; the current one is still its own.
    const current = r.nextBuffer().buffer;
    slabs = new Set([...slabs].filter((b) => b !== current));
    expect([...slabs].every((b) => b.byteLength === 0)).toBe(true);
    expect(current.byteLength).toBeGreaterThan(0);
  });

  it('a streaming link moves to a large slab, and back to a small one once drained after a short read', () => {
    const r = new SlabFrameReader(MAX_FRAME);
    const wire = concat(...Array.from({ length: 20 }, (_, i) => frame(new Uint8Array(60_000).fill(i + 1))));
    let got = 0;
    feed(r, wire, [STREAM_READ * 2], () => got++);
    expect(got).toBe(20);
    expect(r.slabBytes).toBe(SLAB_SIZE);
    // Drained after a long read: still streaming, it keeps the large slab.
    const whole = r.nextBuffer();
    whole.set(frame(new Uint8Array(STREAM_READ).fill(9)));
    r.filled(STREAM_READ + 4, () => got++);
    r.nextBuffer();
    expect(r.slabBytes).toBe(SLAB_SIZE);
    // A short read that leaves nothing pending: the next read goes to a small slab.
    const buf = r.nextBuffer();
    buf.set(frame(new Uint8Array(10).fill(7)));
    r.filled(14, () => got++);
    r.nextBuffer();
    expect(r.slabBytes).toBe(SMALL_SLAB);
    expect(got).toBe(22);
  });

  it('gives a large slab back after a short read even while a receiver holds it; the holder keeps its bytes', () => {
    const r = new SlabFrameReader(MAX_FRAME);
    const wire = concat(...Array.from({ length: 4 }, (_, i) => frame(new Uint8Array(60_000).fill(i + 1))));
    const kept: { view: Uint8Array; done: () => void }[] = [];
    feed(r, wire, [STREAM_READ * 4], (f) => kept.push({ view: f, done: r.slabHold.hold() }));
    expect(r.slabBytes).toBe(SLAB_SIZE);
    const large = r.nextBuffer();
    large.set(frame(Uint8Array.of(5)));
    r.filled(5, () => {});
    expect(r.nextBuffer().length).toBeLessThanOrEqual(SMALL_SLAB);
    expect(r.slabBytes).toBe(SMALL_SLAB);
    kept.forEach((k, i) => expect(k.view.length === 60_000 && k.view.every((x) => x === i + 1)).toBe(true));
    for (const k of kept) k.done();
    expect(large.buffer.byteLength).toBe(0);
  });

  it('a read that fills a small room moves to a 64 KiB slab, not a large one', () => {
    const r = new SlabFrameReader(MAX_FRAME);
    const first = r.nextBuffer();
    expect(first.length).toBe(SMALL_SLAB);
    // 10 frames of 1,004 bytes: the first read fills the small slab and leaves a frame unfinished.
    const wire = concat(...Array.from({ length: 10 }, () => frame(new Uint8Array(1000))));
    first.set(wire.subarray(0, SMALL_SLAB));
    let got = 0;
    r.filled(SMALL_SLAB, () => got++);
    const next = r.nextBuffer();
    expect(r.slabBytes).toBe(GROWN_SLAB);
    next.set(wire.subarray(SMALL_SLAB));
    r.filled(wire.length - SMALL_SLAB, () => got++);
    expect(got).toBe(10);
  });

  it('a frame longer than the room left gets a slab that holds it whole; the slab left behind is freed at once', () => {
    // Small slabs of 16 KiB: smaller buffers are left to the garbage collector, not freed by hand.
    const r = new SlabFrameReader(MAX_FRAME, SLAB_SIZE, 16 * 1024);
    const views: Uint8Array[] = [];
    const first = r.nextBuffer();
    const small = first.buffer;
    // A small frame, then the start of a frame of MAX_FRAME bytes: only 3,000 of them in this read.
    const wire = concat(frame(new Uint8Array(100).fill(1)), frame(new Uint8Array(MAX_FRAME).fill(2)));
    first.set(wire.subarray(0, 3_104));
    r.filled(3_104, (f) => views.push(f));
    expect(views.map((v) => v.length)).toEqual([100]);
    const next = r.nextBuffer();
    expect(next.buffer).not.toBe(small);
    // Room for the rest of the frame in progress, which was copied over.
    expect(next.length).toBeGreaterThanOrEqual(MAX_FRAME + 4 - 3_000);
    expect(small.byteLength).toBe(0);
    expect(views[0]!.length).toBe(0);
    next.set(wire.subarray(3_104));
    let big: Uint8Array | undefined;
    r.filled(wire.length - 3_104, (f) => (big = f.slice()));
    expect(big?.length).toBe(MAX_FRAME);
    expect(big?.every((x) => x === 2)).toBe(true);
  });

  it('always offers room for the rest of the frame in progress', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: MAX_FRAME }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 50, max: 5000 }), (sizes, step) => {
        const r = new SlabFrameReader(MAX_FRAME);
        const wire = concat(...sizes.map((n) => frame(new Uint8Array(n))));
        let o = 0;
        let got = 0;
        while (o < wire.length) {
          const buf = r.nextBuffer();
          expect(buf.length).toBeGreaterThanOrEqual(2048);
          const pending = r.bufferedBytes;
          if (pending >= 4) {
            const len = new DataView(wire.buffer, wire.byteOffset + o - pending).getUint32(0);
            expect(buf.length).toBeGreaterThanOrEqual(4 + len - pending);
          }
          const n = Math.min(step, buf.length, wire.length - o);
          buf.set(wire.subarray(o, o + n));
          o += n;
          r.filled(n, () => got++);
        }
        expect(got).toBe(sizes.length);
      }),
      { numRuns: 25 },
    );
  });

  it('once disposed of, delivers nothing more (even from inside onFrame) and frees its slab', () => {
    // Small slabs of 16 KiB: smaller buffers are left to the garbage collector, not freed by hand.
    const r = new SlabFrameReader(MAX_FRAME, SLAB_SIZE, 16 * 1024);
    const buf = r.nextBuffer();
    const slab = buf.buffer;
    buf.set(concat(frame(Uint8Array.of(1)), frame(Uint8Array.of(2)), frame(Uint8Array.of(3))));
    const got: number[] = [];
    r.filled(15, (f) => {
      got.push(f[0]!);
      r.dispose();
    });
    expect(got).toEqual([1]);
    expect(slab.byteLength).toBe(0);
    // A slab held when the reader is disposed of lives until its holder lets go.
    const r2 = new SlabFrameReader(MAX_FRAME, SLAB_SIZE, 16 * 1024);
    const b2 = r2.nextBuffer();
    b2.set(frame(Uint8Array.of(9, 9)));
    let held: { view: Uint8Array; done: () => void } | undefined;
    r2.filled(6, (f) => (held = { view: f, done: r2.slabHold.hold() }));
    r2.dispose();
    expect(Array.from(held!.view)).toEqual([9, 9]);
    held!.done();
    expect(held!.view.length).toBe(0);
    // Reads that still arrive go nowhere.
    const after = r.nextBuffer();
    after.set(frame(Uint8Array.of(4)));
    r.filled(5, (f) => got.push(f[0]!));
    expect(got).toEqual([1]);
  });

  it('refuses a zero or oversized length', () => {
    for (const len of [0, MAX_FRAME + 1, 0xffffffff]) {
      const r = new SlabFrameReader();
      const buf = r.nextBuffer();
      const h = new DataView(buf.buffer, buf.byteOffset);
      h.setUint32(0, len);
      expect(codeOf(() => r.filled(4, () => {}))).toBe('POSTERN_FRAME_INVALID');
    }
  });

  it('rejects slab sizes out of order or too small', () => {
    expect(() => new SlabFrameReader(MAX_FRAME, 16_000, 32_000)).toThrow(RangeError);
    expect(() => new SlabFrameReader(MAX_FRAME, 100_000, 100)).toThrow(RangeError);
  });

  it('reads frames from a real dialled socket, including a stream of large ones', async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => new Uint8Array(i % 2 ? MAX_FRAME : 17 + i).fill(i + 1));
    const server = createServer((s) => s.end(Buffer.from(concat(...bodies.map(frame)))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const d = dialLinkSocket('127.0.0.1', (server.address() as AddressInfo).port);
    const got: Uint8Array[] = [];
    d.deliver = (n) => d.reader.filled(n, (f) => got.push(new Uint8Array(f)));
    await new Promise<void>((r) => d.socket.on('end', r));
    server.close();
    d.socket.destroy();
    // Compared as buffers: a deep comparison of a megabyte of elements takes seconds.
    expect(got.length).toBe(bodies.length);
    expect(got.every((g, i) => Buffer.from(g).equals(bodies[i]!))).toBe(true);
  });
});
