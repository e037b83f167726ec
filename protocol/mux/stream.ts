/**
 * One multiplexed stream: credit-based flow control in each direction
 * (as yamux / HTTP/2: a sender may have at most the granted window in
 * flight), half-close (FIN) each way, and RESET with a reason. Pure: frames
 * leave through the session, events reach the adapter through callbacks.
 *
 * Receive-side accounting, always: recv + early + held + ungranted = the
 * initial window, where recv is what the peer may still send, early the bytes
 * held until accept(), held the bytes given to onData but not yet consumed(),
 * and ungranted the consumed bytes not yet granted back. So a peer can never
 * make this side hold more than one window, and consumed() can never grant
 * more than was received.
 */
import { EARLY_WINDOW, FRAME, MAX_WINDOW, RESET_REASON } from './constants.ts';
import { encodeDataHeader, encodeFrame } from './frame.ts';

/** What a stream needs from its session. */
export interface StreamHost {
  sendFrame(parts: Uint8Array[]): void;
  /** Send this deferred stream's OPEN (and those of the deferred streams opened before it). */
  announce(s: MuxStream): void;
  afterSend(done: () => void): void;
  /** The stream is finished; one whose deferred OPEN never left is dropped unannounced. */
  removeStream(s: MuxStream): void;
  readonly maxFramePayload: number;
  readonly initialWindow: number;
}

export class MuxStream {
  readonly id: number;
  /** The outlet name carried by OPEN. */
  readonly target: string;
  /** True on the side that sent OPEN. */
  readonly opener: boolean;

  /**
   * Received bytes: a view of the channel message. Call consumed() once
   * delivered. `sole`: the chunk was the only frame of a message that was
   * all of its buffer and that the session was given to own, so the receiver
   * may free that buffer (`chunk.buffer`) once it is done with the chunk.
   */
  onData?: (chunk: Uint8Array, sole: boolean) => void;
  /** The peer sent FIN: no more data will come. */
  onEnd?: () => void;
  /** Opener: the acceptor answered OPEN_ACK. */
  onAccepted?: () => void;
  /** The stream was reset: by the peer (remote) or here (a local reset, a peer fault, the session closing). */
  onReset?: (reason: number, message: string, remote: boolean) => void;
  /** The send window grew: write() may take more. */
  onCredit?: () => void;
  /** The stream is finished and no longer in the session. Always the last callback. */
  onClose?: () => void;

  private readonly host: StreamHost;
  /** @internal Opener, `open(…, { defer: true })`: the OPEN frame, held until announced. */
  pendingOpen: Uint8Array[] | undefined;
  private accepted = false;
  /** Acceptor: the opener's initial window, our send credit once we accept. */
  private readonly peerWindow: number;
  /** Send credit once accepted. */
  private send = 0;
  /** Opener: bytes sent before OPEN_ACK, counted against the acceptor's initial window. */
  private sentEarly = 0;
  private recv: number;
  private held = 0;
  private ungranted = 0;
  private localFin = false;
  /** Acceptor: end() before accept(); FIN follows OPEN_ACK. */
  private finDeferred = false;
  private remoteFin = false;
  private closedFlag = false;
  /** Acceptor: DATA and FIN that arrived before accept(), delivered by it. */
  private early: [Uint8Array, boolean][] = [];
  private earlyBytes = 0;
  private earlyFin = false;

  /** @internal Streams are made by MuxSession.open() or by an OPEN from the peer. */
  constructor(host: StreamHost, id: number, target: string, opener: boolean, peerWindow: number) {
    this.host = host;
    this.id = id;
    this.target = target;
    this.opener = opener;
    this.peerWindow = peerWindow;
    this.recv = host.initialWindow;
  }

  /** Bytes write() takes right now. */
  get sendWindow(): number {
    if (this.localFin || this.closedFlag) return 0;
    // The opener may send EARLY_WINDOW bytes before OPEN_ACK: the first bytes need no round trip.
    if (!this.accepted) return this.opener ? EARLY_WINDOW - this.sentEarly : 0;
    return this.send;
  }

