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
import { readU32, writeU32 } from '../../protocol/bytes.ts';
import { releaseAfterWrite } from './release.ts';

export const FRAME_HEADER = 4;
/** A Noise message is at most 65535 bytes (rev 34 §3). */
export const MAX_FRAME = 65535;

export class FrameError extends PosternError {}

export class FrameDecoder {
  /** Frames longer than this are refused; a link raises it once the peer may send relay records. */
  maxFrame: number;
  /** Header bytes of the next frame when they arrived split across reads. */
  private readonly header = new Uint8Array(FRAME_HEADER);
  private headerGot = 0;
  /** The frame being assembled (header included), once its length is known and it spans reads. */
  private frame: Uint8Array | undefined;
  private frameGot = 0;
  /** Its full length, header included; `frame` may be smaller while its bytes are still coming. */
  private frameLen = 0;

  constructor(maxFrame = MAX_FRAME) {
    this.maxFrame = maxFrame;
  }

  get bufferedBytes(): number {
    return this.headerGot + this.frameGot;
  }

  /** Bytes held for the frame being assembled (its buffer, which grows as its bytes arrive). */
  get reservedBytes(): number {
    return this.headerGot + (this.frame?.length ?? 0);
  }

  /**
   * Feed bytes; calls `onFrame` for each complete frame, in order. A frame
   * inside one chunk is a view of it (`owned` false). A frame spanning
   * chunks is assembled, as the bytes arrive, in one buffer of its own
   * (`owned` true: the receiver may free it once done, see
   * `releaseAfterWrite`), so a peer trickling a frame in tiny reads costs
   * the frame's size, not one buffer per read. Chunks are the decoder's: one
   * whose bytes were all copied is freed at once (when it is a buffer of its
   * own); one a frame was handed out from is left alone.
   */
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array, owned: boolean) => void): void {
    let o = 0;
    let viewed = false;
    while (o < chunk.length) {
      if (this.frame !== undefined) {
        const k = Math.min(chunk.length - o, this.frameLen - this.frameGot);
        if (this.frameGot + k > this.frame.length) this.grow(this.frameGot + k);
        this.frame.set(chunk.subarray(o, o + k), this.frameGot);
        this.frameGot += k;
        o += k;
        if (this.frameGot < this.frameLen) break;
        const whole = this.frame;
        this.frame = undefined;
        this.frameGot = 0;
        onFrame(whole.subarray(FRAME_HEADER), true);
        continue;
      }
      let len: number;
      let start: number;
      if (this.headerGot === 0 && chunk.length - o >= FRAME_HEADER) {
        len = readU32(chunk, o);
        start = o + FRAME_HEADER;
      } else {
        const k = Math.min(FRAME_HEADER - this.headerGot, chunk.length - o);
        this.header.set(chunk.subarray(o, o + k), this.headerGot);
        this.headerGot += k;
        o += k;
        if (this.headerGot < FRAME_HEADER) break;
        len = readU32(this.header, 0);
        start = o;
      }
      if (len === 0 || len > this.maxFrame) {
        this.headerGot = 0;
        throw new FrameError('POSTERN_FRAME_INVALID', `frame length ${len} outside 1..${this.maxFrame}`);
      }
      if (this.headerGot === 0 && chunk.length - start >= len) {
        // A plain Uint8Array view, not a Buffer: its slice() copies, as a receiver keeping bytes expects.
        viewed = true;
        o = start + len;
        onFrame(new Uint8Array(chunk.buffer, chunk.byteOffset + start, len), false);
        continue;
      }
      // Spans reads: a buffer of its own. Sized for the whole frame when a fair share of it is here;
      // a peer that sends a length and then trickles gets a small one, grown as its bytes arrive.
      const here = chunk.length - start;
      this.frameLen = FRAME_HEADER + len;
      this.frame = ownBuffer(here * 8 >= len ? this.frameLen : Math.min(this.frameLen, Math.max(MIN_ASSEMBLY, FRAME_HEADER + 2 * here)));
      this.frame.set(this.headerGot === 0 ? chunk.subarray(o, start) : this.header);
      this.frameGot = FRAME_HEADER;
      this.headerGot = 0;
      o = start;
    }
    // Every byte copied, none handed out as a view: the chunk is free now, not at the next collection.
    if (!viewed) releaseAfterWrite([chunk]);
  }

  /** Room for at least `n` bytes of the frame: doubling, capped at its full length (which it ends at exactly). */
  private grow(n: number): void {
    const next = ownBuffer(Math.min(this.frameLen, Math.max(n, 2 * this.frame!.length)));
    next.set(this.frame!.subarray(0, this.frameGot));
    releaseAfterWrite([this.frame!]);
    this.frame = next;
  }
}

/** The smallest buffer a frame is first assembled in. */
const MIN_ASSEMBLY = 4096;

/** A buffer of its own (not pooled, not zero-filled: every byte is written before it is read). */
function ownBuffer(n: number): Uint8Array {
  return new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
}

export function frameHeader(length: number): Uint8Array {
  const h = new Uint8Array(FRAME_HEADER);
  writeU32(h, 0, length);
  return h;
}
