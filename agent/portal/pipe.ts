/**
 * Joins a TCP socket and a multiplexed stream, both ways, with backpressure:
 * the socket is paused while the stream has no send credit, and received
 * bytes are granted back to the peer only once the socket has flushed them.
 * So no process holds more than one stream window per direction.
 * Half-close travels both ways (socket end ⇄ FIN); a reset destroys the socket.
 */
import type { Socket } from 'node:net';
import { DEFAULT_MAX_FRAME_PAYLOAD, RESET_REASON, type MuxStream } from '../../protocol/mux/index.ts';
import { releaseAfterWrite } from '../transport/release.ts';
import { endOfTurn } from '../transport/end-of-turn.ts';

const FRAME = DEFAULT_MAX_FRAME_PAYLOAD;
/** Node reads a socket 64 KiB at a time: a full read suggests more is already waiting. */
const FULL_READ = 65536;

export interface PipeEvents {
  onReset?: (reason: number, message: string, remote: boolean) => void;
  onDone?: () => void;
}

export function pipeSocketStream(socket: Socket, stream: MuxStream, ev: PipeEvents = {}): void {
  /**
   * Bytes read and not yet sent, as the socket's own buffers (views, never
   * copied): whole frames leave at once, a tail shorter than a frame waits
   * for the next read or the end of this I/O turn, and whatever the window
   * does not take waits (socket paused) until credit returns.
   */
  const queue: Uint8Array[] = [];
  /** The whole read behind queue[0] once its front was sent (only the front entry is ever a view): what to free. */
  let frontRead: Uint8Array | undefined;
  /** Reads fully handed to the stream, to free once the channel has sealed them. */
  let sent: Uint8Array[] = [];
  let queued = 0;
  let waitingForCredit = false;
  let tailScheduled = false;
  let socketEnded = false;
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    ev.onDone?.();
  };

  /** The first `n` queued bytes, as views. */
  const head = (n: number): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; n > 0; i++) {
      const q = queue[i]!;
      out.push(q.length <= n ? q : q.subarray(0, n));
      n -= Math.min(q.length, n);
    }
    return out;
  };

  const drop = (n: number): void => {
    queued -= n;
    while (n > 0) {
      const q = queue[0]!;
      if (q.length <= n) {
        // The whole read, not the view of its tail: a read split across frames is freed too.
        queue.shift();
        sent.push(frontRead ?? q);
        frontRead = undefined;
        n -= q.length;
      } else {
        frontRead ??= q;
        queue[0] = q.subarray(n);
        n = 0;
      }
    }
  };

  /** Send whole frames, or everything with `all`; false when the window ran out (socket paused). */
  const send = (all: boolean): boolean => {
    const n = all ? queued : queued - (queued % FRAME);
    if (n === 0) return true;
    const taken = stream.write(head(n));
    drop(taken);
    if (sent.length > 0) {
      // Each read is a buffer of its own that only this queue refers to: free it once sealed, not at the next GC.
      const free = sent;
      sent = [];
      stream.afterWritten(() => releaseAfterWrite(free));
    }
    if (taken === n) return true;
    waitingForCredit = true;
    socket.pause();
    return false;
  };

  const sendTail = (): void => {
    tailScheduled = false;
    if (waitingForCredit || !send(true)) return;
    if (socketEnded) stream.end();
  };

  const onCredit = (): void => {
    if (!waitingForCredit) return;
    waitingForCredit = false;
    if (!send(true)) return;
    if (socketEnded) stream.end();
    else socket.resume();
  };

  socket.on('data', (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (waitingForCredit || !send(false) || queued === 0) return;
    // A short read means the sender paused: send the tail now rather than wait for more.
    if (chunk.length < FULL_READ) sendTail();
    else if (!tailScheduled) {
      tailScheduled = true;
      // In the end-of-turn pass, before the channel's flush it feeds: the tail leaves with the rest.
      endOfTurn.defer(sendTail);
    }
  });
  socket.on('end', () => {
    socketEnded = true;
    if (!waitingForCredit && !tailScheduled && queued === 0) stream.end();
  });
  stream.onCredit = onCredit;
  stream.onAccepted = onCredit;

  stream.onData = (chunk, sole) => {
    const len = chunk.length;
    // The chunk is a view of a buffer decrypted for this message only: keep it, and free it once written.
    socket.write(chunk, () => {
      stream.consumed(len);
      if (sole) releaseAfterWrite([new Uint8Array(chunk.buffer)]);
    });
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
