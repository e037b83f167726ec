/**
 * Joins a TCP socket and a multiplexed stream, both ways, with backpressure:
 * the socket is paused while the stream has no send credit, and received
 * bytes are granted back to the peer only once the socket has flushed them.
 * So no process holds more than one stream window per direction.
 * Half-close travels both ways (socket end ⇄ FIN); a reset destroys the socket.
 */
import type { Socket } from 'node:net';
import { DEFAULT_MAX_FRAME_PAYLOAD, RESET_REASON, type MuxStream } from '../../protocol/mux/index.ts';

const FRAME = DEFAULT_MAX_FRAME_PAYLOAD;
/** Node reads a socket 64 KiB at a time: a full read suggests more is already waiting. */
const FULL_READ = 65536;

export interface PipeEvents {
  onReset?: (reason: number, message: string, remote: boolean) => void;
  onDone?: () => void;
}

export function pipeSocketStream(socket: Socket, stream: MuxStream, ev: PipeEvents = {}): void {
  /** Bytes the window did not take yet: the socket stays paused until credit returns. */
  let pending: Uint8Array | undefined;
  /** A tail shorter than one frame, held until the next read or the end of this I/O turn. */
  let carry: Buffer | undefined;
  let carryScheduled = false;
  let socketEnded = false;
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    ev.onDone?.();
  };

  /** Send what the window takes; keep the rest pending and pause the socket. */
  const send = (b: Uint8Array): boolean => {
    const n = stream.write(b);
    if (n === b.length) return true;
    pending = b.subarray(n);
    socket.pause();
    return false;
  };

  const flushCarry = (): void => {
    carryScheduled = false;
    if (carry === undefined || pending !== undefined) return;
    const c = carry;
    carry = undefined;
    if (send(c) && socketEnded) stream.end();
  };

  const flush = (): void => {
    if (pending === undefined) return;
    const p = pending;
    pending = undefined;
    if (!send(p)) return;
    if (carry !== undefined) return flushCarry();
    if (socketEnded) stream.end();
    else socket.resume();
  };

  socket.on('data', (chunk: Buffer) => {
    if (pending !== undefined) {
      pending = Buffer.concat([pending, chunk]);
      return;
    }
    // A socket read is 64 KiB, a frame carries at most FRAME bytes: send whole frames now and
    // carry the short tail into the next read, so one read does not cost two messages.
    let buf: Buffer = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    carry = undefined;
    const whole = buf.length - (buf.length % FRAME);
    if (whole > 0) {
      if (!send(buf.subarray(0, whole))) {
        if (whole < buf.length) pending = Buffer.concat([pending!, buf.subarray(whole)]);
        return;
      }
      buf = buf.subarray(whole);
    }
    if (buf.length > 0) {
      // A short read means the sender paused: send now rather than wait for more.
      if (chunk.length < FULL_READ) {
        send(buf);
        return;
      }
      carry = buf;
      if (!carryScheduled) {
        carryScheduled = true;
        setImmediate(flushCarry);
      }
    }
  });
  socket.on('end', () => {
    socketEnded = true;
    if (pending === undefined && carry === undefined) stream.end();
  });
  stream.onCredit = flush;
  stream.onAccepted = flush;

  stream.onData = (chunk) => {
    const len = chunk.length;
    // The chunk is a view of a buffer decrypted for this message only: keep it.
    socket.write(chunk, () => stream.consumed(len));
  };
  stream.onEnd = () => {
    if (!socket.destroyed) socket.end();
  };
  stream.onReset = (reason, message, remote) => {
    ev.onReset?.(reason, message, remote);
    socket.destroy();
    finish();
  };
  stream.onClose = () => {
    if (!socket.destroyed && socket.writableEnded && socketEnded) socket.destroy();
    finish();
  };
  socket.on('error', () => {
    /* reported through close */
  });
  socket.on('close', () => {
    if (!finished) stream.reset(RESET_REASON.CANCELLED, 'connection closed');
    finish();
  });
}
