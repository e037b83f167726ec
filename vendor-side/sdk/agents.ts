/** Which relays (customer agents) are online at the hub now, and since when. */
import { PosternError } from '../../protocol/errors.ts';
import type { PosternNode } from '../../agent/node/node.ts';

export interface AgentInfo {
  /** The relay name the agent holds (e.g. "acme-relay"). */
  relay: string;
  /** The agent node's identifier, when the hub knows it. */
  identifier: string | null;
  /** When the agent (re)claimed the relay on its current link. */
  onlineSince: Date;
}

/** Requires a node enrolled with an --enroller (or admin) ticket; others get POSTERN_FORBIDDEN. */
export async function onlineAgents(node: PosternNode): Promise<AgentInfo[]> {
  const raw = await node.hubRelays();
  if (!Array.isArray(raw)) throw new PosternError('POSTERN_HUB_ERROR', 'the hub answered list-relays with something unexpected');
  return raw.flatMap((r: unknown) => {
    const x = r as { name?: unknown; identifier?: unknown; onlineSince?: unknown };
    if (typeof x.name !== 'string' || typeof x.onlineSince !== 'string') return [];
    const since = new Date(x.onlineSince);
    if (Number.isNaN(since.getTime())) return [];
    return [{ relay: x.name, identifier: typeof x.identifier === 'string' ? x.identifier : null, onlineSince: since }];
  });
}
