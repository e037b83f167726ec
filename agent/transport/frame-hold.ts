/**
 * Keeping received bytes past the receive callback, for a relay that
 * forwards them later: a frame assembled for the purpose is shared by the
 * messages of its relay record and freed when the last one is written.
 */
import { releaseAfterWrite } from './release.ts';

/**
 * A received frame that is a buffer of its own, shared by the messages of
 * one relay record: freed at once when the last holder lets go. The link
 * holds it while it delivers the record; a receiver that forwards a payload
 * takes a hold (see `retainPayload`) and lets go once it is written.
 */
export class FrameHold {
  private refs = 1;
  private readonly buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  get byteLength(): number {
    return this.buf.byteLength;
  }

  /** Only the first holder (its owner) holds it: nobody else refers to the bytes. */
  get exclusive(): boolean {
    return this.refs === 1;
  }

  /** One more holder: call the returned function once, when done with the bytes. */
  hold(): () => void {
    if (this.refs === 0) throw new Error('FrameHold: the frame was already freed');
    this.refs++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.drop();
    };
  }

  /** @internal the link's own hold, dropped after delivery. */
  drop(): void {
    if (--this.refs === 0) releaseAfterWrite([this.buf]);
  }
}

/**
 * A payload kept by a hold pins at most this many times its own size: a
 * relay record of a few large channel messages keeps its frame (each is a
 * large part of it), a small message in a large record is copied.
 */
const MAX_PIN_RATIO = 8;

/**
 * Keep `payload` (a view of a received frame or read) until `done` is
 * called: a hold on its frame when it is at least 1/8 of it, otherwise a
 * copy (freed by `done` too). A forwarding queue counts the payload's
 * bytes; this way what it keeps alive is at most 8 times that, whatever
 * else shared the frame.
 */
export function retainPayload(payload: Uint8Array, frame: FrameHold | undefined): { payload: Uint8Array; done: (() => void) | undefined } {
  const backing = frame?.byteLength ?? payload.buffer.byteLength;
  if (payload.length * MAX_PIN_RATIO >= backing) return { payload, done: frame?.hold() };
  const copy = new Uint8Array(payload);
  return { payload: copy, done: () => releaseAfterWrite([copy]) };
}
