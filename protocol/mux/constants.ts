/**
 * Stream multiplexer constants. The first block is the wire format
 * (docs/formats-mux.md) and never changes without a new protocol version;
 * the second block holds tunables, the defaults of `MuxOptions`.
 */

// ---- wire format ----------------------------------------------------------

/** type u8 ‖ stream_id u32 ‖ length u32. */
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
export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/** RESET (and GO_AWAY) reasons. A code not listed here decodes as INTERNAL. */
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
export type ResetReason = (typeof RESET_REASON)[keyof typeof RESET_REASON];

const REASON_NAMES: readonly string[] = Object.entries(RESET_REASON).reduce<string[]>((a, [k, v]) => ((a[v] = k), a), []);

/** The reason a peer's code stands for: unknown codes are INTERNAL. */
export function knownReason(code: number): ResetReason {
  return (REASON_NAMES[code] === undefined ? RESET_REASON.INTERNAL : code) as ResetReason;
}

/** `FLOW_CONTROL` for 4, for logs. */
export function resetReasonName(code: number): string {
  return REASON_NAMES[code] ?? `UNKNOWN(${code})`;
}

/** Largest send window a stream may reach (flow-control credit is a signed 31-bit quantity, as in HTTP/2). */
export const MAX_WINDOW = 0x7fffffff;
/** Stream ids are u32; 0 is the session itself. */
export const MAX_STREAM_ID = 0xffffffff;
/** OPEN targets and RESET / GO_AWAY messages are str8: a u8 length, then UTF-8. */
export const MAX_STR8 = 255;

/**
 * Every side's receive window is at least this much, and an acceptor grants it
 * from the moment it receives OPEN: the opener may send up to EARLY_WINDOW
 * bytes (and FIN) before OPEN_ACK; they count against the acceptor's initial
 * window, and the acceptor holds them until it accepts. So a new
 * connection's first bytes need no extra round trip.
 */
export const EARLY_WINDOW = 64 * 1024;

// ---- tunables (defaults) --------------------------------------------------

/**
 * This side's receive window per stream, granted in OPEN / OPEN_ACK: what a
 * stream may hold in each process per direction. 4 MiB keeps bulk transfers
 * from stalling on window updates across three processes (the bench: about
 * 1.3× the throughput of 1 MiB, at lower CPU per GiB; 8 MiB adds little).
 */
export const DEFAULT_INITIAL_WINDOW = 4 * 1024 * 1024;
/** Concurrently open streams per session, both directions together. */
export const DEFAULT_MAX_STREAMS = 1024;
/**
 * Largest DATA payload: a frame and its header fit one end-to-end channel
 * message (262,120 plaintext bytes, with room to spare for small frames
 * batched with it).
 */
export const DEFAULT_MAX_FRAME_PAYLOAD = 261_000;
