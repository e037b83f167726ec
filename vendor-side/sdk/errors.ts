/**
 * The SDK's error codes: a closed set a backend can branch on. Every error
 * the SDK raises (directly, through `connect()`, or inside an undici request
 * through the dispatcher) is a PosternError with one of these codes; the
 * lower-level error, when there is one, is kept as `cause`.
 */
import { PosternError, isPosternError } from '../../protocol/errors.ts';

export const SDK_ERROR_CODES = [
  /** No node holds the relay at the hub: the customer's agent is not connected. */
  'POSTERN_RELAY_OFFLINE',
  /** The agent has no outlet with that name. */
  'POSTERN_OUTLET_UNKNOWN',
  /** A policy refused: the agent's outlet policy, or this node's tcp-inlet policy / `allow`. */
  'POSTERN_POLICY_DENIED',
  /** The outlet exists but could not connect to its target (down, refused, unresolvable). */
  'POSTERN_TARGET_REFUSED',
  /** No answer within the connect timeout (channel handshake or outlet accept). */
  'POSTERN_TIMEOUT',
  /** This channel already carries the most streams it may (1024 by default): fewer connections at once. */
  'POSTERN_MUX_TOO_MANY_STREAMS',
  /** This node's own link to the hub is down (it reconnects by itself). */
  'POSTERN_HUB_DISCONNECTED',
  /** An open connection ended abnormally: the agent went away, the channel closed, the stream was reset. */
  'POSTERN_CONNECTION_LOST',
  /** The SDK node was closed. */
  'POSTERN_NODE_STOPPED',
] as const;

export type SdkErrorCode = (typeof SDK_ERROR_CODES)[number];

const KEPT = new Set<string>(SDK_ERROR_CODES);

const RENAMED: Record<string, SdkErrorCode> = {
  POSTERN_HANDSHAKE_TIMEOUT: 'POSTERN_TIMEOUT',
  POSTERN_HUB_TIMEOUT: 'POSTERN_TIMEOUT',
  POSTERN_PEER_GONE: 'POSTERN_CONNECTION_LOST',
  POSTERN_PEER_SILENT: 'POSTERN_CONNECTION_LOST',
  POSTERN_PEER_CLOSED: 'POSTERN_CONNECTION_LOST',
  POSTERN_CHANNEL_CLOSED: 'POSTERN_CONNECTION_LOST',
  POSTERN_STREAM_RESET: 'POSTERN_CONNECTION_LOST',
  POSTERN_STREAM_CLOSED: 'POSTERN_CONNECTION_LOST',
  POSTERN_MUX_CLOSED: 'POSTERN_CONNECTION_LOST',
  POSTERN_MUX_PROTOCOL: 'POSTERN_CONNECTION_LOST',
  POSTERN_LINK_CLOSED: 'POSTERN_HUB_DISCONNECTED',
  POSTERN_LINK_RENEW: 'POSTERN_HUB_DISCONNECTED',
};

/** Narrow any error to the SDK's set, keeping the original as `cause`. */
export function sdkError(e: unknown): PosternError {
  if (isPosternError(e) && KEPT.has(e.code)) return e;
  if (isPosternError(e)) {
    const code = RENAMED[e.code] ?? 'POSTERN_CONNECTION_LOST';
    return new PosternError(code, e.message, e.hint, { cause: e });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new PosternError('POSTERN_CONNECTION_LOST', message, undefined, { cause: e });
}

/**
 * The SDK code carried by `e` or by its causes (`fetch` wraps errors in a
 * TypeError whose `cause` is ours), else undefined.
 */
export function posternCode(e: unknown): SdkErrorCode | undefined {
  for (let x: unknown = e, depth = 0; x !== undefined && x !== null && depth < 8; depth++) {
    if (isPosternError(x) && KEPT.has(x.code)) return x.code as SdkErrorCode;
    x = (x as { cause?: unknown }).cause;
  }
  return undefined;
}

export function timeoutError(what: string, ms: number): PosternError {
  return new PosternError('POSTERN_TIMEOUT', `${what} did not answer within ${ms} ms`, 'the agent or its target is slow or hung; retry, or raise connectTimeoutMs');
}
