import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createServer, type AddressInfo } from 'node:net';
import { frameHeader, MAX_FRAME } from '../../../agent/transport/frame-decoder.ts';
import { SlabFrameReader } from '../../../agent/transport/slab-reader.ts';
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

  it('frees a slab as soon as it moves on to the next (views of its frames go empty), keeping the unfinished frame', () => {
    const r = new SlabFrameReader(MAX_FRAME, 160 * 1024);
    const views: Uint8Array[] = [];
    const first = r.nextBuffer();
    const slab = first.buffer;
    // Two whole frames and the start of a third fill the slab past the point where a whole frame still fits.
    const wire = concat(frame(new Uint8Array(40_000).fill(1)), frame(new Uint8Array(40_000).fill(2)), frame(new Uint8Array(MAX_FRAME).fill(3)));
    first.set(wire.subarray(0, 100_000));
    r.filled(100_000, (f) => views.push(f));
    expect(views.map((v) => v.length)).toEqual([40_000, 40_000]);
    const next = r.nextBuffer(); // not enough room left for a whole frame: a new slab
    expect(next.buffer).not.toBe(slab);
    expect(slab.byteLength).toBe(0);
    expect(views.every((v) => v.length === 0)).toBe(true);
    next.set(wire.subarray(100_000));
    let third: Uint8Array | undefined;
    r.filled(wire.length - 100_000, (f) => (third = f.slice()));
    expect(third?.length).toBe(MAX_FRAME);
    expect(third?.every((x) => x === 3)).toBe(true);
  });

  it('always offers room for a whole frame', () => {
    const r = new SlabFrameReader(MAX_FRAME, 160 * 1024);
    for (let i = 0; i < 50; i++) {
      const buf = r.nextBuffer();
      expect(buf.length).toBeGreaterThanOrEqual(MAX_FRAME + 4);
      buf.set(frameHeader(MAX_FRAME));
      r.filled(4 + 1000, () => {});
      expect(r.bufferedBytes).toBe(1004);
      const rest = r.nextBuffer();
      rest.fill(7, 0, MAX_FRAME - 1000);
      let got: Uint8Array | undefined;
      r.filled(MAX_FRAME - 1000, (f) => (got = f));
      expect(got?.length).toBe(MAX_FRAME);
    }
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

  it('rejects a slab too small for two frames', () => {
    expect(() => new SlabFrameReader(MAX_FRAME, 100_000)).toThrow(RangeError);
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
    expect(got).toEqual(bodies);
  });
});