  /** Fully closed (both FINs, or a reset) and removed from the session. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Opener: OPEN_ACK received. Acceptor: accept() called. */
  get isAccepted(): boolean {
    return this.accepted;
  }

  /** Opener: send a deferred OPEN now (no-op once sent). */
  announce(): void {
    if (this.pendingOpen !== undefined) this.host.announce(this);
  }

  /** Acceptor: the target is ready. Sends OPEN_ACK, then hands over early data and an early FIN. */
  accept(): void {
    if (this.opener || this.accepted || this.closedFlag) return;
    this.accepted = true;
    this.send = this.peerWindow;
    this.host.sendFrame(encodeFrame({ type: FRAME.OPEN_ACK, id: this.id, window: this.host.initialWindow }));
    if (this.finDeferred) {
      this.finDeferred = false;
      this.host.sendFrame(encodeFrame({ type: FRAME.FIN, id: this.id }));
    }
    const early = this.early;
    this.early = [];
    for (const [c, sole] of early) {
      if (this.closedFlag) return;
      this.earlyBytes -= c.length;
      this.held += c.length;
      this.onData?.(c, sole);
    }
    if (this.closedFlag) return;
    if (this.earlyFin) {
      this.earlyFin = false;
      this.deliverFin();
    }
    if (!this.closedFlag && !this.localFin) this.onCredit?.();
  }

  /**
   * Send as much of `data` as the window allows, in DATA frames of at most
   * maxFramePayload bytes, without copying. `data` may be several buffers
   * sent as if concatenated (a frame may span two of them). Returns the
   * bytes taken; the caller keeps the rest until onCredit. Never buffers.
   */
  write(data: Uint8Array | readonly Uint8Array[]): number {
    const parts = data instanceof Uint8Array ? [data] : data;
    let total = 0;
    for (const p of parts) total += p.length;
    const n = Math.min(total, this.sendWindow);
    if (n > 0) this.announce();
    const max = this.host.maxFramePayload;
    let pi = 0;
    let po = 0;
    for (let o = 0; o < n; o += max) {
      const len = Math.min(max, n - o);
      const frame: Uint8Array[] = [encodeDataHeader(this.id, len)];
      for (let need = len; need > 0; ) {
        const p = parts[pi]!;
        const k = Math.min(need, p.length - po);
        if (k > 0) frame.push(po === 0 && k === p.length ? p : p.subarray(po, po + k));
        need -= k;
        po += k;
        if (po === p.length) {
          pi++;
          po = 0;
        }
      }
      if (this.accepted) this.send -= len;
      else this.sentEarly += len;
      this.host.sendFrame(frame);
      if (this.closedFlag) return o + len;
    }
    return n;
  }

  /**
   * `done` runs once the bytes given to write() so far have been consumed
   * by the channel (sealed), so their buffers may be reused or freed.
   */
  afterWritten(done: () => void): void {
    this.host.afterSend(done);
  }

  /**
   * The adapter delivered `n` received bytes onward. Once half the initial
   * window has been consumed and not yet granted, grant it back with
   * WINDOW_UPDATE. Bytes never received are not granted (n is capped).
   */
  consumed(n: number): void {
    if (this.closedFlag || !(n > 0)) return;
    const take = Math.min(Math.floor(n), this.held);
    this.held -= take;
    this.ungranted += take;
    // After the peer's FIN nothing more can arrive: granting would be noise.
    if (this.remoteFin || !this.accepted) return;
    if (this.ungranted >= this.host.initialWindow / 2) {
      const delta = this.ungranted;
      this.ungranted = 0;
      this.recv += delta;
      this.host.sendFrame(encodeFrame({ type: FRAME.WINDOW_UPDATE, id: this.id, delta }));
    }
  }

  /** Half-close: send FIN; no more write(). Idempotent. An acceptor's FIN waits for accept(). */
  end(): void {
    if (this.localFin || this.closedFlag) return;
    this.localFin = true;
    if (!this.opener && !this.accepted) {
      this.finDeferred = true;
      return;
    }
    this.announce();
    this.host.sendFrame(encodeFrame({ type: FRAME.FIN, id: this.id }));
    this.maybeClose();
  }

