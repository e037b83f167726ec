/**
 * The node runtime: identity and vault, enrollment, the link to the hub,
 * relays, end-to-end portal channels, tcp-outlets and tcp-inlets, and the
 * local control API. A node listens on nothing but its own inlets and its
 * control socket; everything else is dialled out.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { PosternError } from '../../protocol/errors.ts';
import { fromUtf8 } from '../../protocol/bytes.ts';
import { verifyCredential } from '../../protocol/credential/credential.ts';
import { identifierOf } from '../../protocol/identity/identifier.ts';
import type { Ticket } from '../../protocol/ticket/ticket.ts';
import { RESET_REASON, type MuxStream } from '../../protocol/mux/index.ts';
import { CHANNEL_PREFIX, LINK_PREFIX, LISTENER_ADDRESS, RELAY_NAME_PREFIX, type RoutedMessage } from '../../protocol/routing/index.ts';
import type { HostPort, InletSpec, NodeConfig, OutletSpec } from '../config/index.ts';
import { formatHostPort } from '../config/index.ts';
import { PortalChannel } from '../channel/portal-channel.ts';
import { decideAccess } from '../portal/access.ts';
import { pipeSocketStream } from '../portal/pipe.ts';
import { openInletStream } from '../portal/inlet-stream.ts';
import { startControlServer } from '../control/server.ts';
import { FileVault } from './file-vault.ts';
import { HubClient, type HubInfo } from './hub-client.ts';
import { loadOrCreateIdentity, type NodeIdentity } from './identity.ts';
import {
  loadCredential,
  loadHubInfo,
  loadResources,
  nodePaths,
  saveCredential,
  saveHubInfo,
  saveResources,
  type NodePaths,
} from './state.ts';

export const HUB_ERROR_ADDRESS = 'hub-error';
export const PEER_GONE_ADDRESS = 'peer-gone';

/** Channel failures that mean a message was changed, replayed or forged on the way (or a broken peer). */
const SUSPICIOUS_CLOSE = new Set([
  'POSTERN_MESSAGE_TAMPERED',
  'POSTERN_MESSAGE_TRUNCATED',
  'POSTERN_MESSAGE_UNEXPECTED',
  'POSTERN_MESSAGE_OUT_OF_ORDER',
  'POSTERN_REPLAY',
  'POSTERN_MUX_PROTOCOL',
]);
const MAX_CHANNELS = 1024;

export interface NodeOptions {
  name: string;
  home?: string;
  /** Enrollment ticket, needed only the first time. */
  ticket?: Ticket;
  /** Resources to apply (merged into the stored ones). */
  config?: NodeConfig;
  log?: (line: string) => void;
  /** Control socket (default on). */
  control?: boolean;
  keepaliveMs?: number;
}

interface InletState {
  spec: InletSpec;
  server: Server;
  address: HostPort;
}

export interface NodeStatus {
  name: string;
  identifier: string;
  project: string;
  connected: boolean;
  connectedSince: string | null;
  credentialExpiresAt: string | null;
  attributes: Record<string, string>;
  relays: { name: string; ready: boolean }[];
  outlets: { name: string; to: string; allow: string | null }[];
  inlets: { from: string; via: string; to: string; allow: string | null }[];
  policies: { resourceType: string; allow: string }[];
  channels: number;
  lastError: string | null;
}

export class PosternNode {
  readonly name: string;
  readonly paths: NodePaths;
  readonly identity: NodeIdentity;
  readonly hub: HubInfo;
  private readonly hubClient: HubClient;
  private credential: Uint8Array | undefined;
  private credentialIssuedAt = 0;
  private credentialExpiresAt = 0;
  private attributes: Record<string, string> = {};
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly log: (line: string) => void;
  private resources: NodeConfig;
  private readonly outlets = new Map<string, OutletSpec>();
  private readonly inlets = new Map<string, InletState>();
  private readonly relaysReady = new Set<string>();
  private readonly channels = new Map<string, PortalChannel>();
  private readonly toRelay = new Map<string, Promise<PortalChannel>>();
  private control: Server | undefined;
  private readonly keepaliveMs: number | undefined;
  private closed = false;
  lastError: string | null = null;

