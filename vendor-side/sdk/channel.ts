/**
 * The shared end-to-end channel to a relay's node, as a connection sees it:
 * bounded by the connect deadline, narrowed to the SDK's error codes, and
 * checked against this node's tcp-inlet policies (the same check as a
 * `postern tcp-inlet`), since SDK connections are inlets without a socket.
 */
import { PosternError } from '../../protocol/errors.ts';
import type { PortalChannel } from '../../agent/channel/portal-channel.ts';
import type { PosternNode } from '../../agent/node/node.ts';
import type { PolicySpec } from '../../agent/config/index.ts';
import { decideAccess } from '../../agent/portal/access.ts';
import { sdkError } from './errors.ts';
import type { Deadline } from './deadline.ts';

export interface PortalTarget {
  /** Relay name of the agent (e.g. "acme-relay"). */
  via: string;
  /** Outlet name on the agent (e.g. "github"). */
  to: string;
  /** Extra policy the agent's node must satisfy, as `allow:` of a tcp-inlet. */
  allow?: string;
}

export async function portalChannel(node: PosternNode, t: PortalTarget, deadline: Deadline, signal?: AbortSignal): Promise<PortalChannel> {
  let ch: PortalChannel;
  try {
    ch = await deadline.race(node.channelTo(t.via), signal);
  } catch (e) {
    throw signal?.aborted && e === signal.reason ? e : sdkError(e);
  }
  const policies = node.status().policies as PolicySpec[];
  const d = decideAccess('tcp-inlet', t.allow, policies, ch.peer!);
  if (!d.allowed) {
    throw new PosternError('POSTERN_POLICY_DENIED', `this node's tcp-inlet policy refuses ${t.via}: ${d.reason}`, 'check the allow expression and this node\'s tcp-inlet policy');
  }
  return ch;
}
