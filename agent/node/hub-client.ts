/**
 * The node's outbound link to the hub: dials (never listens), authenticates
 * the hub against the identity pinned at enrollment, answers nothing it did
 * not ask for except routed messages for its own addresses, and reconnects
 * with capped, jittered exponential backoff.
 */
import { PosternError } from '../../protocol/errors.ts';
import type { PeerInfo } from '../../protocol/channel/index.ts';
import { decodeRouted, encodeRouteHeader, isChannelAddress, type RoutedMessage } from '../../protocol/routing/index.ts';
import { fromUtf8, utf8 } from '../../protocol/bytes.ts';
import { TcpLink, releaseAfterWrite } from '../transport/tcp-link.ts';
import { dialLinkSocket } from '../transport/link-socket.ts';
import type { NodeIdentity } from './identity.ts';

export interface HubInfo {
  project: string;
  routes: string[];
  hubIdentifier: string;
  authorityPublicKey: Uint8Array;
}

export interface HubClientOptions {
  hub: HubInfo;
  identity: NodeIdentity;
  credentials: () => Uint8Array[];
  /**
   * A routed message for this node. `transport`: its payload is an
   * end-to-end transport message that no link authenticated (only an
   * established channel may take it).
   */
  onRouted: (msg: RoutedMessage, transport: boolean) => void;
  onConnected?: () => void | Promise<void>;
  onDisconnected?: (error?: PosternError) => void;
  log?: (line: string) => void;
  backoff?: { initialMs: number; maxMs: number };
  keepaliveMs?: number;
  rpcTimeoutMs?: number;
}

export const RPC_ADDRESS = 'rpc';
const MAX_RPC_RESPONSE = 64 * 1024;

export function parseTcpRoute(route: string): { host: string; port: number } {
  const m = /^tcp:(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(route);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new PosternError('POSTERN_ROUTE_INVALID', `invalid hub route ${JSON.stringify(route)}`, 'routes look like tcp:HOST:PORT');
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: PosternError) => void;
  timer: NodeJS.Timeout;
}

export class HubClient {
  private readonly o: HubClientOptions;
  private link: TcpLink | undefined;
  private stopped = false;
  private attempt = 0;
  private routeIndex = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private waiters: { resolve: () => void; reject: (e: PosternError) => void }[] = [];
  lastError: PosternError | undefined;
  connectedSince: number | undefined;

  constructor(o: HubClientOptions) {
    this.o = o;
  }

  get connected(): boolean {
    return this.link?.established === true;
  }

  /** The hub link's writable backlog, for backpressure. */
  get writableLength(): number {
    return this.link?.writableLength ?? 0;
  }

