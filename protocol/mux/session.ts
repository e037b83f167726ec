/**
 * A multiplexer session over one secure channel: opens and accepts streams,
 * dispatches frames, enforces stream ids, the stream limit and GO_AWAY.
 * Pure: frames leave through `send`, channel messages come in through
 * `receive`. docs/PROTOCOL.md §11 is the normative description.
 */
import { PosternError } from '../errors.ts';
import {
  DEFAULT_INITIAL_WINDOW,
  DEFAULT_MAX_FRAME_PAYLOAD,
  DEFAULT_MAX_STREAMS,
  EARLY_WINDOW,
  FRAME,
  HEADER_LEN,
  MAX_STR8,
  MAX_STREAM_ID,
  MAX_WINDOW,
  RESET_REASON,
} from './constants.ts';
import { muxClosed, MuxProtocolError, tooManyStreams } from './errors.ts';
import { decodeFrame, encodeFrame, type Frame } from './frame.ts';
import { readU32 } from '../bytes.ts';
import { MuxStream, type StreamHost } from './stream.ts';

export interface MuxOptions {
  /** The channel's initiator opens odd stream ids (1, 3, 5…), the responder even ones (2, 4…). */
  initiator: boolean;
  /** Emit one frame: the parts concatenated are the frame. Called synchronously, never after close(). */
  send: (parts: Uint8Array[]) => void;
  /**
   * For a `send` that keeps the parts for a while (a channel batching the
   * frames of one moment): call `done` once every part handed to `send` so
   * far has been consumed, so their buffers may be reused or freed. Without
   * it, `send` is taken to consume the parts before it returns.
   */
  afterSend?: (done: () => void) => void;
  /** This side's receive window per stream (default 4 MiB; at least EARLY_WINDOW, at most 2^31-1). */
  initialWindow?: number;
  /** Concurrently open streams, both directions together (default 1024). */
  maxStreams?: number;
  /** Largest DATA payload sent or accepted (default DEFAULT_MAX_FRAME_PAYLOAD, 261,000). */
  maxFramePayload?: number;
  /** The peer opened a stream: call stream.accept() (now or later) or stream.reset(reason, message). */
  onOpen?: (stream: MuxStream, target: string) => void;
  onGoAway?: (reason: number, message: string) => void;
  onPong?: (opaque: number) => void;
}

export class MuxSession implements StreamHost {
  readonly initialWindow: number;
  readonly maxFramePayload: number;
  private readonly maxStreams: number;
  private readonly o: MuxOptions;
  private readonly map = new Map<number, MuxStream>();
  private nextId: number;
  /** The highest id the peer opened: its ids only grow. */
  private highestPeerId = 0;
  private goAwaySent = false;
  private goAwayReceived = false;
  private closed = false;
  /** Streams opened with `defer` whose OPEN has not left yet, lowest id first. */
  private unannounced: MuxStream[] = [];

  constructor(o: MuxOptions) {
    this.o = o;
    this.initialWindow = o.initialWindow ?? DEFAULT_INITIAL_WINDOW;
    this.maxStreams = o.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.maxFramePayload = o.maxFramePayload ?? DEFAULT_MAX_FRAME_PAYLOAD;
    if (!Number.isInteger(this.initialWindow) || this.initialWindow < EARLY_WINDOW || this.initialWindow > MAX_WINDOW) {
      throw new RangeError(`initialWindow must be an integer in ${EARLY_WINDOW}..${MAX_WINDOW}`);
    }
    if (!Number.isInteger(this.maxStreams) || this.maxStreams < 1) throw new RangeError('maxStreams must be a positive integer');
    if (!Number.isInteger(this.maxFramePayload) || this.maxFramePayload < 1 || this.maxFramePayload > MAX_STREAM_ID) {
      throw new RangeError('maxFramePayload must be a positive integer');
    }
    this.nextId = o.initiator ? 1 : 2;
  }

  /** Streams open now (opened here or by the peer, not yet closed). */
  get streamCount(): number {
    return this.map.size;
  }

  streams(): IterableIterator<MuxStream> {
    return this.map.values();
  }

