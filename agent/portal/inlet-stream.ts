/**
 * An inlet's accepted connection as a new stream: the one way both inlets
 * (a node's `tcp-inlet` and the SDK's `openInlet`) start a connection's
 * stream, so a client's first bytes travel with the OPEN in either.
 */
import type { Socket } from 'node:net';
import type { MuxSession, MuxStream } from '../../protocol/mux/index.ts';
import { pipeSocketStream, type PipeEvents } from './pipe.ts';

/**
 * Opens a stream to `target` for `socket` (accepted paused), pipes the two
 * and resumes the socket. The OPEN waits for the connection's first bytes if
 * they are read by the next turn's I/O: a client that speaks first (HTTP,
 * Git, PostgreSQL) usually has its request leave with it, one message
 * through the hub instead of two (docs/PROTOCOL.md §11.4.3). Otherwise (a
 * server that speaks first, or a client slower than that) the OPEN leaves
 * by itself two event-loop turns later. Throws what `mux.open` throws (the
 * session is closing, or out of stream ids); the socket is then untouched.
 */
export function openInletStream(socket: Socket, mux: MuxSession, target: string, ev: PipeEvents = {}): MuxStream {
  const stream = mux.open(target, { defer: true });
  pipeSocketStream(socket, stream, ev);
  socket.resume();
  setImmediate(() => setImmediate(() => stream.announce()));
  return stream;
}
