/** Hub tunables, validated once. Spec limits live with their protocols. */
export interface HubLimits {
  /** Connections that have not completed a handshake, per remote address and in total. */
  maxUnauthenticatedPerIp: number;
  maxUnauthenticatedTotal: number;
  handshakeTimeoutMs: number;
  /** Enrollment attempts allowed on one link (a bad secret costs one). */
  maxEnrollAttemptsPerLink: number;
  /** Relay names one identity may hold. */
  maxRelaysPerIdentity: number;
  /** Pause a sender while its destination link has this much queued. */
  forwardHighWaterBytes: number;
  /** Links with no traffic for this long are closed (nodes send keepalives). */
  idleTimeoutMs: number;
  credentialTtl: number;
}

export const DEFAULT_HUB_LIMITS: HubLimits = {
  maxUnauthenticatedPerIp: 64,
  maxUnauthenticatedTotal: 1024,
  handshakeTimeoutMs: 10_000,
  maxEnrollAttemptsPerLink: 5,
  maxRelaysPerIdentity: 4,
  forwardHighWaterBytes: 4 * 1024 * 1024,
  idleTimeoutMs: 60_000,
  credentialTtl: 3600,
};
