/**
 * Drives a secure channel over any message transport (a TCP link's frames,
 * or routed messages through a relay). It owns the handshake timeout and
 * turns every failure into one `onClose(error)` call; after that, nothing is
 * sent or delivered.
 */
import { PosternError } from '../../protocol/errors.ts';
import {
  SecureChannelHandshake,
  type EstablishedChannel,
  type PeerInfo,
  type RelayEntry,
  type SecureChannelOptions,
  type TransportState,
} from '../../protocol/channel/index.ts';

export interface DriverOptions extends SecureChannelOptions {
  /**
   * Send one raw message made of consecutive parts. `transport`: a
   * transport message of this channel (sealed by it), not a handshake
   * message.
   */
  sendRaw: (parts: Uint8Array[], transport: boolean) => void;
  onEstablished?: (peer: PeerInfo) => void;
  /**
   * A sealed message's plaintext; or, with `relayed` set, one message of a
   * relay record (links only, see `allowRelay`): its route header and its
   * payload, a view of the record, and whether it came unauthenticated by
   * the link as an end-to-end transport message. A record's messages
   * arrive in order.
   */
  onMessage?: (plaintext: Uint8Array, relayed?: Uint8Array, transport?: boolean) => void;
  /** Accept relay records (route headers sealed, payloads sent as they are, §7): node↔hub links only. */
  allowRelay?: boolean;
  onClose?: (error?: PosternError) => void;
  handshakeTimeoutMs?: number;
}

export class ChannelDriver {
  private readonly o: DriverOptions;
  private hs: SecureChannelHandshake | undefined;
  private transport: TransportState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  peer: PeerInfo | undefined;
  handshakeHash: Uint8Array | undefined;

  constructor(o: DriverOptions) {
    this.o = o;
    this.hs = new SecureChannelHandshake(o);
    const ms = o.handshakeTimeoutMs ?? 10_000;
    this.timer = setTimeout(() => {
      this.close(new PosternError('POSTERN_HANDSHAKE_TIMEOUT', `secure channel handshake did not complete within ${ms} ms`));
    }, ms);
    this.timer.unref();
  }

  get established(): boolean {
    return this.transport !== undefined;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Initiator: send message 1. */
  start(): void {
    if (this.hs === undefined) return;
    this.guard(() => this.o.sendRaw([this.hs!.start()], false));
  }

  /**
   * One raw message from the peer. `transport`: it reached us without any
   * authentication on the way (a relay record's end-to-end transport
   * message), so only an established channel may take it, and its own AEAD
   * decides: handshake messages always come authenticated by every link.
   */
  receiveRaw(msg: Uint8Array, transport: boolean): void {
    if (this.closed) return;
    this.guard(() => {
      if (transport && this.transport === undefined) {
        throw new PosternError('POSTERN_MESSAGE_UNEXPECTED', 'a transport message before the handshake completed');
      }
      if (this.transport !== undefined) {
        if (this.o.allowRelay) {
          const m = this.transport.openMessage(msg);
          if (m.relays === undefined) this.o.onMessage?.(m.plaintext);
          else {
            for (const r of m.relays) {
              if (this.closed) return;
              this.o.onMessage?.(r.header, r.payload, r.transport);
            }
          }
        } else {
          this.o.onMessage?.(this.transport.open(msg));
        }
        return;
      }
      const r = this.hs!.receive(msg);
      if (r.reply !== undefined) this.o.sendRaw([r.reply], false);
      if (r.established !== undefined) this.establish(r.established);
    });
  }

  private establish(ch: EstablishedChannel): void {
    clearTimeout(this.timer);
    this.hs = undefined;
    this.transport = ch.transport;
    this.peer = ch.peer;
    this.handshakeHash = ch.handshakeHash;
    this.o.onEstablished?.(ch.peer);
  }

  /** Encrypt and send one message (plaintext in parts). */
  send(parts: Uint8Array[]): void {
    if (this.closed) throw new PosternError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    if (this.transport === undefined) throw new PosternError('POSTERN_CHANNEL_NOT_READY', 'secure channel is not established yet');
    this.o.sendRaw(this.transport.sealParts(parts), true);
  }

  /** Send a relay record: the route headers sealed, the payloads sent as they are (see `TransportState.sealRelay`). */
  sendRelay(entries: readonly RelayEntry[]): void {
    if (this.closed) throw new PosternError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    if (this.transport === undefined) throw new PosternError('POSTERN_CHANNEL_NOT_READY', 'secure channel is not established yet');
    // A link's own transport message (its headers sealed here), not one of an end-to-end channel.
    this.o.sendRaw(this.transport.sealRelay(entries), true);
  }

  close(error?: PosternError): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.hs = undefined;
    this.transport = undefined;
    this.o.onClose?.(error);
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      const err =
        e instanceof PosternError ? e : new PosternError('POSTERN_INTERNAL', e instanceof Error ? e.message : String(e));
      this.close(err);
    }
  }
}
