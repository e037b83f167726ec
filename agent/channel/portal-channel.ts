/**
 * An end-to-end secure channel between two nodes, carried as routed messages
 * through the hub's relay, with a stream multiplexer on top. The hub sees
 * only the route header and Noise ciphertext.
 */
import { randomBytes } from 'node:crypto';
import { PosternError } from '../../protocol/errors.ts';
import { MAX_CHANNEL_MESSAGE, MAX_CHANNEL_PLAINTEXT, type LocalIdentity, type PeerInfo, type TrustOptions } from '../../protocol/channel/index.ts';
import { MuxSession, type MuxStream } from '../../protocol/mux/index.ts';
import { CHANNEL_PREFIX, encodeRouteHeader } from '../../protocol/routing/index.ts';
import { ChannelDriver } from './driver.ts';
import { endOfTurn } from '../transport/end-of-turn.ts';

/** Room for frames in one channel message: a maximal DATA frame and a few small ones. */
const MAX_BATCH = MAX_CHANNEL_PLAINTEXT - 256;

export interface PortalChannelOptions {
  initiator: boolean;
  local: LocalIdentity;
  trust: TrustOptions;
  /** Where the peer is: for the initiator, first [`relay:NAME`, 'listener']. */
  remoteRoute: string[];
  /**
   * Send one message to the peer. `transport`: an end-to-end transport
   * message, which the links need not authenticate again; handshake
   * messages and the close notice are not. `header`: the route header (the
   * peer's route, this channel's address to answer), encoded once per route.
   */
  send: (header: Uint8Array, parts: Uint8Array[], transport: boolean) => void;
  onEstablished?: (ch: PortalChannel) => void;
  onStream?: (ch: PortalChannel, stream: MuxStream, target: string) => void;
  onClose?: (ch: PortalChannel, error?: PosternError) => void;
  handshakeTimeoutMs?: number;
  initialWindow?: number;
  maxStreams?: number;
  /** End-to-end keepalive interval (default 10 s; silence for 3 intervals closes the channel). */
  keepaliveMs?: number;
}

export class PortalChannel {
  readonly address = `${CHANNEL_PREFIX}${randomBytes(8).toString('hex')}`;
  readonly initiator: boolean;
  /** Unix seconds at creation: a channel older than our latest credential is replaced. */
  readonly createdAt = Math.floor(Date.now() / 1000);
  private remoteRoute: string[];
  /** The route header of every message to the peer, encoded once per route. */
  private routeHeader: Uint8Array | undefined;
  private routeLearned: boolean;
  private readonly driver: ChannelDriver;
  readonly mux: MuxSession;
  private readonly o: PortalChannelOptions;
  closeError: PosternError | undefined;
  private lastHeard = 0;
  private batch: Uint8Array[] = [];
  /** Run once the current batch is sealed (or dropped): its parts are no longer referred to. */
  private afterFlush: (() => void)[] = [];
  private batchLen = 0;
  private flushScheduled = false;
  private keepalive: NodeJS.Timeout | undefined;
  /** The peer said it closed its end: nothing to tell it back. */
  private peerClosed = false;

  constructor(o: PortalChannelOptions) {
    this.o = o;
    this.initiator = o.initiator;
    this.remoteRoute = o.remoteRoute;
    this.routeLearned = !o.initiator;
    this.mux = new MuxSession({
      initiator: o.initiator,
      send: (parts) => this.queue(parts),
      afterSend: (done) => {
        if (this.batch.length === 0) done();
        else this.afterFlush.push(done);
      },
      onPong: () => {
        this.lastHeard = Date.now();
      },
      initialWindow: o.initialWindow,
      maxStreams: o.maxStreams,
      onOpen: (stream, target) => o.onStream?.(this, stream, target),
    });
    this.driver = new ChannelDriver({
      initiator: o.initiator,
      local: o.local,
      trust: o.trust,
      // Carried in relay records only, so its messages may be larger than a link's.
      maxMessage: MAX_CHANNEL_MESSAGE,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      sendRaw: (parts, transport) => this.sendToPeer(parts, transport),
      onEstablished: () => {
        this.lastHeard = Date.now();
        this.startKeepalive();
        o.onEstablished?.(this);
      },
      onMessage: (plaintext) => {
        this.lastHeard = Date.now();
        try {
          // A fresh decryption, referred to by nothing else.
          this.mux.receive(plaintext, true);
        } catch (e) {
          this.close(e instanceof PosternError ? e : new PosternError('POSTERN_MUX_PROTOCOL', String(e)));
        }
      },
      onClose: (err) => {
        clearInterval(this.keepalive);
        this.closeError = err;
        this.mux.close(err?.message ?? 'channel closed');
        this.notifyPeer(err);
        o.onClose?.(this, err);
      },
    });
  }

