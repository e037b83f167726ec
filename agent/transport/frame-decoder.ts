/**
 * Length-prefixed framing for TCP links: each frame is `length u32 BE` then
 * `length` bytes (one Noise message, or once the link is up a relay record).
 * A frame of length 0 or above `maxFrame` is a protocol violation: the
 * decoder throws and the connection is closed with a logged reason. The
 * limit can be raised once the peer is authenticated (`maxFrame`). Pure (no
 * sockets): push chunks, get frames. Frames that lie within one received
 * chunk are returned as views (no copy). The decoder owns the chunks pushed
 * to it: a chunk whose bytes were all copied into assembled frames is freed
 * at once, when it is a buffer of its own (see `releaseAfterWrite`).
 */
import { PosternError } from '../../protocol/errors.ts';
import { releaseAfterWrite } from './release.ts';

export const FRAME_HEADER = 4;
/** A Noise message is at most 65535 bytes (rev 34 §3). */
export const MAX_FRAME = 65535;

export class FrameError extends PosternError {}

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  /** Frames longer than this are refused; a link raises it after the handshake. */
  maxFrame: number;

  constructor(maxFrame = MAX_FRAME) {
    this.maxFrame = maxFrame;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Feed bytes; calls `onFrame` for each complete frame, in order. `owned`:
   * the frame was assembled from several reads into a buffer of its own,
   * which the receiver may free once done (see `releaseAfterWrite`).
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array, owned: boolean) => void): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= FRAME_HEADER) {
      const len = this.peekLength();
      if (len === 0 || len > this.maxFrame) {
        this.chunks = [];
        this.buffered = 0;
        throw new FrameError('POSTERN_FRAME_INVALID', `frame length ${len} outside 1..${this.maxFrame}`);
      }
      if (this.buffered < FRAME_HEADER + len) return;
      const whole = this.chunks[0]!.length >= FRAME_HEADER + len;
      onFrame(this.take(FRAME_HEADER + len).subarray(FRAME_HEADER), !whole);
    }
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= FRAME_HEADER) {
      return ((first[0]! << 24) | (first[1]! << 16) | (first[2]! << 8) | first[3]!) >>> 0;
    }
    let v = 0;
    let got = 0;
    for (const c of this.chunks) {
      for (let i = 0; i < c.length && got < FRAME_HEADER; i++, got++) v = v * 256 + c[i]!;
      if (got === FRAME_HEADER) break;
    }
    return v;
  }

  private take(n: number): Uint8Array {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    // A buffer of its own (not pooled, not zero-filled: every byte is written below).
    const out = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - o);
      out.set(c.subarray(0, k), o);
      o += k;
      if (k === c.length) {
        this.chunks.shift();
        // Every byte copied, none handed out as a view (that would have moved its offset): free it now.
        releaseAfterWrite([c]);
      } else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}

export function frameHeader(length: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER);
  new DataView(h.buffer).setUint32(0, length);
  return h;
}
