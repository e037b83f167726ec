import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createServer, type AddressInfo } from 'node:net';
import { frameHeader, MAX_FRAME } from '../../../agent/transport/frame-decoder.ts';
import { SlabFrameReader } from '../../../agent/transport/slab-reader.ts';
import { dialLinkSocket } from '../../../agent/transport/tcp-link.ts';
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
  it('returns every frame intact for any read sizes, across slab changes, and never rewrites a frame handed out', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 24 }),
        fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 8 }),
        (sizes, steps) => {
          const bodies = sizes.map((n, i) => new Uint8Array(Math.min(n, MAX_FRAME)).fill((i % 250) + 1));
          const wire = concat(...bodies.map(frame));
          const r = new SlabFrameReader(MAX_FRAME, 256 * 1024);
          const views: Uint8Array[] = [];
          feed(r, wire, steps, (f) => views.push(f));
          // Views are checked after all reads: later reads and slab changes must not have touched them.
          expect(views.map((v) => v.length)).toEqual(bodies.map((b) => b.length));
          views.forEach((v, i) => expect(v.every((x) => x === (i % 250) + 1)).toBe(true));
          expect(r.bufferedBytes).toBe(0);
        },
      ),
      { numRuns: 60 },
    );
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
