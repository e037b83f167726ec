/**
 * The hub: secure-channel listener, membership authority and relay service.
 * It terminates only the node↔hub link channels; what it forwards between
 * nodes is end-to-end Noise ciphertext it has no key for.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { PosternError } from '../../protocol/errors.ts';
import { fromUtf8, utf8 } from '../../protocol/bytes.ts';
import { advanceRouteHeader, CHANNEL_PREFIX, decodeRouted, encodeRouteHeader, isChannelAddress, LINK_PREFIX, RELAY_NAME_PREFIX, type RoutedMessage } from '../../protocol/routing/index.ts';
import type { PeerInfo, TrustOptions } from '../../protocol/channel/index.ts';
import { AttestationCache } from '../../protocol/identity/index.ts';
import { TcpLink } from '../../agent/transport/tcp-link.ts';
import { adoptLinkSocket } from '../../agent/transport/link-socket.ts';
import { retainPayload, type FrameHold } from '../../agent/transport/frame-hold.ts';
import { FileVault } from '../../agent/node/file-vault.ts';
import { loadOrCreateIdentity, type NodeIdentity } from '../../agent/node/identity.ts';
import type { HostPort } from '../../agent/config/index.ts';
import { formatHostPort } from '../../agent/config/index.ts';
import { openSqliteStore, type HubStore } from './store/index.ts';
import { Authority } from './authority/index.ts';
import { DEFAULT_HUB_LIMITS, type HubLimits } from './limits.ts';
import { hubPaths, readHubFile } from './project.ts';

export const PEER_GONE_ADDRESS = 'peer-gone';

const RELAY_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const MAX_REQUEST = 64 * 1024;

interface LinkState {
  id: string;
  link: TcpLink;
  ip: string;
  identifier: string | undefined;
  member: boolean;
  relays: Set<string>;
  /** Links this one may send `link:ID` messages to (set up through a relay). */
  peers: Set<string>;
  enrollAttempts: number;
  /**
   * Set while this link is paused for a full destination (backpressure): stops waiting for the
   * destination without resuming, as when this link closes first.
   */
  unpause?: () => void;
}

export interface HubOptions {
  dir: string;
  listen?: HostPort;
  log?: (line: string) => void;
  limits?: Partial<HubLimits>;
}

export class Hub {
  readonly dir: string;
  readonly project: string;
  readonly identity: NodeIdentity;
  readonly authority: Authority;
  readonly store: HubStore;
  readonly limits: HubLimits;
  private readonly log: (line: string) => void;
  private server: Server | undefined;
  private readonly links = new Map<string, LinkState>();
  private readonly relays = new Map<string, { linkId: string; since: number }>();
  private readonly unauthByIp = new Map<string, number>();
  private unauthTotal = 0;
  /**
   * What every link trusts, the same for all. Membership comes from the store (established()), so
   * presented credentials are not even verified; nodes reconnect with the attestation they signed
   * at start, whose signature is checked once (AttestationCache).
   */
  private readonly linkTrust: TrustOptions;
  address: HostPort | undefined;

  constructor(o: HubOptions) {
    const p = hubPaths(o.dir);
    const file = readHubFile(o.dir);
    this.dir = o.dir;
    this.project = file.project;
    this.log = o.log ?? (() => {});
    this.limits = { ...DEFAULT_HUB_LIMITS, ...o.limits };
    const vault = FileVault.open(p.vault);
    this.identity = loadOrCreateIdentity(vault);
    this.store = openSqliteStore(p.db);
    const listen = o.listen ?? parseListen(file.listen);
    this.authority = new Authority({
      store: this.store,
      vault,
      project: file.project,
      hubPublicKey: this.identity.publicKey,
      routes: [`tcp:${file.publicAddress ?? file.listen}`],
      credentialTtl: this.limits.credentialTtl,
      now: () => Math.floor(Date.now() / 1000),
    });
    this.linkTrust = {
      authorities: [this.authority.publicKey],
      project: this.project,
      requireCredential: false,
      ignoreCredentials: true,
      attestations: new AttestationCache(),
      now: () => Math.floor(Date.now() / 1000),
    };
    this.address = listen;
  }

