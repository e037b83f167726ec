/**
 * A Node `Duplex` over one multiplexed portal stream, for code that wants a
 * socket-like object without a TCP connection (the SDK's `connect()` and its
 * undici dispatcher). Backpressure follows the stream's windows: `_write`
 * completes only when the peer has granted credit, and received bytes are
 * granted back once the reader has taken them (or the readable buffer has
 * room for them), so one stream never holds more than its window.
 *
 * Errors: a reset from the other side becomes its stable code (reset-error.ts);
 * a stream ended from this side without our asking (the channel closed) gets
 * the channel's reason. `destroy()` resets the stream, so the other side
 * frees it at once.
 */
import { Duplex } from 'node:stream';
import { PosternError } from '../../protocol/errors.ts';
import { RESET_REASON, type MuxStream } from '../../protocol/mux/index.ts';
import { resetError } from './reset-error.ts';

export interface StreamDuplexOptions {
  /** Why the stream ended when this side closed it without being asked (e.g. the channel's close error). */
  closedError?: () => PosternError | undefined;
  /** Applied to every error the duplex raises (the SDK narrows codes to its published set). */
  mapError?: (e: PosternError) => Error;
}

export class StreamDuplex extends Duplex {
  readonly stream: MuxStream;
  private readonly o: StreamDuplexOptions;
  private pending: { chunk: Uint8Array; cb: (e?: Error | null) => void } | undefined;
  private pendingFinal: ((e?: Error | null) => void) | undefined;
  private unconsumed = 0;
  /** Set while we reset the stream ourselves, so our own reset is not reported back as an error. */
  private resetting = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  bytesRead = 0;
  bytesWritten = 0;
  /** net.Socket look-alikes for HTTP clients and their error messages; there is no TCP peer. */
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  connecting: boolean;

  constructor(stream: MuxStream, o: StreamDuplexOptions = {}) {
    super({ allowHalfOpen: true, readableHighWaterMark: 64 * 1024 });
    this.stream = stream;
    this.o = o;
    this.connecting = !stream.isAccepted;
    stream.onAccepted = () => {
      this.connecting = false;
      this.emit('connect');
      this.emit('ready');
      this.flush();
      this.flushFinal();
    };
    stream.onCredit = () => this.flush();
    stream.onData = (chunk) => {
      this.touch();
      this.bytesRead += chunk.length;
      this.unconsumed += chunk.length;
      // The chunk is a view of a buffer decrypted for this message only: no copy needed.
      // When push() says the buffer is full, credit waits for _read.
      if (this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) this.grant();
    };
    stream.onEnd = () => {
      this.touch();
      this.push(null);
    };
    stream.onReset = (reason, message, remote) => {
      if (this.resetting) return;
      const err = remote
        ? resetError(reason, message)
        : (o.closedError?.() ?? new PosternError('POSTERN_CHANNEL_CLOSED', message || 'the secure channel closed', 'the connection to the other node was lost'));
      this.destroy(this.mapped(err));
    };
  }

  private mapped(e: PosternError): Error {
    return this.o.mapError ? this.o.mapError(e) : e;
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
    this.bytesWritten += n;
    if (n === p.chunk.length) {
      this.pending = undefined;
      // The frames still refer to the caller's buffer until the channel seals them; calling back
      // before would let the caller reuse the buffer first.
      this.stream.afterWritten(() => p.cb());
    } else {
      p.chunk = p.chunk.subarray(n);
    }
  }

  private flushFinal(): void {
    const cb = this.pendingFinal;
    if (cb === undefined || this.pending !== undefined) return;
    this.pendingFinal = undefined;
    this.stream.end();
    cb();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.touch();
    const n = this.stream.write(chunk);
    this.bytesWritten += n;
    if (n === chunk.length) this.stream.afterWritten(() => cb());
    else this.pending = { chunk: chunk.subarray(n), cb };
  }

  override _final(cb: (e?: Error | null) => void): void {
    // A FIN before the outlet accepted would reach it before its target is connected: wait.
    this.pendingFinal = cb;
    if (this.stream.isAccepted || this.stream.closed) this.flushFinal();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    const closed = err ?? new PosternError('POSTERN_STREAM_CLOSED', 'stream closed');
    if (this.pending) {
      this.pending.cb(closed);
      this.pending = undefined;
    }
    if (this.pendingFinal) {
      this.pendingFinal(closed);
      this.pendingFinal = undefined;
    }
    if (!this.stream.closed) {
      this.resetting = true;
      this.stream.reset(RESET_REASON.CANCELLED, 'closed by the client');
    }
    cb(err);
  }

  private touch(): void {
    if (this.idleMs > 0) this.idleTimer?.refresh();
  }

  /** Like net.Socket: emit 'timeout' after `ms` without traffic (0 turns it off); the caller decides what to do. */
  setTimeout(ms: number, cb?: () => void): this {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.idleMs = ms;
    if (cb !== undefined) {
      if (ms > 0) this.once('timeout', cb);
      else this.removeListener('timeout', cb);
    }
    if (ms > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), ms);
      this.idleTimer.unref();
    }
    return this;
  }

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  // net.Socket no-ops that clients call: there is no TCP socket under a portal stream.
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}
