/**
 * Joins a TCP socket and a multiplexed stream, both ways, with backpressure:
 * the socket is paused while the stream has no send credit, and received
 * bytes are granted back to the peer only once the socket has flushed them.
 * So no process holds more than one stream window per direction.
 * Half-close travels both ways (socket end ⇄ FIN); a reset destroys the socket.
 */
import type { Socket } from 'node:net';
import { RESET_REASON, type MuxStream } from '../../protocol/mux/index.ts';

export interface PipeEvents {
  onReset?: (reason: number, message: string, remote: boolean) => void;
  onDone?: () => void;
}

export function pipeSocketStream(socket: Socket, stream: MuxStream, ev: PipeEvents = {}): void {
  let pending: Uint8Array | undefined;
  let socketEnded = false;
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    ev.onDone?.();
  };

  const flush = (): void => {
    while (pending !== undefined) {
      const n = stream.write(pending);
      if (n === pending.length) {
        pending = undefined;
        if (socketEnded) stream.end();
        else socket.resume();
        return;
      }
      pending = pending.subarray(n);
      if (n === 0) return;
    }
  };

  socket.on('data', (chunk: Buffer) => {
    const n = stream.write(chunk);
    if (n < chunk.length) {
      pending = chunk.subarray(n);
      socket.pause();
    }
  });
  socket.on('end', () => {
    socketEnded = true;
    if (pending === undefined) stream.end();
  });
  stream.onCredit = flush;

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
