/**
 * An on-demand tcp-inlet: the same portal as `postern tcp-inlet create`
 * (a local listener; each accepted connection becomes a stream to the
 * outlet, piped with backpressure), but owned by the caller: not saved in
 * the node's resources, any number open at once, and `close()` tears the
 * listener and its connections down.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { PosternError } from '../../protocol/errors.ts';
import type { PosternNode } from '../../agent/node/node.ts';
import { formatHostPort, parseHostPort, type HostPort } from '../../agent/config/index.ts';
import { openInletStream } from '../../agent/portal/inlet-stream.ts';
import { portalChannel, type PortalTarget } from './channel.ts';
import { Deadline } from './deadline.ts';

export interface InletOptions extends PortalTarget {
  /** Where to listen: "host:port" or {host, port}; default 127.0.0.1 on a free port. */
  listen?: string | HostPort;
  /** Channel handshake per connection (default: the node's). */
  connectTimeoutMs?: number;
}

export interface PortalInlet {
  readonly address: HostPort;
  /** Stop listening and end the inlet's open connections. */
  close(): Promise<void>;
}

export async function openPortalInlet(node: PosternNode, o: InletOptions & { connectTimeoutMs: number }, log: (line: string) => void): Promise<PortalInlet> {
  const from = typeof o.listen === 'string' ? parseHostPort(o.listen, { allowZeroPort: true }) : (o.listen ?? { host: '127.0.0.1', port: 0 });
  const target: PortalTarget = { via: o.via, to: o.to, ...(o.allow !== undefined ? { allow: o.allow } : {}) };
  const sockets = new Set<Socket>();
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.setNoDelay(true);
    socket.on('error', () => {});
    portalChannel(node, target, new Deadline(o.connectTimeoutMs, `${o.via}/${o.to}`)).then(
      (ch) => {
        if (socket.destroyed) return;
        try {
          openInletStream(socket, ch.mux, o.to, {
            onReset: (_r, message, remote) => {
              if (remote) log(`inlet ${formatHostPort(address)}: ${o.via}/${o.to} refused: ${message}`);
            },
          });
        } catch (e) {
          log(`inlet ${formatHostPort(address)}: cannot open a stream: ${(e as Error).message}`);
          socket.destroy();
        }
      },
      (e: unknown) => {
        log(`inlet ${formatHostPort(address)}: ${o.via} unreachable: ${e instanceof Error ? e.message : String(e)}`);
        socket.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new PosternError('POSTERN_INLET_LISTEN', `cannot listen on ${formatHostPort(from)}: ${e.code ?? e.message}`, 'choose another address or port')),
    );
    server.listen(from.port, from.host, () => resolve());
  });
  const address: HostPort = { host: from.host, port: (server.address() as AddressInfo).port };
  log(`tcp-inlet ${formatHostPort(address)} → ${o.via}/${o.to}`);
  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}
