/**
 * Length-prefixed frames read straight into slabs, for link sockets read
 * through Node's `onread` option (link-socket.ts). Each read lands after the
 * previous one in the current slab, so a frame is a view of the bytes as
 * they arrived: no per-read allocation and no copy of frames that span
 * reads.
 *
 * Slabs follow the traffic, so that a hub with thousands of idle links
 * keeps a few pages for each:
 * - a link that moves little (keepalives, handshakes, requests) reads into
 *   a small slab, and starts over at its beginning whenever every byte read
 *   has been delivered and nobody holds the slab;
 * - a link that streams (a read of `STREAM_READ` bytes or more) moves to a
 *   large slab, where reads are large and frames rarely span slabs; one
 *   whose read filled a smaller room moves to a 64 KiB slab; either goes
 *   back to a small slab once it has drained after a short read;
 * - a frame longer than the room left gets a slab that holds it whole, its
 *   first bytes copied over.
 *
 * The reader lets go of a slab it leaves, which is freed at once unless
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
 * is authenticated), up to `capacity`.
 */
import { FRAME_HEADER, FrameError, MAX_FRAME } from './frame-decoder.ts';
import { FrameHold } from './frame-hold.ts';

/** The slab of a streaming link. */
export const SLAB_SIZE = 1024 * 1024;
/** The slab of a link that moves little: what an idle link keeps, resident (a page). */
export const SMALL_SLAB = 4 * 1024;
/** A read at least this long means the link streams. */
export const STREAM_READ = 16 * 1024;
/** The next slab of a link whose last read filled the (small) room it was offered. */
export const GROWN_SLAB = 64 * 1024;
/** The least room offered to a read (more when the frame in progress needs it). */
const MIN_READ = 2 * 1024;
/** Where a read goes once the reader is disposed of: nothing reads it. */
const DISCARD = Buffer.allocUnsafeSlow(MIN_READ);

export class SlabFrameReader {
  private slab: Buffer;
  private hold: FrameHold;
  /** First byte not yet returned as (part of) a frame. */
  private start = 0;
  /** End of the bytes read so far. */
  private end = 0;
  private limit: number;
  private readonly capacity: number;
  private readonly slabSize: number;
  private readonly smallSize: number;
  /** The last read was long: the next slab is a large one. */
  private streaming = false;
  /** The last read filled the room it was offered: the next slab is at least GROWN_SLAB. */
  private grow = false;
  /** The length of the buffer the last nextBuffer() returned. */
  private offered = 0;
  private disposed = false;

  constructor(capacity = MAX_FRAME, slabSize = SLAB_SIZE, smallSize = SMALL_SLAB) {
    if (!(smallSize >= MIN_READ && slabSize >= smallSize)) throw new RangeError(`slabs must be ${MIN_READ} ≤ small ≤ large bytes`);
    this.capacity = capacity;
    this.limit = capacity;
    this.slabSize = slabSize;
    this.smallSize = smallSize;
    this.slab = Buffer.allocUnsafeSlow(smallSize);
    this.hold = new FrameHold(this.slab);
  }

  get bufferedBytes(): number {
    return this.end - this.start;
  }

  /** The size of the current slab. */
  get slabBytes(): number {
    return this.slab.length;
  }

  /** The current slab, which every frame `filled()` delivers is a view of: hold it to keep a frame past its call. */
  get slabHold(): FrameHold {
    return this.hold;
  }

  /** Frames longer than this are refused (at most the capacity). */
  get maxFrame(): number {
    return this.limit;
  }

  set maxFrame(n: number) {
    if (!(n >= 1 && n <= this.capacity)) throw new RangeError(`maxFrame must be 1..${this.capacity}`);
    this.limit = n;
  }

  /** Where the next read goes: the free tail of the slab, with room for the rest of the frame in progress. */
  nextBuffer(): Buffer {
    if (this.disposed) return DISCARD;
    const pending = this.end - this.start;
    if (pending === 0) {
      if (!this.streaming && !this.grow && this.slab.length > this.smallSize) {
        // Drained after a short read: give the large slab back (freed once its holders let go).
        this.replace(this.smallSize);
      } else if (this.hold.exclusive) {
        // Everything delivered and nobody holds the slab: start over at its beginning.
        this.start = 0;
        this.end = 0;
      }
    }
    const room = Math.max(this.rest(pending), MIN_READ);
    if (this.slab.length - this.end < room) {
      const size = this.streaming ? this.slabSize : this.grow ? Math.min(this.slabSize, GROWN_SLAB) : this.smallSize;
      this.replace(Math.max(size, pending + room));
    }
    this.offered = this.slab.length - this.end;
    return this.slab.subarray(this.end);
  }

  /** What the frame in progress still needs, when its header is in and valid (0 otherwise). */
  private rest(pending: number): number {
    if (pending < FRAME_HEADER) return 0;
    const len = this.slab.readUInt32BE(this.start);
    // filled() refuses a bad length before it is pending, unless a receiver's throw cut delivery short.
    if (len === 0 || len > this.limit) return 0;
    return FRAME_HEADER + len - pending;
  }

  /** Move to a new slab of `size` bytes, the unfinished frame copied over; let go of the old one. */
  private replace(size: number): void {
    const next = Buffer.allocUnsafeSlow(size);
    const pending = this.end - this.start;
    this.slab.copy(next, 0, this.start, this.end);
    this.hold.drop();
    this.slab = next;
    this.hold = new FrameHold(next);
    this.start = 0;
    this.end = pending;
  }

  /** `n` bytes were read into the buffer last returned by `nextBuffer()`: emit the frames now complete. */
  filled(n: number, onFrame: (frame: Uint8Array) => void): void {
    if (this.disposed) return;
    this.streaming = n >= STREAM_READ;
    this.grow = n === this.offered;
    this.end += n;
    const s = this.slab;
    // A receiver may dispose of the reader from inside onFrame (its link closed): stop there.
    while (!this.disposed && this.end - this.start >= FRAME_HEADER) {
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

  /** The link is gone: let go of the slab (freed at once unless held) and deliver nothing more. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.start = this.end = 0;
    this.hold.drop();
  }
}