  private constructor(o: NodeOptions, paths: NodePaths, identity: NodeIdentity, hub: HubInfo) {
    this.name = o.name;
    this.paths = paths;
    this.identity = identity;
    this.hub = hub;
    this.log = o.log ?? (() => {});
    this.keepaliveMs = o.keepaliveMs;
    this.resources = loadResources(paths);
    this.hubClient = new HubClient({
      hub,
      identity,
      // Present the credential only while valid; the hub knows members from its store.
      credentials: () => (this.credential && this.credentialExpiresAt > Math.floor(Date.now() / 1000) ? [this.credential] : []),
      onRouted: (m, transport) => this.routed(m, transport),
      onConnected: () => this.onHubConnected(),
      onDisconnected: (e) => {
        this.relaysReady.clear();
        // Every end-to-end channel runs through the hub link: end them all with a clear reason.
        for (const ch of [...this.channels.values()]) {
          ch.close(new PosternError('POSTERN_HUB_DISCONNECTED', 'the link to the hub was lost'));
        }
        this.lastError = e?.message ?? 'hub link closed';
        this.log(`disconnected from hub: ${this.lastError}`);
      },
      log: this.log,
      keepaliveMs: o.keepaliveMs,
    });
  }

  /** Open (or create) the node's state, enroll if needed, connect, apply its resources. */
  static async start(o: NodeOptions): Promise<PosternNode> {
    const paths = nodePaths(o.name, o.home);
    const vault = FileVault.open(paths.vault);
    const identity = loadOrCreateIdentity(vault);
    let hub = loadHubInfo(paths);
    if (hub === undefined) {
      if (o.ticket === undefined) {
        throw new PosternError('POSTERN_NOT_ENROLLED', `node ${o.name} is not enrolled`, 'pass an enrollment ticket (--enrollment-ticket or --ticket)');
      }
      hub = {
        project: o.ticket.project,
        routes: o.ticket.routes,
        hubIdentifier: identifierOf(o.ticket.hubPublicKey),
        authorityPublicKey: o.ticket.authorityPublicKey,
      };
    } else if (o.ticket !== undefined && (o.ticket.project !== hub.project || identifierOf(o.ticket.hubPublicKey) !== hub.hubIdentifier)) {
      throw new PosternError('POSTERN_TICKET_FOREIGN', 'this ticket is for another project or hub than the one this node is enrolled in', 'use another node name for another project');
    }
    const node = new PosternNode(o, paths, identity, hub);
    node.loadStoredCredential();
    try {
      await node.boot(o);
    } catch (e) {
      await node.close();
      throw e;
    }
    saveHubInfo(paths, o.name, hub);
    return node;
  }

  private loadStoredCredential(): void {
    const c = loadCredential(this.paths);
    if (c === undefined) return;
    try {
      // Expired credentials still identify us for a refresh; only the signature must hold.
      const cred = verifyCredential(c, this.hub.authorityPublicKey, 0);
      this.setCredential(c, cred.issuedAt, cred.expiresAt, cred.attributes);
    } catch {
      // A damaged credential: the node refreshes it from its membership once connected.
    }
  }

  private setCredential(c: Uint8Array, issuedAt: number, expiresAt: number, attributes: Record<string, string>): void {
    this.credential = c;
    this.credentialIssuedAt = issuedAt;
    this.credentialExpiresAt = expiresAt;
    this.attributes = { ...attributes };
  }

  private async boot(o: NodeOptions): Promise<void> {
    this.hubClient.start();
    await this.hubClient.waitConnected(true);
    if (this.credential === undefined) {
      if (o.ticket === undefined) {
        await this.refreshCredential();
      } else {
        const r = await this.hubClient.request('authority', { op: 'enroll', secret: Buffer.from(o.ticket.secret).toString('hex') });
        this.acceptCredential(String(r['credential']));
        this.log(`enrolled as ${this.identity.identifier} in project ${this.hub.project}`);
      }
    } else if (this.credentialExpiresAt - Math.floor(Date.now() / 1000) < 60) {
      await this.refreshCredential();
    }
    this.scheduleRefresh();
    if (o.config !== undefined) this.mergeResources(o.config);
    await this.applyResources();
    if (o.control !== false) {
      this.control = await startControlServer(this.paths.control, (op, args) => this.controlOp(op, args));
    }
  }

