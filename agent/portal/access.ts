/**
 * Access decisions for portals, closed by default. For an outlet, every
 * policy that applies must allow the inlet side: the outlet's own `allow`
 * and each node `policy` with resource-type tcp-outlet (likewise for inlets
 * and the outlet side). With no policy at all, only members of the project
 * (peers with a valid credential of the project's authority) get through.
 */
import type { PeerInfo } from '../../protocol/channel/index.ts';
import { policyAllows } from '../../protocol/policy/index.ts';
import type { PolicySpec } from '../config/index.ts';

export interface AccessDecision {
  allowed: boolean;
  reason: string;
}

export function decideAccess(
  resourceType: 'tcp-outlet' | 'tcp-inlet',
  resourceAllow: string | undefined,
  policies: readonly PolicySpec[],
  peer: PeerInfo,
): AccessDecision {
  if (!peer.member) return { allowed: false, reason: `${peer.identifier} is not a member of the project` };
  const exprs = [
    ...(resourceAllow !== undefined ? [resourceAllow] : []),
    ...policies.filter((p) => p.resourceType === resourceType).map((p) => p.allow),
  ];
  const subject = { identifier: peer.identifier, attributes: peer.attributes };
  for (const e of exprs) {
    if (!policyAllows(e, subject)) return { allowed: false, reason: `${peer.identifier} does not satisfy ${JSON.stringify(e)}` };
  }
  return { allowed: true, reason: exprs.length === 0 ? 'project member' : 'policy allows' };
}