  async start(): Promise<HostPort> {
    const listen = this.address!;
    // Paused on connect, so that a link can take the socket over to read it into slabs (link-socket.ts).
    const server = createServer({ allowHalfOpen: false, pauseOnConnect: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new PosternError('POSTERN_HUB_LISTEN', `cannot listen on ${formatHostPort(listen)}: ${e.code ?? e.message}`)),
      );
      server.listen(listen.port, listen.host, () => resolve());
    });
    this.server = server;
    const a = server.address() as AddressInfo;
    this.address = { host: listen.host, port: a.port };
    this.log(`hub ${this.identity.identifier} for project ${this.project} listening on ${formatHostPort(this.address)}`);
    return this.address;
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    const perIp = this.unauthByIp.get(ip) ?? 0;
    if (perIp >= this.limits.maxUnauthenticatedPerIp || this.unauthTotal >= this.limits.maxUnauthenticatedTotal) {
      this.log(`connection from ${ip} refused: too many unauthenticated connections`);
      socket.destroy();
      return;
    }
    this.unauthByIp.set(ip, perIp + 1);
    this.unauthTotal++;
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      this.unauthTotal--;
      const n = (this.unauthByIp.get(ip) ?? 1) - 1;
      if (n <= 0) this.unauthByIp.delete(ip);
      else this.unauthByIp.set(ip, n);
    };
    const id = `${LINK_PREFIX}${randomBytes(8).toString('hex')}`;
    const st: LinkState = {
      id,
      ip,
      identifier: undefined,
      member: false,
      relays: new Set(),
      peers: new Set(),
      enrollAttempts: 0,
      link: new TcpLink({
        socket: adoptLinkSocket(socket),
        initiator: false,
        local: this.identity.local([]),
        trust: this.linkTrust,
        handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
        idleTimeoutMs: this.limits.idleTimeoutMs,
        // Only members relay: anyone else keeps the handshake's frame limit (see established()).
        relayRecords: 'when-allowed',
        onEstablished: (_l, peer) => {
          uncount();
          this.established(st, peer);
        },
        onMessage: (m, relayed, frame, transport) => this.message(st, m, relayed, frame, transport === true),
        onClose: (err) => {
          uncount();
          this.closed(st, err);
        },
      }),
    };
    this.links.set(id, st);
  }

  private established(st: LinkState, peer: PeerInfo): void {
    st.identifier = peer.identifier;
    // The hub is the authority: membership comes from its store; the link ignored any credential shown.
    const m = this.store.getMember(peer.identifier);
    if (m !== undefined && m.revokedAt !== null) {
      this.log(`channel from ${peer.identifier} refused: membership revoked`);
      st.link.close(new PosternError('POSTERN_MEMBER_REVOKED', 'membership revoked'));
      return;
    }
    st.member = m !== undefined;
    if (st.member) st.link.allowRelayRecords();
    this.log(`link ${st.id} from ${peer.identifier} at ${st.ip} established (${st.member ? 'member' : 'not yet enrolled'})`);
  }

  private closed(st: LinkState, err?: PosternError): void {
    this.links.delete(st.id);
    st.unpause?.();
    for (const name of st.relays) {
      if (this.relays.get(name)?.linkId === st.id) {
        this.relays.delete(name);
        this.log(`relay ${name} offline`);
      }
    }
    for (const other of st.peers) {
      const o = this.links.get(other);
      if (o === undefined) continue;
      o.peers.delete(st.id);
      // Channels through this link are dead: say so at once rather than let them time out.
      try {
        o.link.send([encodeRouteHeader([PEER_GONE_ADDRESS], [st.id]), new Uint8Array(0)]);
      } catch {
        /* closing too */
      }
    }
    if (st.identifier === undefined && err !== undefined) {
      this.log(`channel from ${st.ip} refused: ${err.message}`);
    } else if (st.identifier !== undefined) {
      this.log(`link ${st.id} from ${st.identifier} closed${err ? `: ${err.message}` : ''}`);
    }
  }

  private message(st: LinkState, plaintext: Uint8Array, relayed?: Uint8Array, frame?: FrameHold, transport = false): void {
    let m: RoutedMessage;
    let route: Uint8Array;
    try {
      m = decodeRouted(plaintext);
      // The route part as it came: what is forwarded gets it one hop on, without encoding it again.
      route = plaintext.subarray(0, plaintext.length - m.payload.length);
      const hop = m.onward[0] ?? '';
      const forwarded = hop.startsWith(RELAY_NAME_PREFIX) || hop.startsWith(LINK_PREFIX);
      if (relayed !== undefined) {
        // Relay messages only carry end-to-end traffic to forward, never requests to the hub.
        if (m.payload.length !== 0 || !forwarded) throw new PosternError('POSTERN_MESSAGE_UNEXPECTED', `relay message for ${hop}`);
        m.payload = relayed;
      }
      // What is forwarded goes from one node's channel to another's listener or channel, nothing
      // else: never to a node's other addresses (answers from the hub, notices), which it must be
      // able to take as the hub's own word; and with the sender's channel as the only return
      // address, so that no answer the receiver sends back can be aimed anywhere else (a reply
      // refused here would close the receiver's link, not the sender's).
      if (forwarded && !(m.onward.length === 2 && isChannelAddress(m.onward[1]!))) {
        throw new PosternError('POSTERN_ROUTE_INVALID', `forwarding to ${m.onward.slice(1).join(' → ') || 'nothing'} refused: only a node's listener or channels`);
      }
      if (forwarded && !(m.ret.length === 1 && m.ret[0]!.startsWith(CHANNEL_PREFIX))) {
        throw new PosternError('POSTERN_ROUTE_INVALID', `forwarding with return route ${m.ret.join(' → ') || '(none)'} refused: only the sender's channel`);
      }
    } catch (e) {
      this.log(`link ${st.id}: ${(e as Error).message}; closing`);
      st.link.close(e as PosternError);
      return;
    }
    const to = m.onward[0];
    if (to === undefined) return;
    if (to === 'authority' || to === 'relays' || to === 'hub') {
      this.service(st, to, m);
      return;
    }
    if (!st.member) return; // closed by default: only members reach other nodes
    if (to.startsWith(RELAY_NAME_PREFIX)) {
      const name = to.slice(RELAY_NAME_PREFIX.length);
      const r = this.relays.get(name);
      const dest = r === undefined ? undefined : this.links.get(r.linkId);
      if (dest === undefined) {
        this.reply(st, m.ret, { code: 'POSTERN_RELAY_OFFLINE', message: `relay ${name} is offline`, hint: 'the customer agent is not connected' }, true);
        return;
      }
      st.peers.add(dest.id);
      dest.peers.add(st.id);
      this.forward(st, dest, route, m.payload, relayed !== undefined, frame, transport);
      return;
    }
    if (to.startsWith(LINK_PREFIX)) {
      const dest = this.links.get(to);
      if (dest === undefined || !st.peers.has(to)) {
        this.reply(st, m.ret, { code: 'POSTERN_PEER_GONE', message: 'the other node is no longer connected' }, true);
        return;
      }
      this.forward(st, dest, route, m.payload, relayed !== undefined, frame, transport);
    }
  }

  /**
   * Send on a message with its `route` header (as it came, checked in message(): to a listener or a
   * channel, answered to the sender's channel) one hop on: answered through the sender's link.
   */
  private forward(src: LinkState, dest: LinkState, route: Uint8Array, payload: Uint8Array, relay: boolean, frame?: FrameHold, transport = false): void {
    const header = advanceRouteHeader(route, src.id);
    // End-to-end ciphertext is forwarded as it came: only the new route header is sealed. A relay
    // message waits for the end of this turn, so its payload is kept: a hold on the frame it sits
    // in (freed once every message of it is written) or, when it is a small part of it, a copy. An
    // end-to-end transport message goes on as one: unauthenticated by our links, as it came.
    const kept = relay ? retainPayload(payload, frame) : { payload, done: undefined };
    try {
      if (relay) dest.link.sendRelay(header, [kept.payload], kept.done, transport);
      else dest.link.send([header, payload]);
    } catch {
      kept.done?.();
      return;
    }
    // Backpressure: a slow destination pauses the sender instead of growing our memory.
    if (src.unpause === undefined && dest.link.writableLength > this.limits.forwardHighWaterBytes) {
      src.link.socket.pause();
      const d = dest.link.socket;
      // Whichever comes first resumes the sender and removes both: a link that fills and drains all
      // day must not collect a listener per pause. A sender that closes while paused removes them
      // too (closed()), so that they do not keep its state alive until the destination drains.
      const unpause = () => {
        d.off('drain', resume);
        d.off('close', resume);
        src.unpause = undefined;
      };
      const resume = () => {
        unpause();
        src.link.socket.resume();
      };
      src.unpause = unpause;
      d.on('drain', resume);
      d.on('close', resume);
    }
  }

  private reply(st: LinkState, ret: string[], body: Record<string, unknown>, asError = false): void {
    if (ret.length === 0 || st.link.closed) return;
    // Error answers to relayed traffic (one per message of a record) stop while the sender does not
    // read them, rather than growing our memory; answers to its requests always go.
    if (asError && st.link.writableLength > this.limits.forwardHighWaterBytes) return;
    try {
      st.link.send([encodeRouteHeader(ret, asError ? ['hub-error'] : []), utf8(JSON.stringify(body))]);
    } catch {
      /* link closing */
    }
  }

  private service(st: LinkState, to: string, m: RoutedMessage): void {
    let req: Record<string, unknown>;
    try {
      if (m.payload.length > MAX_REQUEST) throw new Error('request too large');
      const v = JSON.parse(fromUtf8(m.payload)) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      req = v as Record<string, unknown>;
    } catch {
      this.reply(st, m.ret, { ok: false, code: 'POSTERN_BAD_REQUEST', message: 'malformed request' });
      return;
    }
    const id = typeof req['id'] === 'number' ? req['id'] : null;
    const answer = (body: Record<string, unknown>) => this.reply(st, m.ret, { ...body, id });
    const op = req['op'];
    if (to === 'hub') {
      answer(op === 'ping' ? { ok: true } : { ok: false, code: 'POSTERN_BAD_REQUEST', message: 'unknown op' });
      return;
    }
    const caller = { identifier: st.identifier! };
    if (to === 'authority') {
      if (op === 'enroll') {
        if (++st.enrollAttempts > this.limits.maxEnrollAttemptsPerLink) {
          this.log(`link ${st.id} from ${st.ip}: too many enrollment attempts; closing`);
          answer({ ok: false, code: 'POSTERN_TOO_MANY_ATTEMPTS', message: 'too many enrollment attempts' });
          st.link.close(new PosternError('POSTERN_TOO_MANY_ATTEMPTS', 'too many enrollment attempts'));
          return;
        }
      } else if (!this.activeMember(st)) {
        answer({ ok: false, code: 'POSTERN_NOT_A_MEMBER', message: 'enroll first', hint: 'this identity is not a member of the project' });
        return;
      }
      const res = this.authority.handle(caller, req);
      if (res['ok'] === true && op === 'enroll') {
        st.member = true;
        st.link.allowRelayRecords();
        const mem = this.store.getMember(caller.identifier);
        this.log(`node ${caller.identifier} enrolled (role ${mem?.role ?? '?'}${mem?.relay ? `, relay ${mem.relay}` : ''})`);
      } else if (res['ok'] !== true && op === 'enroll') {
        this.log(`enrollment by ${caller.identifier} from ${st.ip} refused: ${String(res['code'])}`);
      } else if (res['ok'] === true && op === 'revoke') {
        this.revoked((res['revoked'] as string[] | undefined) ?? []);
      } else if (res['ok'] === true && op === 'create-ticket') {
        this.log(`ticket minted by ${caller.identifier}`);
      }
      answer(res);
      return;
    }
    // relays
    if (!this.activeMember(st)) {
      answer({ ok: false, code: 'POSTERN_NOT_A_MEMBER', message: 'enroll first' });
      return;
    }
    if (op === 'create-relay') answer(this.createRelay(st, req['name']));
    else if (op === 'list-relays') answer(this.listRelays(st));
    else answer({ ok: false, code: 'POSTERN_BAD_REQUEST', message: 'unknown op' });
  }

  private activeMember(st: LinkState): boolean {
    if (!st.member || st.identifier === undefined) return false;
    const m = this.store.getMember(st.identifier);
    return m !== undefined && m.revokedAt === null;
  }

  private createRelay(st: LinkState, nameArg: unknown): Record<string, unknown> {
    const who = st.identifier!;
    if (typeof nameArg !== 'string' || !RELAY_NAME_RE.test(nameArg)) {
      return { ok: false, code: 'POSTERN_BAD_NAME', message: 'invalid relay name' };
    }
    const member = this.store.getMember(who)!;
    if (member.relay !== nameArg) {
      this.log(`relay ${nameArg} refused for ${who}: its membership allows ${member.relay ?? 'no relay'}`);
      return {
        ok: false,
        code: 'POSTERN_RELAY_FORBIDDEN',
        message: `this node may not create relay ${nameArg}`,
        hint: member.relay ? `its ticket allows relay ${member.relay}` : 'its ticket allows no relay; mint one with --relay NAME',
      };
    }
    if (this.store.countRelaysOwnedBy(who) >= this.limits.maxRelaysPerIdentity && this.store.getRelay(nameArg)?.owner !== who) {
      return { ok: false, code: 'POSTERN_TOO_MANY_RELAYS', message: 'relay limit reached for this identity' };
    }
    const now = Math.floor(Date.now() / 1000);
    const claim = this.store.claimRelay(nameArg, who, now);
    if (!claim.ok) {
      this.log(`relay ${nameArg} refused for ${who}: held by ${claim.owner}`);
      return { ok: false, code: 'POSTERN_RELAY_TAKEN', message: `relay ${nameArg} belongs to another identity` };
    }
    const prev = this.relays.get(nameArg);
    if (prev !== undefined && prev.linkId !== st.id) this.links.get(prev.linkId)?.relays.delete(nameArg);
    this.relays.set(nameArg, { linkId: st.id, since: now });
    st.relays.add(nameArg);
    this.log(`relay ${nameArg} created by ${who}`);
    return { ok: true, name: nameArg };
  }

  private listRelays(st: LinkState): Record<string, unknown> {
    const m = this.store.getMember(st.identifier!)!;
    if (m.role !== 'admin' && m.role !== 'enroller') {
      return { ok: false, code: 'POSTERN_FORBIDDEN', message: 'only the vendor may list relays' };
    }
    const relays = [...this.relays].map(([name, r]) => ({
      name,
      identifier: this.links.get(r.linkId)?.identifier ?? null,
      onlineSince: new Date(r.since * 1000).toISOString(),
    }));
    return { ok: true, relays };
  }

  private revoked(identifiers: string[]): void {
    for (const st of this.links.values()) {
      if (st.identifier !== undefined && identifiers.includes(st.identifier)) {
        this.log(`closing link ${st.id}: ${st.identifier} revoked`);
        st.link.close(new PosternError('POSTERN_MEMBER_REVOKED', 'membership revoked'));
      }
    }
  }

  onlineRelays(): string[] {
    return [...this.relays.keys()];
  }

  async close(): Promise<void> {
    for (const st of this.links.values()) st.link.close(new PosternError('POSTERN_HUB_STOPPING', 'hub stopping'));
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.store.close();
  }
}

export function parseListen(s: string): HostPort {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535) {
    throw new PosternError('POSTERN_BAD_ADDRESS', `invalid listen address ${JSON.stringify(s)}`, 'use HOST:PORT, e.g. 127.0.0.1:4000');
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
