import { describe, expect, it } from 'vitest';
import { FrameDecoder, frameHeader, MAX_FRAME } from '../../../agent/transport/frame-decoder.ts';
import { PosternError } from '../../../protocol/errors.ts';
import { concat } from '../../../protocol/bytes.ts';

function frame(body: Uint8Array): Uint8Array {
  return concat(frameHeader(body.length), body);
}

describe('frame decoder', () => {
  it('splits frames across arbitrary chunk boundaries, including inside the header', () => {
    const bodies = [1, 3, 4, 5, 1000, 65535].map((n, i) => new Uint8Array(n).fill(i + 1));
    const wire = concat(...bodies.map(frame));
    for (const step of [1, 2, 3, 7, 4096, wire.length]) {
      const d = new FrameDecoder();
      const got: Uint8Array[] = [];
      for (let o = 0; o < wire.length; o += step) d.push(wire.subarray(o, o + step), (f) => got.push(f.slice()));
      expect(got).toEqual(bodies);
      expect(d.bufferedBytes).toBe(0);
    }
  });

  it('refuses a zero-length frame and an oversized length before buffering the body', () => {
    expect(() => new FrameDecoder().push(frameHeader(0), () => {})).toThrow(PosternError);
    const d = new FrameDecoder();
    let err: unknown;
    try {
      d.push(frameHeader(MAX_FRAME + 1), () => {});
    } catch (e) {
      err = e;
    }
    expect((err as PosternError).code).toBe('POSTERN_FRAME_INVALID');
    expect(d.bufferedBytes).toBe(0);
    expect(() => new FrameDecoder().push(Uint8Array.of(0xff, 0xff, 0xff, 0xff), () => {})).toThrow(/frame length 4294967295/);
  });

  it('holds a partial frame without delivering it', () => {
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    d.push(frame(new Uint8Array(100)).subarray(0, 50), (f) => got.push(f));
    expect(got).toEqual([]);
    expect(d.bufferedBytes).toBe(50);
  });
});

describe('frame ownership', () => {
  it('marks a frame assembled from several reads as owned (a buffer of its own), and a frame inside one read as not', () => {
    const a = new Uint8Array(100).fill(1);
    const b = new Uint8Array(70_000 - 4).fill(2);
    const wire = concat(frame(a), frame(b));
    const d = new FrameDecoder(MAX_FRAME * 2);
    const got: [number, boolean, number][] = [];
    const cut = 104 + 30_000;
    for (const c of [wire.subarray(0, cut), wire.subarray(cut)]) {
      d.push(c, (f, owned) => got.push([f.length, owned, f.buffer.byteLength]));
    }
    expect(got[0]!.slice(0, 2)).toEqual([100, false]);
    // The spanning frame: its own buffer holding exactly the header and body.
    expect(got[1]).toEqual([b.length, true, b.length + 4]);
  });

  it('a frame trickled in one-byte reads is copied as it comes: no read is kept (memory is the frame, not one buffer per read)', () => {
    const body = new Uint8Array(20_000).map((_, i) => i & 0xff);
    const wire = frame(body);
    const d = new FrameDecoder();
    let got: Uint8Array | undefined;
    for (let i = 0; i < wire.length; i++) {
      const read = Uint8Array.of(wire[i]!);
      d.push(read, (f) => (got = f.slice()));
      read[0] = 0xee; // a read the decoder still referred to would now corrupt the frame
    }
    expect(got).toEqual(body);
    expect(d.bufferedBytes).toBe(0);
  });

  it('a peer that announces a large frame and trickles it gets a small buffer, grown as the bytes come', () => {
    const body = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
    const wire = frame(body);
    const d = new FrameDecoder(400_000);
    let got: Uint8Array | undefined;
    let owned = false;
    d.push(wire.slice(0, 4), () => {});
    d.push(wire.slice(4, 14), () => {});
    expect(d.reservedBytes).toBeLessThanOrEqual(4096); // 14 bytes sent: not 300 KB held
    for (let o = 14; o < wire.length; o += 5000) {
      d.push(wire.slice(o, o + 5000), (f, own) => ((got = f.slice()), (owned = own)));
      expect(d.reservedBytes).toBeLessThanOrEqual(Math.max(4096, 2 * d.bufferedBytes));
    }
    expect(got).toEqual(body);
    expect(owned).toBe(true);
    expect(d.bufferedBytes).toBe(0);
    expect(d.reservedBytes).toBe(0);
  });

  it('an owned frame is exactly its header and body, however it grew', () => {
    for (const first of [10, 5000, 100_000]) {
      const body = new Uint8Array(200_000).fill(9);
      const wire = frame(body);
      const d = new FrameDecoder(400_000);
      let f: Uint8Array | undefined;
      d.push(wire.slice(0, first), () => {});
      d.push(wire.slice(first), (x) => (f = x));
      expect(f?.length).toBe(200_000);
      expect(f?.buffer.byteLength).toBe(200_004);
    }
  });

  it('frees a chunk whose bytes were all copied into frames, and no chunk a delivered frame is a view of', () => {
    const big = new Uint8Array(100_000).fill(5);
    const small = new Uint8Array(20).fill(6);
    const wire = concat(frame(small), frame(big), frame(small));
    // Chunks that are buffers of their own, as a socket delivers them.
    const own = (from: number, to: number) => wire.slice(from, to);
    const c1 = own(0, 40_000); // a whole small frame (a view) and the start of the big one
    const c2 = own(40_000, 80_000); // the big frame's middle: all copied
    const c3 = own(80_000, wire.length); // the big frame's end and a small frame (a view)
    const d = new FrameDecoder(200_000);
    const got: number[] = [];
    for (const c of [c1, c2, c3]) d.push(c, (f) => got.push(f.length));
    expect(got).toEqual([20, 100_000, 20]);
    expect(c2.buffer.byteLength).toBe(0); // freed: every byte copied
    expect(c1.buffer.byteLength).toBe(40_000); // a delivered frame was a view of it
    expect(c3.buffer.byteLength).toBe(wire.length - 80_000);
  });
});

describe('releaseAfterWrite', () => {
  it('frees only large buffers that are a whole ArrayBuffer', async () => {
    const { releaseAfterWrite } = await import('../../../agent/transport/tcp-link.ts');
    const whole = new Uint8Array(64 * 1024);
    const small = new Uint8Array(1024);
    const backing = new Uint8Array(128 * 1024);
    const view = backing.subarray(0, 64 * 1024);
    releaseAfterWrite([whole, small, view]);
    expect(whole.buffer.byteLength).toBe(0); // detached: the memory is gone now, not at the next collection
    expect(small.length).toBe(1024);
    expect(view.length).toBe(64 * 1024);
    expect(backing.buffer.byteLength).toBe(128 * 1024);
  });
});