  onceDrained(fn: () => void): void {
    const s = this.link?.socket;
    if (s === undefined || s.writableLength === 0) fn();
    else s.once('drain', fn);
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  /** Resolves once connected; rejects with the first failure if `failFast`. */
  waitConnected(failFast: boolean): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject: failFast ? reject : () => {} });
    });
  }

  private dial(): void {
    if (this.stopped) return;
    const route = this.o.hub.routes[this.routeIndex % this.o.hub.routes.length]!;
    let target: { host: string; port: number };
    try {
      target = parseTcpRoute(route);
    } catch (e) {
      this.failed(e as PosternError);
      return;
    }
    const socket = dialLinkSocket(target.host, target.port);
    const now = () => Math.floor(Date.now() / 1000);
    this.link = new TcpLink({
      socket,
      initiator: true,
      local: this.o.identity.local(this.o.credentials()),
      trust: {
        authorities: [this.o.hub.authorityPublicKey],
        project: this.o.hub.project,
        requireCredential: false,
        expectedPeer: this.o.hub.hubIdentifier,
        now,
      },
      idleTimeoutMs: (this.o.keepaliveMs ?? 10_000) * 3,
      onEstablished: (_l: TcpLink, _p: PeerInfo) => this.established(),
      onMessage: (m, relayed, _frame, transport) => this.receive(m, relayed, transport === true),
      onClose: (err) => this.closed(err),
    });
  }

  private established(): void {
    this.attempt = 0;
    this.connectedSince = Date.now();
    this.lastError = undefined;
    const ms = this.o.keepaliveMs ?? 10_000;
    this.keepaliveTimer = setInterval(() => {
      this.request('hub', { op: 'ping' }).catch(() => {});
    }, ms);
    this.keepaliveTimer.unref();
    const waiters = this.waiters;
    this.waiters = [];
    Promise.resolve(this.o.onConnected?.())
      .catch((e: unknown) => this.o.log?.(`after connect: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        for (const w of waiters) w.resolve();
      });
  }

  private failed(err: PosternError): void {
    this.lastError = err;
    const waiters = this.waiters;
    this.waiters = waiters.filter((w) => {
      w.reject(err);
      return false;
    });
  }

  private closed(err?: PosternError): void {
    const wasConnected = this.connectedSince !== undefined;
    this.link = undefined;
    this.connectedSince = undefined;
    clearInterval(this.keepaliveTimer);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new PosternError('POSTERN_HUB_DISCONNECTED', 'the link to the hub closed before the answer'));
      this.pending.delete(id);
    }
    if (err !== undefined) {
      this.lastError = err;
      if (!wasConnected) this.failed(err);
    }
    if (wasConnected) this.o.onDisconnected?.(err);
    if (this.stopped) return;
    this.routeIndex++;
    const { initialMs, maxMs } = this.o.backoff ?? { initialMs: 200, maxMs: 10_000 };
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.attempt, 16));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.attempt++;
    // The hint too: for a failed handshake it names the likely cause (e.g. another protocol version).
    const why = err === undefined ? 'closed' : err.hint === undefined ? err.message : `${err.message}; ${err.hint}`;
    this.o.log?.(`hub link down (${why}); reconnecting in ${delay} ms`);
    this.reconnectTimer = setTimeout(() => this.dial(), delay);
    this.reconnectTimer.unref();
  }

  private receive(plaintext: Uint8Array, relayed?: Uint8Array, transport = false): void {
    let msg: RoutedMessage;
    try {
      msg = decodeRouted(plaintext);
      if (relayed !== undefined) {
        // Relay messages carry end-to-end channel traffic only, never hub answers.
        const to = msg.onward[0] ?? '';
        if (msg.payload.length !== 0 || !isChannelAddress(to)) {
          throw new PosternError('POSTERN_MESSAGE_UNEXPECTED', `relay message for ${to}`);
        }
        msg.payload = relayed;
      }
    } catch (e) {
      this.link?.close(e as PosternError);
      return;
    }
    if (msg.onward.length === 1 && msg.onward[0] === RPC_ADDRESS) {
      // The hub's own answers have no return route; anything forwarded carries the sender's link.
      if (msg.ret.length === 0) this.rpcResponse(msg.payload);
      return;
    }
    this.o.onRouted(msg, transport);
  }

  private rpcResponse(payload: Uint8Array): void {
    if (payload.length > MAX_RPC_RESPONSE) return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(fromUtf8(payload)) as Record<string, unknown>;
    } catch {
      return;
    }
    const id = body['id'];
    if (typeof id !== 'number') return;
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (body['ok'] === true) p.resolve(body);
    else p.reject(new PosternError(String(body['code'] ?? 'POSTERN_HUB_ERROR'), String(body['message'] ?? 'the hub refused the request'), typeof body['hint'] === 'string' ? body['hint'] : undefined));
  }

  /**
   * Send a routed message through the hub. `sealed`: the link encrypts it
   * whole (requests to the hub). `relay` and `transport`: the parts are
   * end-to-end ciphertext, so the link seals only the route header and sends
   * them as they are; they must be freshly sealed buffers nothing else refers
   * to, as they are freed once written. `transport`: they are one end-to-end
   * transport message, which the link does not authenticate again; anything
   * else (a handshake message above all) is `relay`.
   */
  sendRouted(onward: string[], ret: string[], parts: Uint8Array[], kind: 'sealed' | 'relay' | 'transport' = 'sealed'): void {
    this.sendWithHeader(encodeRouteHeader(onward, ret), parts, kind);
  }

  /** `sendRouted` with the route header already encoded (`encodeRouteHeader`), as a channel keeps it. */
  sendWithHeader(header: Uint8Array, parts: Uint8Array[], kind: 'sealed' | 'relay' | 'transport'): void {
    const link = this.link;
    if (link === undefined || !link.established) {
      throw new PosternError('POSTERN_HUB_DISCONNECTED', 'not connected to the hub', 'the node reconnects by itself; try again shortly');
    }
    if (kind === 'sealed') link.send([header, ...parts]);
    else link.sendRelay(header, parts, () => releaseAfterWrite(parts), kind === 'transport');
  }

  /** One request/response exchange with a hub service address. */
  request(address: string, body: Record<string, unknown>, timeoutMs = this.o.rpcTimeoutMs ?? 10_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PosternError('POSTERN_HUB_TIMEOUT', `the hub did not answer ${String(body['op'])} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      try {
        this.sendRouted([address], [RPC_ADDRESS], [utf8(JSON.stringify({ ...body, id }))]);
      } catch (e) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(e);
      }
    });
  }

  /** Reconnect now (e.g. to present a new credential in a fresh handshake). */
  reconnect(): void {
    this.link?.close(new PosternError('POSTERN_LINK_RENEW', 'renewing the link'));
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.keepaliveTimer);
    this.link?.close(new PosternError('POSTERN_NODE_STOPPED', 'node stopped'));
  }
}
