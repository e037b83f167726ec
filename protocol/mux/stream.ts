/**
 * One multiplexed stream: credit-based flow control in both directions,
 * half-close (FIN) each way, and RESET with a reason. Pure: it sends frames
 * through its session and calls the adapter's callbacks.
 */
import { EARLY_WINDOW, FRAME, MAX_WINDOW, RESET_REASON } from './constants.ts';
import { encodeDataHeader, encodeFrame } from './frame.ts';

export interface StreamHost {
  sendFrame(parts: Uint8Array[]): void;
  removeStream(s: MuxStream): void;
  readonly maxFramePayload: number;
  readonly initialWindow: number;
}

export class MuxStream {
  readonly id: number;
  readonly target: string;
  readonly opener: boolean;
  onData?: (chunk: Uint8Array) => void;
  onEnd?: () => void;
  onAccepted?: () => void;
  onReset?: (reason: number, message: string, remote: boolean) => void;
  onCredit?: () => void;
  onClose?: () => void;

  private readonly host: StreamHost;
  private accepted = false;
  private peerWindow: number;
  private send = 0;
  private recv: number;
  private ungranted = 0;
  private localFin = false;
  private remoteFin = false;
  private closedFlag = false;
  /** Acceptor: early data and FIN that arrived before accept(), delivered by it. */
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  private earlyFin = false;
  /** Opener: bytes sent before OPEN_ACK, counted against the acceptor's window. */
  private sentEarly = 0;

  constructor(host: StreamHost, id: number, target: string, opener: boolean, peerWindow: number) {
    this.host = host;
    this.id = id;
    this.target = target;
    this.opener = opener;
    this.peerWindow = peerWindow;
    this.recv = host.initialWindow;
  }

  get sendWindow(): number {
    if (this.localFin || this.closedFlag) return 0;
    // The opener may send EARLY_WINDOW bytes before OPEN_ACK: no round trip before the first byte.
    if (!this.accepted) return this.opener ? EARLY_WINDOW - this.sentEarly : 0;
    return this.send;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get isAccepted(): boolean {
    return this.accepted;
  }

  /** Acceptor side: the target is ready; the opener may now send. */
  accept(): void {
    if (this.opener || this.accepted || this.closedFlag) return;
    this.accepted = true;
    this.send = this.peerWindow;
    this.host.sendFrame(encodeFrame({ type: FRAME.OPEN_ACK, id: this.id, window: this.host.initialWindow }));
    const early = this.early;
    this.early = [];
    for (const c of early) {
      if (this.closedFlag) return;
      this.onData?.(c);
    }
    if (this.earlyFin) {
      this.earlyFin = false;
      this.deliverFin();
    }
    if (!this.closedFlag) this.onCredit?.();
  }

  /** Send as much of `chunk` as the window allows; returns the bytes taken. */
  write(chunk: Uint8Array): number {
    const n = Math.min(chunk.length, this.sendWindow);
    const max = this.host.maxFramePayload;
    for (let o = 0; o < n; o += max) {
      const piece = chunk.subarray(o, Math.min(n, o + max));
      if (this.accepted) this.send -= piece.length;
      else this.sentEarly += piece.length;
      this.host.sendFrame([encodeDataHeader(this.id, piece.length), piece]);
      if (this.closedFlag) return o + piece.length;
    }
    return n;
  }

  /** The adapter delivered `n` received bytes: grant them back once half a window has built up. */
  consumed(n: number): void {
    if (this.closedFlag || this.remoteFin) return;
    this.ungranted += n;
    if (this.ungranted >= this.host.initialWindow / 2) {
      const delta = this.ungranted;
      this.ungranted = 0;
      this.recv += delta;
      this.host.sendFrame(encodeFrame({ type: FRAME.WINDOW_UPDATE, id: this.id, delta }));
    }
  }

  end(): void {
    if (this.localFin || this.closedFlag) return;
    this.localFin = true;
    this.host.sendFrame(encodeFrame({ type: FRAME.FIN, id: this.id }));
    this.maybeClose();
  }

  reset(reason: number, message = ''): void {
    if (this.closedFlag) return;
    this.host.sendFrame(encodeFrame({ type: FRAME.RESET, id: this.id, reason, message }));
    this.terminate(reason, message, false);
  }

  // ---- from the session --------------------------------------------------

  /** @internal */
  handleData(data: Uint8Array): void {
    if (this.remoteFin || this.earlyFin || (this.opener && !this.accepted)) {
      this.reset(RESET_REASON.PROTOCOL, 'DATA after FIN or before OPEN_ACK');
      return;
    }
    if (!this.accepted) {
      // Early data: held (at most EARLY_WINDOW bytes) until the outlet accepts the stream.
      if (this.earlyBytes + data.length > EARLY_WINDOW) {
        this.reset(RESET_REASON.FLOW_CONTROL, `more than ${EARLY_WINDOW} bytes before the stream was accepted`);
        return;
      }
      this.earlyBytes += data.length;
      this.recv -= data.length;
      if (data.length > 0) this.early.push(data);
      return;
    }
    if (data.length > this.recv) {
      this.reset(RESET_REASON.FLOW_CONTROL, `peer sent ${data.length} bytes with ${this.recv} of window left`);
      return;
    }
    this.recv -= data.length;
    if (data.length > 0) this.onData?.(data);
  }

  /** @internal */
  handleWindowUpdate(delta: number): void {
    if (delta === 0 || this.send + delta > MAX_WINDOW) {
      this.reset(RESET_REASON.PROTOCOL, 'bad window update');
      return;
    }
    this.send += delta;
    if (this.accepted) this.onCredit?.();
  }

  /** @internal */
  handleAck(window: number): void {
    if (!this.opener || this.accepted) {
      this.reset(RESET_REASON.PROTOCOL, 'unexpected OPEN_ACK');
      return;
    }
    if (window > MAX_WINDOW) {
      this.reset(RESET_REASON.PROTOCOL, 'window too large');
      return;
    }
    this.accepted = true;
    this.send = window - this.sentEarly;
    if (this.send < 0) {
      this.reset(RESET_REASON.PROTOCOL, 'window smaller than the early data');
      return;
    }
    this.onAccepted?.();
    this.onCredit?.();
  }

  /** @internal */
  handleFin(): void {
    if (this.remoteFin || this.earlyFin) {
      this.reset(RESET_REASON.PROTOCOL, 'duplicate FIN');
      return;
    }
    if (!this.opener && !this.accepted) {
      this.earlyFin = true;
      return;
    }
    this.deliverFin();
  }

  private deliverFin(): void {
    this.remoteFin = true;
    this.onEnd?.();
    this.maybeClose();
  }

  /** @internal */
  terminate(reason: number, message: string, remote: boolean): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.host.removeStream(this);
    this.onReset?.(reason, message, remote);
    this.onClose?.();
  }

  private maybeClose(): void {
    if (this.localFin && this.remoteFin && !this.closedFlag) {
      this.closedFlag = true;
      this.host.removeStream(this);
      this.onClose?.();
    }
  }
}
