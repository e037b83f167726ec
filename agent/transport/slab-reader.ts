/**
 * Length-prefixed frames read straight into large slabs, for link sockets
 * read through Node's `onread` option (link-socket.ts). Each read lands
 * after the previous one in the current slab, so a frame is a view of the
 * bytes as they arrived: no per-read allocation and no copy of frames that
 * span reads. A slab is never written again once handed out; when fewer than
 * one whole frame's bytes are free, the unfinished tail is copied into a new
 * slab and the reader lets go of the old one, which is freed at once unless
 * someone took a hold on it (`slabHold`, see frame-hold.ts): a slab that
 * outlived a few young-generation collections would otherwise wait for a
 * full one, and a busy link renews its slab every few milliseconds. So a
 * frame is valid only during its `onFrame` call: whoever keeps bytes of it
 * copies them or holds the slab. Frames are plain Uint8Array views, whose
 * slice() copies.
 *
 * Same framing and limits as `FrameDecoder`: `length u32 BE ‖ bytes`, length
 * 1..maxFrame; anything else is a protocol violation. `maxFrame` may be
 * lowered or raised later (a link allows relay records only once the peer
 * is authenticated), up to the `capacity` the slabs were sized for.
 */
import { FRAME_HEADER, FrameError, MAX_FRAME } from './frame-decoder.ts';
import { FrameHold } from './frame-hold.ts';

export const SLAB_SIZE = 1024 * 1024;

export class SlabFrameReader {
  private slab: Buffer;
  private hold: FrameHold;
  /** First byte not yet returned as (part of) a frame. */
  private start = 0;
  /** End of the bytes read so far. */
  private end = 0;
  private limit: number;
  /** The largest frame a slab keeps room for. */
  private readonly capacity: number;
  private readonly slabSize: number;

  constructor(capacity = MAX_FRAME, slabSize = SLAB_SIZE) {
    if (slabSize < 2 * (FRAME_HEADER + capacity)) throw new RangeError('slab must hold two whole frames');
    this.capacity = capacity;
    this.limit = capacity;
    this.slabSize = slabSize;
    this.slab = Buffer.allocUnsafeSlow(slabSize);
    this.hold = new FrameHold(this.slab);
  }

  /** The current slab, which every frame `filled()` delivers is a view of: hold it to keep a frame past its call. */
  get slabHold(): FrameHold {
    return this.hold;
  }

  get bufferedBytes(): number {
    return this.end - this.start;
  }

  /** Frames longer than this are refused (at most the capacity). */
  get maxFrame(): number {
    return this.limit;
  }

  set maxFrame(n: number) {
    if (!(n >= 1 && n <= this.capacity)) throw new RangeError(`maxFrame must be 1..${this.capacity}`);
    this.limit = n;
  }

  /** Where the next read goes: the free tail of the slab, with room for at least one whole frame. */
  nextBuffer(): Buffer {
    if (this.slab.length - this.end < FRAME_HEADER + this.capacity) {
      const next = Buffer.allocUnsafeSlow(this.slabSize);
      const pending = this.end - this.start;
      this.slab.copy(next, 0, this.start, this.end);
      this.hold.drop();
      this.slab = next;
      this.hold = new FrameHold(next);
      this.start = 0;
      this.end = pending;
    }
    return this.slab.subarray(this.end);
  }

  /** `n` bytes were read into the buffer last returned by `nextBuffer()`: emit the frames now complete. */
  filled(n: number, onFrame: (frame: Uint8Array) => void): void {
    this.end += n;
    const s = this.slab;
    while (this.end - this.start >= FRAME_HEADER) {
      const len = s.readUInt32BE(this.start);
      if (len === 0 || len > this.limit) {
        this.start = this.end;
        throw new FrameError('POSTERN_FRAME_INVALID', `frame length ${len} outside 1..${this.limit}`);
      }
      const frameEnd = this.start + FRAME_HEADER + len;
      if (frameEnd > this.end) return;
      // A plain Uint8Array, not a Buffer: its slice() copies, as a receiver keeping bytes expects.
      const frame = new Uint8Array(s.buffer, s.byteOffset + this.start + FRAME_HEADER, len);
      this.start = frameEnd;
      onFrame(frame);
    }
  }
}
