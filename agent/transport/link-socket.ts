/**
 * Link sockets whose reads land in slabs (`SlabFrameReader`) through Node's
 * `onread` option: a link's frames arrive without a per-read allocation
 * (a plain socket allocates a fresh 64 KiB buffer for every read) and
 * without a copy of the frames that span reads.
 *
 * Node offers `onread` only on sockets it creates itself (`connect()`,
 * `new Socket()`), not on those a server accepts. An accepted socket is
 * therefore taken over: created paused (`pauseOnConnect`), its handle moves
 * to a new Socket that reads into slabs, and the accepted one is destroyed
 * without it (which tells its server the connection is no longer its own).
 * Where the running Node does not allow that, the accepted socket is used
 * as it is, resumed and read through 'data' events: slower, the same bytes.
 */
import { connect, Socket, type SocketConstructorOpts } from 'node:net';
import { MAX_RELAY_RECORD } from '../../protocol/channel/index.ts';
import { SlabFrameReader } from './slab-reader.ts';

/** A socket whose reads go into slabs; TcpLink takes over `deliver`. */
export interface SlabLinkSocket {
  socket: Socket;
  reader: SlabFrameReader;
  deliver: (n: number) => void;
}

/** A link socket's reader, not yet with its socket, and the `onread` option that feeds it. */
function slabReads(): { d: SlabLinkSocket; onread: NonNullable<SocketConstructorOpts['onread']> } {
  // Slabs sized for relay records; TcpLink keeps the limit at a handshake message's until it allows them.
  const reader = new SlabFrameReader(MAX_RELAY_RECORD);
  const d: SlabLinkSocket = { reader, deliver: () => {}, socket: undefined as unknown as Socket };
  const onread = {
    buffer: () => reader.nextBuffer(),
    callback: (n: number) => {
      d.deliver(n);
      return true;
    },
  };
  return { d, onread };
}

/** Dial a link socket that reads frames into slabs. */
export function dialLinkSocket(host: string, port: number): SlabLinkSocket {
  const { d, onread } = slabReads();
  d.socket = connect({ host, port, allowHalfOpen: false, onread });
  return d;
}

interface StreamHandle {
  useUserBuffer?: unknown;
  readStart?: unknown;
}

/**
 * Take over a socket a server accepted with `pauseOnConnect: true`, before
 * anything read from it: the same connection, read into slabs. When it
 * cannot be taken over (a Node without the means, or a socket already
 * reading), it is returned as it is, resumed if paused.
 */
export function adoptLinkSocket(accepted: Socket): SlabLinkSocket | Socket {
  const s = accepted as Socket & { _handle?: StreamHandle | null };
  const handle = s._handle;
  if (
    handle == null ||
    typeof handle.useUserBuffer !== 'function' ||
    typeof handle.readStart !== 'function' ||
    accepted.readableFlowing !== false ||
    accepted.bytesRead !== 0 ||
    accepted.destroyed
  ) {
    // Read through 'data' events, which a socket paused on connect would never emit.
    if (accepted.readableFlowing === false && !accepted.destroyed) accepted.resume();
    return accepted;
  }
  const { d, onread } = slabReads();
  s._handle = null;
  try {
    d.socket = new Socket({ handle, allowHalfOpen: accepted.allowHalfOpen, onread } as SocketConstructorOpts);
  } catch {
    // Half taken over is no use: close the connection rather than leave it open and unread.
    s._handle = handle;
    accepted.destroy();
    return accepted;
  }
  // Without its handle, the accepted socket only closes and tells its server so.
  accepted.destroy();
  return d;
}