  /** The hub-side address of the other node's link (`link:ID`), once known. */
  get remoteHop(): string | undefined {
    return this.routeLearned ? this.remoteRoute[0] : undefined;
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

  /**
   * Frames produced in the same event-loop turn travel in one channel
   * message (the multiplexer reads several frames from one message): the
   * requests of all the connections read in a turn, or many small frames,
   * cost one seal, one route header and one write instead of one each. The
   * message leaves at the end of the turn's I/O (`endOfTurn`), in the same
   * pass as the link's records that carry it.
   */
  private queue(parts: Uint8Array[]): void {
    let len = 0;
    for (const p of parts) len += p.length;
    if (this.batchLen + len > MAX_BATCH) this.flush();
    for (const p of parts) this.batch.push(p);
    this.batchLen += len;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      endOfTurn.defer(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.batch.length === 0) return;
    const parts = this.batch;
    const after = this.afterFlush;
    this.batch = [];
    this.batchLen = 0;
    this.afterFlush = [];
    try {
      if (!this.driver.isClosed) this.driver.send(parts);
    } catch (e) {
      // The hub link is gone or the channel closed: end every stream with that reason.
      queueMicrotask(() => this.close(e instanceof PosternError ? e : new PosternError('POSTERN_CHANNEL_CLOSED', String(e))));
    } finally {
      // Sealed (into new buffers) or dropped: the plaintext parts are free either way. Each callback
      // on its own in the end-of-turn pass: never inside another stream's write (a flush may run
      // there), one that throws cannot keep the others from running, and the writes they release
      // (a writer's next buffered chunk) join this pass instead of waiting for the next turn.
      for (const f of after) endOfTurn.defer(f);
    }
  }

  /**
   * End-to-end liveness: a PING every `keepaliveMs` while the channel is
   * open; nothing heard for three intervals closes it (and resets its streams).
   */
  private startKeepalive(): void {
    const ms = this.o.keepaliveMs ?? 10_000;
    this.keepalive = setInterval(() => {
      if (Date.now() - this.lastHeard > 3 * ms) {
        this.close(new PosternError('POSTERN_PEER_SILENT', `no answer from the other node for ${(3 * ms) / 1000} s`));
        return;
      }
      this.mux.ping(Date.now() & 0x7fffffff);
    }, ms);
    this.keepalive.unref();
  }

  start(): void {
    this.driver.start();
  }

  /**
   * A routed message for this channel arrived with return route `ret`.
   * `transport`: no link authenticated it (an end-to-end transport message,
   * checked by this channel alone). An empty message that the links did
   * authenticate is the close notice: the peer closed its end.
   */
  receive(payload: Uint8Array, ret: string[], transport: boolean): void {
    if (payload.length === 0 && !transport) {
      // Only from the peer's own address: a notice cannot close a channel for anyone else.
      if (this.routeLearned && !sameRoute(ret, this.remoteRoute)) return;
      this.peerClosed = true;
      this.close(new PosternError('POSTERN_PEER_CLOSED', 'the other node closed the secure channel', 'its log says why; the next connection opens a new channel'));
      return;
    }
    if (!this.routeLearned) {
      // The responder's first answer tells us its address behind the relay.
      this.remoteRoute = ret;
      this.routeHeader = undefined;
      this.routeLearned = true;
    }
    this.driver.receiveRaw(payload, transport);
  }

  /**
   * Tell the peer this end is closed, so it does not wait for its keepalive
   * to find out: above all when a transport message failed to authenticate
   * here (changed on the way, which no link checks). The notice is an empty
   * message that every link authenticates, so nobody on the way can forge
   * it; unless the peer itself closed, left, or was never reached.
   */
  private notifyPeer(err?: PosternError): void {
    if (!this.routeLearned || this.peerClosed || err?.code === 'POSTERN_PEER_GONE') return;
    try {
      this.sendToPeer([new Uint8Array(0)], false);
    } catch {
      /* the hub link is down: the peer learns it from the hub */
    }
  }

  close(error?: PosternError): void {
    this.driver.close(error);
  }

  private sendToPeer(parts: Uint8Array[], transport: boolean): void {
    this.routeHeader ??= encodeRouteHeader(this.remoteRoute, [this.address]);
    this.o.send(this.routeHeader, parts, transport);
  }
}

function sameRoute(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
