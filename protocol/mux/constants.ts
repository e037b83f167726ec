/** Stream multiplexer: frame types and reset reasons (spec), then tunables. */

export const HEADER_LEN = 9;
export const FRAME = {
  DATA: 0,
  WINDOW_UPDATE: 1,
  OPEN: 2,
  OPEN_ACK: 3,
  FIN: 4,
  RESET: 5,
  PING: 6,
  PONG: 7,
  GO_AWAY: 8,
} as const;

export const RESET_REASON = {
  TARGET_REFUSED: 1,
  POLICY_DENIED: 2,
  OUTLET_UNKNOWN: 3,
  FLOW_CONTROL: 4,
  PROTOCOL: 5,
  TOO_MANY_STREAMS: 6,
  CANCELLED: 7,
  TIMEOUT: 8,
  INTERNAL: 9,
  GOING_AWAY: 10,
} as const;

export const MAX_WINDOW = 0x7fffffff;
/**
 * Every acceptor grants at least this much from the moment it receives OPEN:
 * the opener sends up to EARLY_WINDOW bytes before OPEN_ACK (they count
 * against the acceptor's initial window), so a new connection's first bytes
 * need no extra round trip. The acceptor holds them until it accepts.
 */
export const EARLY_WINDOW = 64 * 1024;
export const MAX_STREAM_ID = 0xffffffff;

/** Tunables (defaults). */
export const DEFAULT_INITIAL_WINDOW = 1024 * 1024;
export const DEFAULT_MAX_STREAMS = 1024;
/** A channel message carries at most 65,511 plaintext bytes; a DATA frame fits in one. */
export const DEFAULT_MAX_FRAME_PAYLOAD = 65_000;