  /** Sent or received GO_AWAY: no new streams either way. */
  get goingAway(): boolean {
    return this.goAwaySent || this.goAwayReceived;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  sendFrame(parts: Uint8Array[]): void {
    if (!this.closed) this.o.send(parts);
  }

  /** @internal see MuxOptions.afterSend */
  afterSend(done: () => void): void {
    if (this.o.afterSend !== undefined) this.o.afterSend(done);
    else done();
  }

  /** @internal */
  removeStream(s: MuxStream): void {
    if (this.map.get(s.id) === s) this.map.delete(s.id);
    if (s.pendingOpen !== undefined) {
      // Closed before its OPEN left: the peer never hears of it.
      s.pendingOpen = undefined;
      const i = this.unannounced.indexOf(s);
      if (i >= 0) this.unannounced.splice(i, 1);
    }
  }

  /**
   * Open a stream to the peer's outlet `target`. It may carry EARLY_WINDOW
   * bytes before OPEN_ACK. `defer`: hold the OPEN until the stream's first
   * frame (its first bytes, FIN) or `announce()`, so that a connection's
   * first bytes leave in the same message as its OPEN when they come soon.
   * It also leaves when a stream opened later is announced (ids reach the
   * peer in order) and before GO_AWAY. The peer sees nothing of a deferred
   * stream reset before it was announced, and frames for it until then are
   * ignored as for any stream that is not open.
   */
  open(target: string, o: { defer?: boolean } = {}): MuxStream {
    if (this.closed) throw muxClosed('the channel is closed');
    if (this.goingAway) throw muxClosed('the channel is going away');
    const t = new TextEncoder().encode(target).length;
    if (t < 1 || t > MAX_STR8) throw new PosternError('POSTERN_BAD_NAME', `an outlet name is 1 to ${MAX_STR8} bytes, got ${t}`);
    if (this.map.size >= this.maxStreams) throw tooManyStreams(this.maxStreams);
    if (this.nextId > MAX_STREAM_ID) throw muxClosed('stream ids are exhausted on this channel');
    const id = this.nextId;
    this.nextId += 2;
    const s = new MuxStream(this, id, target, true, 0);
    this.map.set(id, s);
    const frame = encodeFrame({ type: FRAME.OPEN, id, target, window: this.initialWindow });
    if (o.defer === true) {
      s.pendingOpen = frame;
      this.unannounced.push(s);
    } else {
      // The peer takes ids in increasing order only: streams opened before this one go first.
      this.announceUpTo(id);
      this.sendFrame(frame);
    }
    return s;
  }

  /** @internal Send the held OPEN of every deferred stream up to and including `s` (ids reach the peer in order). */
  announce(s: MuxStream): void {
    this.announceUpTo(s.id);
  }

  private announceUpTo(id: number): void {
    while (this.unannounced.length > 0 && this.unannounced[0]!.id <= id) {
      const s = this.unannounced.shift()!;
      const frame = s.pendingOpen;
      s.pendingOpen = undefined;
      if (frame !== undefined) this.sendFrame(frame);
    }
  }

  /**
   * One channel message: one or more whole frames back to back. Throws
   * MuxProtocolError on anything session-fatal; the caller then closes the
   * channel (and this session). DATA goes straight to the stream as a view.
   * `owned`: nothing else refers to `msg` (a fresh decryption): a message
   * that is one DATA frame and all of its buffer lets its stream free that
   * buffer once delivered.
   */
  receive(msg: Uint8Array, owned = false): void {
    if (this.closed) return;
    const whole = owned && msg.byteOffset === 0 && msg.byteLength === msg.buffer.byteLength;
    let o = 0;
    do {
      if (msg.length - o < HEADER_LEN) throw new MuxProtocolError(`truncated frame header (${msg.length - o} bytes)`);
      const len = readU32(msg, o + 5);
      const end = o + HEADER_LEN + len;
      if (end > msg.length) throw new MuxProtocolError(`frame body of ${len} bytes, only ${msg.length - o - HEADER_LEN} left in the message`);
      if (msg[o] === FRAME.DATA) {
        // The hot path: no frame object, no copy.
        const id = readU32(msg, o + 1);
        if (id === 0) throw new MuxProtocolError('DATA on stream 0');
        if (len > this.maxFramePayload) throw new MuxProtocolError(`DATA frame of ${len} bytes exceeds ${this.maxFramePayload}`);
        const s = this.map.get(id);
        // Not open for the peer yet (a deferred OPEN not sent): ignored, as in dispatch().
        if (s !== undefined && s.pendingOpen === undefined) s.handleData(msg.subarray(o + HEADER_LEN, end), whole && o === 0 && end === msg.length);
      } else {
        this.dispatch(decodeFrame(msg.subarray(o, end), this.maxFramePayload));
      }
      o = end;
    } while (o < msg.length && !this.closed);
  }

  private dispatch(f: Frame): void {
    switch (f.type) {
      case FRAME.OPEN:
        return this.peerOpen(f.id, f.target, f.window);
      case FRAME.PING:
        return this.sendFrame(encodeFrame({ type: FRAME.PONG, id: 0, opaque: f.opaque }));
      case FRAME.PONG:
        return this.o.onPong?.(f.opaque);
      case FRAME.GO_AWAY:
        if (this.goAwayReceived) return;
        this.goAwayReceived = true;
        return this.o.onGoAway?.(f.reason, f.message);
    }
    // Stream frames for an id not open (closed, refused, never opened) race a reset: ignore. A
    // deferred stream whose OPEN has not left is not open for the peer either.
    const s = this.map.get(f.id);
    if (s === undefined || s.pendingOpen !== undefined) return;
    switch (f.type) {
      case FRAME.DATA:
        return s.handleData(f.data);
      case FRAME.WINDOW_UPDATE:
        return s.handleWindowUpdate(f.delta);
      case FRAME.OPEN_ACK:
        return s.handleAck(f.window);
      case FRAME.FIN:
        return s.handleFin();
      case FRAME.RESET:
        return s.terminate(f.reason, f.message, true);
    }
  }

  private peerOpen(id: number, target: string, window: number): void {
    if (this.map.has(id)) throw new MuxProtocolError(`OPEN reuses live stream ${id}`);
    const refuse = (reason: number, message: string) => this.sendFrame(encodeFrame({ type: FRAME.RESET, id, reason, message }));
    const peerParity = this.o.initiator ? 0 : 1;
    if (id % 2 !== peerParity) return refuse(RESET_REASON.PROTOCOL, `stream ${id} has this side's parity`);
    if (id <= this.highestPeerId) return refuse(RESET_REASON.PROTOCOL, `stream id ${id} was already used`);
    this.highestPeerId = id;
    if (window < EARLY_WINDOW || window > MAX_WINDOW) return refuse(RESET_REASON.PROTOCOL, `OPEN window ${window} outside ${EARLY_WINDOW}..${MAX_WINDOW}`);
    if (this.goingAway) return refuse(RESET_REASON.GOING_AWAY, 'the channel is going away');
    if (this.map.size >= this.maxStreams) return refuse(RESET_REASON.TOO_MANY_STREAMS, `at most ${this.maxStreams} streams per channel`);
    const s = new MuxStream(this, id, target, false, window);
    this.map.set(id, s);
    if (this.o.onOpen === undefined) s.reset(RESET_REASON.OUTLET_UNKNOWN, 'this node has no outlets');
    else this.o.onOpen(s, target);
  }

  /** Send PING; the peer's PONG reaches onPong with the same opaque value. */
  ping(opaque: number): void {
    this.sendFrame(encodeFrame({ type: FRAME.PING, id: 0, opaque: opaque >>> 0 }));
  }

  /** Refuse new streams both ways from now on; open streams carry on until they end. Idempotent. */
  goAway(reason: number, message: string): void {
    if (this.goAwaySent || this.closed) return;
    this.goAwaySent = true;
    // Streams opened before it are not refused for it.
    this.announceUpTo(MAX_STREAM_ID);
    this.sendFrame(encodeFrame({ type: FRAME.GO_AWAY, id: 0, reason, message }));
  }

  /** The channel is gone: every open stream gets onReset(GOING_AWAY, reason, false); nothing more is sent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.map.values()]) s.terminate(RESET_REASON.GOING_AWAY, reason, false);
    this.map.clear();
  }
}