  private acceptCredential(b64: string): void {
    const c = new Uint8Array(Buffer.from(b64, 'base64'));
    const cred = verifyCredential(c, this.hub.authorityPublicKey, Math.floor(Date.now() / 1000));
    if (cred.subject !== this.identity.identifier) {
      throw new PosternError('POSTERN_CREDENTIAL_SUBJECT', 'the hub issued a credential for another identity');
    }
    saveCredential(this.paths, c);
    this.setCredential(c, cred.issuedAt, cred.expiresAt, cred.attributes);
  }

  private async refreshCredential(): Promise<void> {
    const r = await this.hubClient.request('authority', { op: 'refresh' });
    this.acceptCredential(String(r['credential']));
    this.log(`credential refreshed, valid until ${new Date(this.credentialExpiresAt * 1000).toISOString()}`);
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    if (this.closed) return;
    const now = Date.now() / 1000;
    const ttl = Math.max(1, this.credentialExpiresAt - this.credentialIssuedAt);
    const at = this.credentialExpiresAt - ttl / 3;
    const delayMs = Math.max(1000, (at - now) * 1000);
    this.refreshTimer = setTimeout(() => {
      this.refreshCredential()
        .catch((e: unknown) => {
          this.lastError = e instanceof Error ? e.message : String(e);
          this.log(`credential refresh failed: ${this.lastError}`);
        })
        .finally(() => this.scheduleRefresh());
    }, Math.min(delayMs, 2 ** 31 - 1));
    this.refreshTimer.unref();
  }

  private async onHubConnected(): Promise<void> {
    this.log(`connected to hub ${this.hub.hubIdentifier}`);
    if (this.credential === undefined) return;
    if (this.credentialExpiresAt - Math.floor(Date.now() / 1000) < 60) await this.refreshCredential();
    for (const r of this.resources.relays) await this.claimRelay(r).catch(() => {});
  }

  private mergeResources(c: NodeConfig): void {
    const r = this.resources;
    for (const relay of c.relays) if (!r.relays.includes(relay)) r.relays.push(relay);
    for (const o of c.outlets) r.outlets = [...r.outlets.filter((x) => x.name !== o.name), o];
    for (const i of c.inlets) r.inlets = [...r.inlets.filter((x) => formatHostPort(x.from) !== formatHostPort(i.from)), i];
    for (const p of c.policies) r.policies = [...r.policies.filter((x) => x.resourceType !== p.resourceType), p];
    saveResources(this.paths, r);
  }

  /** Merge a config into the stored resources and apply it now (the branded agent's `up`, after enrolling). */
  async applyConfig(c: NodeConfig): Promise<void> {
    this.mergeResources(c);
    await this.applyResources();
  }

  private async applyResources(): Promise<void> {
    for (const o of this.resources.outlets) this.outlets.set(o.name, o);
    for (const relay of this.resources.relays) await this.claimRelay(relay);
    for (const i of this.resources.inlets) {
      if (!this.inlets.has(formatHostPort(i.from)) || i.from.port === 0) await this.listenInlet(i);
    }
  }

  // ---- relays -------------------------------------------------------------

  private async claimRelay(name: string): Promise<void> {
    await this.hubClient.request('relays', { op: 'create-relay', name });
    this.relaysReady.add(name);
    this.log(`relay ${name} ready`);
  }

  async createRelay(name: string): Promise<void> {
    await this.claimRelay(name);
    this.mergeResources({ relays: [name], outlets: [], inlets: [], policies: [] });
  }

  // ---- routing ------------------------------------------------------------

