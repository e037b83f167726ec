/**
 * An end-to-end secure channel between two nodes, carried as routed messages
 * through the hub's relay, with a stream multiplexer on top. The hub sees
 * only the route header and Noise ciphertext.
 */
import { randomBytes } from 'node:crypto';
import { PosternError } from '../../protocol/errors.ts';
import type { LocalIdentity, PeerInfo, TrustOptions } from '../../protocol/channel/index.ts';
import { MuxSession, type MuxStream } from '../../protocol/mux/index.ts';
import { ChannelDriver } from './driver.ts';

export const LISTENER_ADDRESS = 'listener';

export interface PortalChannelOptions {
  initiator: boolean;
  local: LocalIdentity;
  trust: TrustOptions;
  /** Where the peer is: for the initiator, first [`relay:NAME`, 'listener']. */
  remoteRoute: string[];
  send: (onward: string[], ret: string[], parts: Uint8Array[]) => void;
  onEstablished?: (ch: PortalChannel) => void;
  onStream?: (ch: PortalChannel, stream: MuxStream, target: string) => void;
  onClose?: (ch: PortalChannel, error?: PosternError) => void;
  handshakeTimeoutMs?: number;
  initialWindow?: number;
  maxStreams?: number;
}

export class PortalChannel {
  readonly address = `ch-${randomBytes(8).toString('hex')}`;
  readonly initiator: boolean;
  /** Unix seconds at creation: a channel older than our latest credential is replaced. */
  readonly createdAt = Math.floor(Date.now() / 1000);
  private remoteRoute: string[];
  private routeLearned: boolean;
  private readonly driver: ChannelDriver;
  readonly mux: MuxSession;
  private readonly o: PortalChannelOptions;
  closeError: PosternError | undefined;

  constructor(o: PortalChannelOptions) {
    this.o = o;
    this.initiator = o.initiator;
    this.remoteRoute = o.remoteRoute;
    this.routeLearned = !o.initiator;
    this.mux = new MuxSession({
      initiator: o.initiator,
      send: (parts) => this.driver.send(parts),
      initialWindow: o.initialWindow,
      maxStreams: o.maxStreams,
      onOpen: (stream, target) => o.onStream?.(this, stream, target),
    });
    this.driver = new ChannelDriver({
      initiator: o.initiator,
      local: o.local,
      trust: o.trust,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      sendRaw: (parts) => o.send(this.remoteRoute, [this.address], parts),
      onEstablished: () => o.onEstablished?.(this),
      onMessage: (plaintext) => {
        try {
          this.mux.receive(plaintext);
        } catch (e) {
          this.close(e instanceof PosternError ? e : new PosternError('POSTERN_MUX_PROTOCOL', String(e)));
        }
      },
      onClose: (err) => {
        this.closeError = err;
        this.mux.close(err?.message ?? 'channel closed');
        o.onClose?.(this, err);
      },
    });
  }

  get peer(): PeerInfo | undefined {
    return this.driver.peer;
  }

  get established(): boolean {
    return this.driver.established;
  }

  get closed(): boolean {
    return this.driver.isClosed;
  }

  start(): void {
    this.driver.start();
  }

  /** A routed message for this channel arrived with return route `ret`. */
  receive(payload: Uint8Array, ret: string[]): void {
    if (!this.routeLearned) {
      // The responder's first answer tells us its address behind the relay.
      this.remoteRoute = ret;
      this.routeLearned = true;
    }
    this.driver.receiveRaw(payload);
  }

  close(error?: PosternError): void {
    this.driver.close(error);
  }
}
