/**
 * The embedded node: a PosternNode inside the vendor's backend process,
 * started from an enrollment ticket or from an existing state directory
 * (the CLI's POSTERN_HOME layout), with the SDK's calls as methods.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import type { Agent } from 'undici';
import { PosternError } from '../../protocol/errors.ts';
import { decodeTicket, type Ticket } from '../../protocol/ticket/ticket.ts';
import { PosternNode } from '../../agent/node/node.ts';
import { nodePaths } from '../../agent/node/state.ts';
import { assertNodeName, readTicketArg } from '../../agent/node/manage.ts';
import { onlineAgents, type AgentInfo } from './agents.ts';
import { openPortalStream } from './connect.ts';
import { portalDispatcher, type DispatcherOptions } from './dispatcher.ts';
import { openPortalInlet, type InletOptions, type PortalInlet } from './inlet.ts';
import type { PortalTarget } from './channel.ts';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export interface StartNodeOptions {
  /** POSTERN_HOME holding nodes/NAME (default: $POSTERN_HOME, else ~/.postern). */
  home?: string;
  /** Node name (default "default", as the CLI). */
  name?: string;
  /** Enrollment ticket (text, a file holding it, or decoded); needed only the first time. */
  ticket?: string | Ticket;
  /** Channel handshake plus outlet accept, per connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Keepalive of the hub link and channels (default 10 s). */
  keepaliveMs?: number;
  /** Also serve the local control socket, so the CLI can talk to this node (default off). */
  control?: boolean;
  log?: (line: string) => void;
}

export interface ConnectOptions extends PortalTarget {
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

export async function startNode(o: StartNodeOptions = {}): Promise<SdkNode> {
  const name = assertNodeName(o.name ?? 'default');
  refuseIfRunningElsewhere(name, o.home);
  const ticket = typeof o.ticket === 'string' ? decodeTicket(readTicketArg(o.ticket)) : o.ticket;
  const node = await PosternNode.start({
    name,
    ...(o.home !== undefined ? { home: o.home } : {}),
    ...(ticket !== undefined ? { ticket } : {}),
    ...(o.log !== undefined ? { log: o.log } : {}),
    ...(o.keepaliveMs !== undefined ? { keepaliveMs: o.keepaliveMs } : {}),
    control: o.control ?? false,
  });
  return new SdkNode(node, o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, o.log ?? (() => {}));
}

/** One identity, one hub link: two processes running the same node would fight over it. */
function refuseIfRunningElsewhere(name: string, home: string | undefined): void {
  const pidFile = nodePaths(name, home).pid;
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // a stale pid file
  }
  throw new PosternError('POSTERN_NODE_RUNNING', `node ${name} already runs in process ${pid}`, 'stop it first (postern node delete) or give startNode another name');
}

export class SdkNode {
  /** The node runtime underneath, for status and advanced use. */
  readonly node: PosternNode;
  readonly connectTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly inlets = new Set<PortalInlet>();
  private readonly dispatchers = new Set<Agent>();
  private closed = false;

  constructor(node: PosternNode, connectTimeoutMs: number, log: (line: string) => void) {
    this.node = node;
    this.connectTimeoutMs = connectTimeoutMs;
    this.log = log;
  }

  private assertOpen(): void {
    if (this.closed) throw new PosternError('POSTERN_NODE_STOPPED', 'this node was closed');
  }

  /** A local TCP listener whose connections reach `via`/`to`; many may be open at once. */
  async openInlet(o: InletOptions): Promise<PortalInlet> {
    this.assertOpen();
    const inlet = await openPortalInlet(this.node, { ...o, connectTimeoutMs: o.connectTimeoutMs ?? this.connectTimeoutMs }, this.log);
    const tracked: PortalInlet = {
      address: inlet.address,
      close: () => {
        this.inlets.delete(tracked);
        return inlet.close();
      },
    };
    this.inlets.add(tracked);
    return tracked;
  }

  /** An undici dispatcher whose connections are portal streams to `via`/`to`; no socket listens anywhere. */
  dispatcher(o: DispatcherOptions): Agent {
    this.assertOpen();
    const d = portalDispatcher(this.node, { ...o, connectTimeoutMs: o.connectTimeoutMs ?? this.connectTimeoutMs });
    for (const x of this.dispatchers) if (x.closed || x.destroyed) this.dispatchers.delete(x);
    this.dispatchers.add(d);
    return d;
  }

  /** A Duplex to `via`/`to`, resolved once the outlet has connected to its target. */
  async connect(o: ConnectOptions): Promise<Duplex> {
    this.assertOpen();
    return openPortalStream(this.node, {
      via: o.via,
      to: o.to,
      ...(o.allow !== undefined ? { allow: o.allow } : {}),
      timeoutMs: o.connectTimeoutMs ?? this.connectTimeoutMs,
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
    });
  }

  /** Relays online at the hub now and since when (needs an enroller or admin node). */
  agents(): Promise<AgentInfo[]> {
    this.assertOpen();
    return onlineAgents(this.node);
  }

  /** Close dispatchers and inlets made here, then the node (its hub link and channels). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.dispatchers].map((d) => d.destroy().catch(() => {})));
    await Promise.all([...this.inlets].map((i) => i.close()));
    this.dispatchers.clear();
    this.inlets.clear();
    await this.node.close();
  }
}