  private routed(m: RoutedMessage, transport: boolean): void {
    const to = m.onward[0];
    if (m.onward.length !== 1 || to === undefined) return;
    if (to === PEER_GONE_ADDRESS) {
      const gone = m.ret[0];
      for (const ch of [...this.channels.values()]) {
        if (gone !== undefined && ch.remoteHop === gone) ch.close(new PosternError('POSTERN_PEER_GONE', 'the other node disconnected from the hub'));
      }
      return;
    }
    if (to === LISTENER_ADDRESS) {
      // A channel starts with a handshake message, which every link authenticates (and is never empty),
      // from another node's channel through the hub: its answers go back there and nowhere else.
      const from = m.ret.length === 2 && m.ret[0]!.startsWith(LINK_PREFIX) && m.ret[1]!.startsWith(CHANNEL_PREFIX);
      if (transport || !from || m.payload.length === 0 || this.channels.size >= MAX_CHANNELS || this.credential === undefined) return;
      const ch = this.newChannel(false, m.ret);
      ch.receive(m.payload, m.ret, false);
      return;
    }
    const ch = this.channels.get(to);
    if (ch === undefined) return;
    if (m.ret[0] === HUB_ERROR_ADDRESS) {
      let err: PosternError;
      try {
        const b = JSON.parse(fromUtf8(m.payload)) as { code?: string; message?: string; hint?: string };
        err = new PosternError(String(b.code ?? 'POSTERN_HUB_ERROR'), String(b.message ?? 'the hub refused'), b.hint);
      } catch {
        err = new PosternError('POSTERN_HUB_ERROR', 'the hub refused');
      }
      ch.close(err);
      return;
    }
    ch.receive(m.payload, m.ret, transport);
  }

  private newChannel(initiator: boolean, remoteRoute: string[]): PortalChannel {
    const ch = new PortalChannel({
      initiator,
      local: this.identity.local(this.credential ? [this.credential] : []),
      trust: {
        authorities: [this.hub.authorityPublicKey],
        project: this.hub.project,
        requireCredential: true,
        now: () => Math.floor(Date.now() / 1000),
      },
      remoteRoute,
      ...(this.keepaliveMs !== undefined ? { keepaliveMs: this.keepaliveMs } : {}),
      send: (header, parts, transport) => this.hubClient.sendWithHeader(header, parts, transport ? 'transport' : 'relay'),
      onStream: (c, stream, target) => this.incomingStream(c, stream, target),
      onEstablished: (c) => {
        if (!initiator) this.log(`secure channel from ${c.peer!.identifier} established`);
      },
      onClose: (c, err) => {
        this.channels.delete(c.address);
        // The responder logs every close with a reason; the initiator (whose streams report it) those
        // that point at a changed or misbehaving path, which only the channel itself can see.
        if (err !== undefined && err.code !== 'POSTERN_LINK_CLOSED' && (!initiator || SUSPICIOUS_CLOSE.has(err.code))) {
          this.log(`secure channel ${initiator ? 'to' : 'from'} ${c.peer?.identifier ?? '(unauthenticated)'} closed: ${err.message} (${err.code})`);
        }
      },
    });
    this.channels.set(ch.address, ch);
    return ch;
  }

  /** The shared end-to-end channel to a relay's node: one handshake, many streams. */
  channelTo(relay: string): Promise<PortalChannel> {
    const existing = this.toRelay.get(relay);
    if (existing !== undefined) {
      return existing.then(
        (ch) => (this.usable(ch) ? ch : this.openChannel(relay)),
        () => this.openChannel(relay),
      );
    }
    return this.openChannel(relay);
  }

  private usable(ch: PortalChannel): boolean {
    if (ch.closed || !ch.established) return false;
    const now = Math.floor(Date.now() / 1000);
    const peerExp = ch.peer?.credentialExpiresAt ?? 0;
    return peerExp > now + 5 && ch.createdAt >= this.credentialIssuedAt;
  }

  private openChannel(relay: string): Promise<PortalChannel> {
    const p = new Promise<PortalChannel>((resolve, reject) => {
      const ch = this.newChannel(true, [`${RELAY_NAME_PREFIX}${relay}`, LISTENER_ADDRESS]);
      const check = setInterval(() => {
        if (ch.established) {
          clearInterval(check);
          resolve(ch);
        } else if (ch.closed) {
          clearInterval(check);
          reject(ch.closeError ?? new PosternError('POSTERN_CHANNEL_CLOSED', 'secure channel closed'));
        }
      }, 2);
      try {
        ch.start();
      } catch (e) {
        clearInterval(check);
        ch.close();
        reject(e);
      }
    });
    this.toRelay.set(relay, p);
    p.catch(() => {
      if (this.toRelay.get(relay) === p) this.toRelay.delete(relay);
    });
    return p;
  }

