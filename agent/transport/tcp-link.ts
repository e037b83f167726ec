/**
 * A secure link over one TCP connection: length-prefixed frames carrying a
 * Noise XX channel. Used between a node and the hub. Frame errors, handshake
 * failures, tampering and socket errors all end in one `onClose(error)`.
 */
import { connect, type Socket } from 'node:net';
import { PosternError } from '../../protocol/errors.ts';
import { coalesce } from '../../protocol/bytes.ts';
import type { PeerInfo, SecureChannelOptions } from '../../protocol/channel/index.ts';
import { ChannelDriver } from '../channel/driver.ts';
import { FrameDecoder, frameHeader } from './frame-decoder.ts';
import { SlabFrameReader } from './slab-reader.ts';
import { releaseAfterWrite } from './release.ts';

export { releaseAfterWrite };

/** A dialled socket whose reads go into slabs; TcpLink takes over `deliver`. */
export interface DialledLinkSocket {
  socket: Socket;
  reader: SlabFrameReader;
  deliver: (n: number) => void;
}

/**
 * Dial a link socket that reads frames into slabs (`SlabFrameReader`): the
 * data path's frames arrive without a per-read allocation or a copy.
 */
export function dialLinkSocket(host: string, port: number): DialledLinkSocket {
  const reader = new SlabFrameReader();
  const d: DialledLinkSocket = { reader, deliver: () => {}, socket: undefined as unknown as Socket };
  d.socket = connect({
    host,
    port,
    allowHalfOpen: false,
    onread: {
      buffer: () => reader.nextBuffer(),
      callback: (n: number) => {
        d.deliver(n);
        return true;
      },
    },
  });
  return d;
}

export interface TcpLinkOptions extends SecureChannelOptions {
  /** An accepted socket (read through 'data' events), or one from `dialLinkSocket`. */
  socket: Socket | DialledLinkSocket;
  onEstablished?: (link: TcpLink, peer: PeerInfo) => void;
  /** `frame`: set when the message's frame is a buffer of its own that the receiver may free once done with it. */
  onMessage?: (plaintext: Uint8Array, relayed?: Uint8Array, frame?: Uint8Array) => void;
  onClose?: (error?: PosternError) => void;
  handshakeTimeoutMs?: number;
  /** Close the link when nothing arrives for this long (keepalives keep it open). */
  idleTimeoutMs?: number;
}

export class TcpLink {
  readonly socket: Socket;
  private readonly driver: ChannelDriver;
  private readonly decoder = new FrameDecoder();
  private readonly o: TcpLinkOptions;
  private closeError: PosternError | undefined;
  private ended = false;
  private corked = false;
  private pendingRelease: readonly Uint8Array[] | undefined;
  private ownedFrame: Uint8Array | undefined;

  constructor(o: TcpLinkOptions) {
    this.o = o;
    const dialled = 'reader' in o.socket ? o.socket : undefined;
    this.socket = dialled?.socket ?? (o.socket as Socket);
    this.socket.setNoDelay(true);
    this.driver = new ChannelDriver({
      ...o,
      sendRaw: (parts) => this.writeFrame(parts),
      onEstablished: (peer) => o.onEstablished?.(this, peer),
      onMessage: o.onMessage === undefined ? undefined : (plaintext, relayed) => o.onMessage!(plaintext, relayed, this.ownedFrame),
      allowRelay: true,
      onClose: (err) => this.teardown(err),
    });
    const onFrame = (frame: Uint8Array, owned = false) => {
      // The decoder's own copy of a frame (header included) is handed to onMessage, to be freed once forwarded.
      this.ownedFrame = owned ? new Uint8Array(frame.buffer, 0, frame.buffer.byteLength) : undefined;
      try {
        this.driver.receiveRaw(frame);
      } finally {
        this.ownedFrame = undefined;
      }
    };
    const frameError = (e: unknown) =>
      this.driver.close(e instanceof PosternError ? e : new PosternError('POSTERN_FRAME_INVALID', String(e)));
    if (dialled !== undefined) {
      dialled.deliver = (n) => {
        try {
          dialled.reader.filled(n, onFrame);
        } catch (e) {
          frameError(e);
        }
      };
    } else {
      this.socket.on('data', (chunk: Buffer) => {
        try {
          this.decoder.push(chunk, onFrame);
        } catch (e) {
          frameError(e);
        }
      });
    }
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.driver.close(new PosternError('POSTERN_LINK_ERROR', `link error: ${e.code ?? e.message}`));
    });
    this.socket.on('close', () => {
      this.driver.close(this.closeError ?? new PosternError('POSTERN_LINK_CLOSED', 'link closed by peer'));
    });
    if (o.idleTimeoutMs !== undefined) {
      this.socket.setTimeout(o.idleTimeoutMs, () => {
        this.driver.close(new PosternError('POSTERN_LINK_TIMEOUT', `no traffic for ${o.idleTimeoutMs} ms`));
      });
    }
    if (o.initiator) this.driver.start();
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

  /** Bytes queued in the socket, for backpressure decisions. */
  get writableLength(): number {
    return this.socket.writableLength;
  }

  send(parts: Uint8Array[]): void {
    this.driver.send(parts);
  }

  /**
   * Forward end-to-end ciphertext: only the route header is encrypted on this
   * link. `release`: buffers nothing else refers to, freed as soon as the
   * kernel has them (see `releaseAfterWrite`).
   */
  sendRelay(header: Uint8Array, payload: Uint8Array[], release?: readonly Uint8Array[]): void {
    this.pendingRelease = release;
    try {
      this.driver.sendRelay(header, payload);
    } finally {
      this.pendingRelease = undefined;
    }
  }

  close(error?: PosternError): void {
    this.driver.close(error);
  }

  private writeFrame(parts: Uint8Array[]): void {
    if (this.socket.destroyed) return;
    let len = 0;
    for (const p of parts) len += p.length;
    const s = this.socket;
    // Frames written in the same tick leave in one writev (one syscall), without waiting.
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    // Header and small pieces in one buffer: fewer write requests, fewer iovecs.
    const out = coalesce([frameHeader(len), ...parts]);
    const release = this.pendingRelease;
    for (let i = 0; i < out.length - 1; i++) s.write(out[i]!);
    if (release === undefined) s.write(out[out.length - 1]!);
    else s.write(out[out.length - 1]!, () => releaseAfterWrite(release));
  }

  private teardown(err?: PosternError): void {
    if (this.ended) return;
    this.ended = true;
    this.closeError = err;
    this.socket.destroy();
    this.o.onClose?.(err);
  }
}