  /** Abort: send RESET with `reason`, close here (onReset with remote = false, then onClose). */
  reset(reason: number, message = ''): void {
    if (this.closedFlag) return;
    // A stream the peer never heard of ends here without a word.
    if (this.pendingOpen === undefined) this.host.sendFrame(encodeFrame({ type: FRAME.RESET, id: this.id, reason, message }));
    this.terminate(reason, message, false);
  }

  // ---- frames from the peer, dispatched by the session --------------------

  /** @internal */
  handleData(data: Uint8Array, sole = false): void {
    if (this.remoteFin || this.earlyFin) return this.reset(RESET_REASON.PROTOCOL, 'DATA after FIN');
    if (this.opener && !this.accepted) return this.reset(RESET_REASON.PROTOCOL, 'DATA before OPEN_ACK');
    if (data.length > this.recv) {
      return this.reset(RESET_REASON.FLOW_CONTROL, `peer sent ${data.length} bytes with ${this.recv} bytes of window left`);
    }
    if (!this.accepted) {
      // Early data: at most EARLY_WINDOW bytes, held until the outlet accepts.
      if (this.earlyBytes + data.length > EARLY_WINDOW) {
        return this.reset(RESET_REASON.FLOW_CONTROL, `more than ${EARLY_WINDOW} bytes before the stream was accepted`);
      }
      this.recv -= data.length;
      this.earlyBytes += data.length;
      if (data.length > 0) this.early.push([data, sole]);
      return;
    }
    this.recv -= data.length;
    if (data.length === 0) return;
    this.held += data.length;
    this.onData?.(data, sole);
  }

  /** @internal */
  handleWindowUpdate(delta: number): void {
    // Credit comes from consumed data, and no data can have reached the peer before the stream was accepted.
    if (!this.accepted) return this.reset(RESET_REASON.PROTOCOL, 'WINDOW_UPDATE before the stream was accepted');
    if (delta === 0) return this.reset(RESET_REASON.PROTOCOL, 'WINDOW_UPDATE of 0');
    if (this.send + delta > MAX_WINDOW) return this.reset(RESET_REASON.PROTOCOL, `send window would exceed ${MAX_WINDOW}`);
    this.send += delta;
    if (!this.localFin) this.onCredit?.();
  }

  /** @internal */
  handleAck(window: number): void {
    if (!this.opener || this.accepted) return this.reset(RESET_REASON.PROTOCOL, 'unexpected OPEN_ACK');
    if (window < EARLY_WINDOW || window > MAX_WINDOW) {
      return this.reset(RESET_REASON.PROTOCOL, `OPEN_ACK window ${window} outside ${EARLY_WINDOW}..${MAX_WINDOW}`);
    }
    this.accepted = true;
    this.send = window - this.sentEarly;
    this.onAccepted?.();
    if (!this.closedFlag && !this.localFin) this.onCredit?.();
  }

  /** @internal */
  handleFin(): void {
    if (this.remoteFin || this.earlyFin) return this.reset(RESET_REASON.PROTOCOL, 'duplicate FIN');
    if (this.opener && !this.accepted) return this.reset(RESET_REASON.PROTOCOL, 'FIN before OPEN_ACK');
    if (!this.accepted) {
      this.earlyFin = true;
      return;
    }
    this.deliverFin();
  }

  /** @internal Close without sending anything: a RESET from the peer, or the session closing. */
  terminate(reason: number, message: string, remote: boolean): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.early = [];
    this.host.removeStream(this);
    this.onReset?.(reason, message, remote);
    this.onClose?.();
  }

  private deliverFin(): void {
    this.remoteFin = true;
    this.onEnd?.();
    this.maybeClose();
  }

  private maybeClose(): void {
    if (this.localFin && this.remoteFin && !this.closedFlag) {
      this.closedFlag = true;
      this.host.removeStream(this);
      this.onClose?.();
    }
  }
}
