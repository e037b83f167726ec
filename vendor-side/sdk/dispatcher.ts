/**
 * An undici dispatcher whose connections are portal streams opened in
 * process: an `undici.Agent` with a custom `connect`, so keep-alive pooling,
 * pipelining, headers/body timeouts, aborts and streaming bodies are
 * undici's own. The URL's host only fills the Host header (and TLS server
 * name for https:); where the bytes go is `via`/`to`.
 */
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Agent } from 'undici';
import type { PosternNode } from '../../agent/node/node.ts';
import type { PortalTarget } from './channel.ts';
import { openPortalStream } from './connect.ts';

export interface DispatcherOptions extends PortalTarget {
  /** Channel handshake plus outlet accept, per new connection (default: the node's). */
  connectTimeoutMs?: number;
  /** undici Agent options (keepAliveTimeout, connections, headersTimeout, bodyTimeout, pipelining…). */
  agent?: Omit<Agent.Options, 'connect'>;
  /** For https: URLs, TLS to the customer's service runs inside the portal stream with these options. */
  tls?: ConnectionOptions;
}

export function portalDispatcher(node: PosternNode, o: DispatcherOptions & { connectTimeoutMs: number }): Agent {
  const target: PortalTarget = { via: o.via, to: o.to, ...(o.allow !== undefined ? { allow: o.allow } : {}) };
  return new Agent({
    ...o.agent,
    connect: (opts, cb) => {
      openPortalStream(node, { ...target, timeoutMs: o.connectTimeoutMs }).then(
        (duplex) => {
          if (opts.protocol !== 'https:') {
            cb(null, duplex as unknown as Socket);
            return;
          }
          const servername = opts.servername || (isIP(opts.hostname) ? undefined : opts.hostname);
          const tls = tlsConnect({ ALPNProtocols: ['http/1.1'], ...o.tls, socket: duplex, ...(servername ? { servername } : {}) });
          const onError = (e: Error) => {
            tls.off('secureConnect', onSecure);
            duplex.destroy();
            cb(e, null);
          };
          const onSecure = () => {
            tls.off('error', onError);
            cb(null, tls);
          };
          tls.once('secureConnect', onSecure).once('error', onError);
        },
        (e: Error) => cb(e, null),
      );
    },
  });
}
