/**
 * A Node `Duplex` over one multiplexed portal stream, for code that wants a
 * socket-like object without a TCP connection (the SDK's `connect()` and its
 * undici dispatcher). Backpressure follows the stream's windows: `_write`
 * completes only when the peer has granted credit, and received bytes are
 * granted back once the reader has taken them.
 */
import { Duplex } from 'node:stream';
import { PosternError } from '../../protocol/errors.ts';
import { RESET_REASON, type MuxStream } from '../../protocol/mux/index.ts';
import { resetError } from './reset-error.ts';

export class StreamDuplex extends Duplex {
  readonly stream: MuxStream;
  private pending: { chunk: Uint8Array; cb: (e?: Error | null) => void } | undefined;
  private unconsumed = 0;
  /** Mimic net.Socket enough for HTTP clients. */
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  connecting = true;

  constructor(stream: MuxStream) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024 });
    this.stream = stream;
    stream.onAccepted = () => {
      this.connecting = false;
      this.emit('connect');
      this.emit('ready');
      this.flush();
    };
    stream.onCredit = () => this.flush();
    stream.onData = (chunk) => {
      this.unconsumed += chunk.length;
      if (!this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        // Credit is returned in _read, once the consumer wants more.
      } else {
        this.grant();
      }
    };
    stream.onEnd = () => this.push(null);
    stream.onReset = (reason, message, remote) => {
      this.destroy(remote ? resetError(reason, message) : undefined);
    };
  }

  private grant(): void {
    if (this.unconsumed > 0) {
      const n = this.unconsumed;
      this.unconsumed = 0;
      this.stream.consumed(n);
    }
  }

  override _read(): void {
    this.grant();
  }

  private flush(): void {
    const p = this.pending;
    if (p === undefined) return;
    const n = this.stream.write(p.chunk);
    if (n === p.chunk.length) {
      this.pending = undefined;
      p.cb();
    } else {
      p.chunk = p.chunk.subarray(n);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const n = this.stream.write(chunk);
    if (n === chunk.length) cb();
    else this.pending = { chunk: chunk.subarray(n), cb };
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.stream.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.pending) {
      this.pending.cb(err ?? new PosternError('POSTERN_STREAM_CLOSED', 'stream closed'));
      this.pending = undefined;
    }
    try {
      this.stream.reset(RESET_REASON.CANCELLED, 'closed by the client');
    } catch {
      /* already closed */
    }
    cb(err);
  }

  // net.Socket no-ops that HTTP clients call.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(_ms: number, _cb?: () => void): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