  // ---- outlets ------------------------------------------------------------

  private incomingStream(ch: PortalChannel, stream: MuxStream, target: string): void {
    const peer = ch.peer!;
    const outlet = this.outlets.get(target);
    if (outlet === undefined) {
      this.log(`stream from ${peer.identifier} refused: no outlet named ${target}`);
      stream.reset(RESET_REASON.OUTLET_UNKNOWN, `no outlet named ${target}`);
      return;
    }
    const exp = peer.credentialExpiresAt ?? 0;
    if (exp <= Math.floor(Date.now() / 1000)) {
      stream.reset(RESET_REASON.POLICY_DENIED, 'credential expired');
      return;
    }
    const d = decideAccess('tcp-outlet', outlet.allow, this.resources.policies, peer);
    if (!d.allowed) {
      this.log(`outlet ${target}: denied ${peer.identifier}: ${d.reason}`);
      stream.reset(RESET_REASON.POLICY_DENIED, `policy denied: ${d.reason}`);
      return;
    }
    const socket = connect({ host: outlet.to.host, port: outlet.to.port, allowHalfOpen: true });
    socket.setNoDelay(true);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      if (stream.closed) {
        // The inlet side gave up (reset or timed out) while the target was connecting.
        socket.destroy();
        return;
      }
      // Handlers first: accept() hands over the early data that came with the OPEN.
      pipeSocketStream(socket, stream, {
        onReset: (_r, msg, remote) => {
          if (remote) this.log(`outlet ${target}: stream reset by peer: ${msg}`);
        },
      });
      stream.accept();
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      if (connected) return;
      this.log(`outlet ${target}: target ${formatHostPort(outlet.to)} refused: ${e.code ?? e.message}`);
      stream.reset(RESET_REASON.TARGET_REFUSED, `target ${formatHostPort(outlet.to)} refused: ${e.code ?? e.message}`);
    });
  }

  createOutlet(spec: OutletSpec): void {
    this.outlets.set(spec.name, spec);
    this.mergeResources({ relays: [], outlets: [spec], inlets: [], policies: [] });
    this.log(`tcp-outlet ${spec.name} → ${formatHostPort(spec.to)}`);
  }

  deleteOutlet(name: string): boolean {
    const had = this.outlets.delete(name);
    this.resources.outlets = this.resources.outlets.filter((o) => o.name !== name);
    saveResources(this.paths, this.resources);
    return had;
  }

  // ---- inlets -------------------------------------------------------------

  private async listenInlet(spec: InletSpec): Promise<HostPort> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.inletConnection(spec, socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new PosternError('POSTERN_INLET_LISTEN', `cannot listen on ${formatHostPort(spec.from)}: ${e.code ?? e.message}`, 'choose another address or port')),
      );
      server.listen(spec.from.port, spec.from.host, () => resolve());
    });
    const a = server.address() as AddressInfo;
    const address = { host: spec.from.host, port: a.port };
    // Keyed by the bound address: several inlets on port 0 are several listeners.
    this.inlets.set(formatHostPort(address), { spec, server, address });
    this.log(`tcp-inlet ${formatHostPort(address)} → ${spec.via}/${spec.to}`);
    return address;
  }

  private inletConnection(spec: InletSpec, socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    this.channelTo(spec.via).then(
      (ch) => {
        if (socket.destroyed) return;
        const d = decideAccess('tcp-inlet', spec.allow, this.resources.policies, ch.peer!);
        if (!d.allowed) {
          this.log(`inlet ${formatHostPort(spec.from)}: ${spec.via} denied: ${d.reason}`);
          socket.destroy();
          return;
        }
        try {
          openInletStream(socket, ch.mux, spec.to, {
            onReset: (_reason, message, remote) => {
              if (remote) this.log(`inlet ${formatHostPort(spec.from)}: ${spec.via}/${spec.to} refused: ${message}`);
            },
          });
        } catch (e) {
          this.log(`inlet ${formatHostPort(spec.from)}: cannot open stream: ${(e as Error).message}`);
          socket.destroy();
        }
      },
      (e: unknown) => {
        const msg = e instanceof Error ? e.message : String(e);
        this.lastError = msg;
        this.log(`inlet ${formatHostPort(spec.from)}: ${spec.via} unreachable: ${msg}`);
        socket.destroy();
      },
    );
  }

  async createInlet(spec: InletSpec): Promise<HostPort> {
    const address = await this.listenInlet(spec);
    // A port picked by the system is kept, so a restarted node listens where it did.
    this.mergeResources({ relays: [], outlets: [], inlets: [{ ...spec, from: address }], policies: [] });
    return address;
  }

  async deleteInlet(from: string): Promise<boolean> {
    const st = [...this.inlets.entries()].find(([k, v]) => k === from || formatHostPort(v.address) === from);
    if (st === undefined) return false;
    this.inlets.delete(st[0]);
    await new Promise<void>((r) => st[1].server.close(() => r()));
    this.resources.inlets = this.resources.inlets.filter((i) => formatHostPort(i.from) !== st[0]);
    saveResources(this.paths, this.resources);
    return true;
  }

  // ---- control ------------------------------------------------------------

  status(): NodeStatus {
    const since = this.hubClient.connectedSince;
    return {
      name: this.name,
      identifier: this.identity.identifier,
      project: this.hub.project,
      connected: this.hubClient.connected,
      connectedSince: since ? new Date(since).toISOString() : null,
      credentialExpiresAt: this.credentialExpiresAt ? new Date(this.credentialExpiresAt * 1000).toISOString() : null,
      attributes: this.attributes,
      relays: this.resources.relays.map((name) => ({ name, ready: this.relaysReady.has(name) })),
      outlets: [...this.outlets.values()].map((o) => ({ name: o.name, to: formatHostPort(o.to), allow: o.allow ?? null })),
      inlets: [...this.inlets.values()].map((i) => ({ from: formatHostPort(i.address), via: i.spec.via, to: i.spec.to, allow: i.spec.allow ?? null })),
      policies: this.resources.policies.map((p) => ({ resourceType: p.resourceType, allow: p.allow })),
      channels: this.channels.size,
      lastError: this.lastError,
    };
  }

  /** Relays online at the hub now (for the SDK's agents()). */
  async hubRelays(): Promise<unknown> {
    const r = await this.hubClient.request('relays', { op: 'list-relays' });
    return r['relays'];
  }

  /** Requests to the authority from this node's identity (e.g. minting tickets as an enroller). */
  authorityRequest(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.hubClient.request('authority', body);
  }

  private async controlOp(op: string, args: Record<string, unknown>): Promise<unknown> {
    const { parseInletArgs, parseOutletArgs, str } = await import('./control-args.ts');
    switch (op) {
      case 'status':
        return this.status();
      case 'create-relay':
        await this.createRelay(str(args, 'name'));
        return this.status().relays;
      case 'create-outlet':
        this.createOutlet(parseOutletArgs(args));
        return this.status().outlets;
      case 'delete-outlet':
        return { deleted: this.deleteOutlet(str(args, 'name')) };
      case 'create-inlet': {
        const a = await this.createInlet(parseInletArgs(args));
        return { from: formatHostPort(a) };
      }
      case 'delete-inlet':
        return { deleted: await this.deleteInlet(str(args, 'from')) };
      case 'relays':
        return this.hubRelays();
      case 'stop':
        setTimeout(() => void this.close().then(() => process.exit(0)), 10);
        return { stopping: true };
      default:
        throw new PosternError('POSTERN_BAD_REQUEST', `unknown control operation ${op}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.refreshTimer);
    for (const ch of this.channels.values()) ch.close(new PosternError('POSTERN_NODE_STOPPED', 'node stopped'));
    for (const i of this.inlets.values()) i.server.close();
    this.inlets.clear();
    this.hubClient.stop();
    await new Promise<void>((r) => (this.control ? this.control.close(() => r()) : r()));
  }
}

