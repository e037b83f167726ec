/**
 * A multiplexer session over one secure channel: opens and accepts streams,
 * dispatches frames, enforces the stream limit and GO_AWAY. Pure: frames go
 * out through `send`, frames come in through `receive`.
 */
import { PosternError } from '../errors.ts';
import { EARLY_WINDOW, DEFAULT_INITIAL_WINDOW, DEFAULT_MAX_FRAME_PAYLOAD, DEFAULT_MAX_STREAMS, FRAME, HEADER_LEN, MAX_STREAM_ID, MAX_WINDOW, RESET_REASON } from './constants.ts';
import { MuxProtocolError } from './errors.ts';
import { decodeFrame, encodeFrame } from './frame.ts';
import { MuxStream, type StreamHost } from './stream.ts';

export interface MuxOptions {
  initiator: boolean;
  send: (parts: Uint8Array[]) => void;
  initialWindow?: number;
  maxStreams?: number;
  maxFramePayload?: number;
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
  private highestPeerId = 0;
  private goAwaySent = false;
  private goAwayReceived = false;
  private closed = false;

  constructor(o: MuxOptions) {
    this.o = o;
    this.initialWindow = o.initialWindow ?? DEFAULT_INITIAL_WINDOW;
    this.maxStreams = o.maxStreams ?? DEFAULT_MAX_STREAMS;
    this.maxFramePayload = o.maxFramePayload ?? DEFAULT_MAX_FRAME_PAYLOAD;
    if (this.initialWindow < EARLY_WINDOW || this.initialWindow > MAX_WINDOW) throw new RangeError(`initialWindow must be ${EARLY_WINDOW}..${MAX_WINDOW}`);
    this.nextId = o.initiator ? 1 : 2;
  }

  get streamCount(): number {
    return this.map.size;
  }

  streams(): IterableIterator<MuxStream> {
    return this.map.values();
  }

  /** @internal */
  sendFrame(parts: Uint8Array[]): void {
    if (this.closed) return;
    this.o.send(parts);
  }

  /** @internal */
  removeStream(s: MuxStream): void {
    if (this.map.get(s.id) === s) this.map.delete(s.id);
  }

  open(target: string): MuxStream {
    if (this.closed) throw new PosternError('POSTERN_MUX_CLOSED', 'the channel is closed');
    if (this.goAwaySent || this.goAwayReceived) throw new PosternError('POSTERN_MUX_CLOSED', 'the channel is going away');
    if (this.map.size >= this.maxStreams) {
      throw new PosternError('POSTERN_MUX_TOO_MANY_STREAMS', `at most ${this.maxStreams} streams per channel`, 'close some connections or raise the limit');
    }
    if (this.nextId > MAX_STREAM_ID) throw new PosternError('POSTERN_MUX_CLOSED', 'stream ids exhausted; open a new channel');
    const id = this.nextId;
    this.nextId += 2;
    const s = new MuxStream(this, id, target, true, 0);
    this.map.set(id, s);
    this.sendFrame(encodeFrame({ type: FRAME.OPEN, id, target, window: this.initialWindow }));
    return s;
  }

  /** One channel message: one or more whole frames, back to back. */
  receive(bytes: Uint8Array): void {
    let o = 0;
    do {
      if (bytes.length - o < HEADER_LEN) throw new MuxProtocolError('truncated frame header');
      const len = HEADER_LEN + new DataView(bytes.buffer, bytes.byteOffset + o + 5, 4).getUint32(0);
      if (len > bytes.length - o) throw new MuxProtocolError('frame longer than its message');
      this.receiveFrame(bytes.subarray(o, o + len));
      o += len;
    } while (o < bytes.length && !this.closed);
  }

  private receiveFrame(bytes: Uint8Array): void {
    if (this.closed) return;
    const f = decodeFrame(bytes, this.maxFramePayload);
    if (f.type === FRAME.OPEN) {
      this.peerOpen(f.id, f.target, f.window);
      return;
    }
    if (f.type === FRAME.PING) {
      this.sendFrame(encodeFrame({ type: FRAME.PONG, id: 0, opaque: f.opaque }));
      return;
    }
    if (f.type === FRAME.PONG) {
      this.o.onPong?.(f.opaque);
      return;
    }
    if (f.type === FRAME.GO_AWAY) {
      this.goAwayReceived = true;
      this.o.onGoAway?.(f.reason, f.message);
      return;
    }
    const s = this.map.get(f.id);
    if (s === undefined) return; // a frame racing a reset: ignore
    switch (f.type) {
      case FRAME.DATA:
        s.handleData(f.data);
        break;
      case FRAME.WINDOW_UPDATE:
        s.handleWindowUpdate(f.delta);
        break;
      case FRAME.OPEN_ACK:
        s.handleAck(f.window);
        break;
      case FRAME.FIN:
        s.handleFin();
        break;
      case FRAME.RESET:
        s.terminate(f.reason, f.message, true);
        break;
    }
  }

  private peerOpen(id: number, target: string, window: number): void {
    const reset = (reason: number, message: string) => this.sendFrame(encodeFrame({ type: FRAME.RESET, id, reason, message }));
    if (this.map.has(id)) throw new MuxProtocolError(`OPEN reuses live stream ${id}`);
    const peerParity = this.o.initiator ? 0 : 1;
    if (id % 2 !== peerParity || id <= this.highestPeerId || window > MAX_WINDOW || window < EARLY_WINDOW) {
      reset(RESET_REASON.PROTOCOL, 'bad stream id or window');
      return;
    }
    this.highestPeerId = id;
    if (this.goAwaySent || this.goAwayReceived) {
      reset(RESET_REASON.GOING_AWAY, 'the channel is going away');
      return;
    }
    if (this.map.size >= this.maxStreams) {
      reset(RESET_REASON.TOO_MANY_STREAMS, `at most ${this.maxStreams} streams per channel`);
      return;
    }
    const s = new MuxStream(this, id, target, false, window);
    this.map.set(id, s);
    if (this.o.onOpen === undefined) s.reset(RESET_REASON.OUTLET_UNKNOWN, 'no outlets here');
    else this.o.onOpen(s, target);
  }

  ping(opaque: number): void {
    this.sendFrame(encodeFrame({ type: FRAME.PING, id: 0, opaque: opaque >>> 0 }));
  }

  goAway(reason: number, message: string): void {
    if (this.goAwaySent) return;
    this.goAwaySent = true;
    this.sendFrame(encodeFrame({ type: FRAME.GO_AWAY, id: 0, reason, message }));
  }

  /** Close locally: every stream ends with GOING_AWAY; nothing more is sent. */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.map.values()]) s.terminate(RESET_REASON.GOING_AWAY, reason, false);
    this.map.clear();
  }
}
