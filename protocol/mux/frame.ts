/**
 * Mux frames (docs/formats-mux.md): type u8 ‖ stream_id u32 ‖ length u32 ‖
 * body, big-endian. One channel message carries one or more whole frames.
 *
 * The codec checks form only (sizes, UTF-8, stream 0 vs not); what a frame
 * means for a stream (windows, states) is the session's and the stream's
 * business. A decoded DATA frame's payload is a view into the input: no copy.
 */
import { DEFAULT_MAX_FRAME_PAYLOAD, FRAME, HEADER_LEN, knownReason, MAX_STR8, MAX_STREAM_ID } from './constants.ts';
import { MuxProtocolError } from './errors.ts';
import { readU32, writeU32 } from '../bytes.ts';

export type Frame =
  | { type: typeof FRAME.DATA; id: number; data: Uint8Array }
  | { type: typeof FRAME.WINDOW_UPDATE; id: number; delta: number }
  | { type: typeof FRAME.OPEN; id: number; target: string; window: number }
  | { type: typeof FRAME.OPEN_ACK; id: number; window: number }
  | { type: typeof FRAME.FIN; id: number }
  | { type: typeof FRAME.RESET; id: number; reason: number; message: string }
  | { type: typeof FRAME.PING; id: 0; opaque: number }
  | { type: typeof FRAME.PONG; id: 0; opaque: number }
  | { type: typeof FRAME.GO_AWAY; id: 0; reason: number; message: string };

const enc = new TextEncoder();
// ignoreBOM: a message that starts with U+FEFF keeps it (the default would drop it).
const dec = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > MAX_STREAM_ID) throw new RangeError(`${what} must be a u32, got ${v}`);
}

function checkU8(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`${what} must be a u8, got ${v}`);
}

function header(type: number, id: number, length: number, total: number): Uint8Array {
  checkU32(id, 'stream id');
  const h = new Uint8Array(total);
  h[0] = type;
  writeU32(h, 1, id);
  writeU32(h, 5, length);
  return h;
}

/** UTF-8 of `s`, cut on a character boundary to at most MAX_STR8 bytes (messages are for people). */
function str8Bytes(s: string): Uint8Array {
  const b = enc.encode(s);
  if (b.length <= MAX_STR8) return b;
  let cut = MAX_STR8;
  while (cut > 0 && (b[cut]! & 0xc0) === 0x80) cut--;
  return b.subarray(0, cut);
}

// ---- encode ---------------------------------------------------------------

/**
 * The 9-byte header of a DATA frame carrying `length` bytes: send it and the
 * payload as two parts, so the payload is never copied.
 */
export function encodeDataHeader(id: number, length: number): Uint8Array {
  checkU32(length, 'length');
  return header(FRAME.DATA, id, length, HEADER_LEN);
}

/**
 * A frame as parts whose concatenation is the frame: [header, payload] for
 * DATA (no copy), one buffer otherwise. Checks only that each field fits its
 * wire size (RangeError otherwise); a message longer than 255 bytes is cut.
 */
export function encodeFrame(f: Frame): Uint8Array[] {
  switch (f.type) {
    case FRAME.DATA:
      return [encodeDataHeader(f.id, f.data.length), f.data];
    case FRAME.WINDOW_UPDATE:
      return [u32Frame(f.type, f.id, f.delta, 'delta')];
    case FRAME.OPEN_ACK:
      return [u32Frame(f.type, f.id, f.window, 'window')];
    case FRAME.PING:
    case FRAME.PONG:
      return [u32Frame(f.type, 0, f.opaque, 'opaque')];
    case FRAME.FIN:
      return [header(f.type, f.id, 0, HEADER_LEN)];
    case FRAME.OPEN: {
      checkU32(f.window, 'window');
      const t = enc.encode(f.target);
      if (t.length < 1 || t.length > MAX_STR8) throw new RangeError(`target must be 1..${MAX_STR8} UTF-8 bytes`);
      const bodyLen = 1 + t.length + 4;
      const out = header(f.type, f.id, bodyLen, HEADER_LEN + bodyLen);
      out[HEADER_LEN] = t.length;
      out.set(t, HEADER_LEN + 1);
      writeU32(out, HEADER_LEN + 1 + t.length, f.window);
      return [out];
    }
    case FRAME.RESET:
    case FRAME.GO_AWAY: {
      checkU8(f.reason, 'reason');
      const m = str8Bytes(f.message);
      const bodyLen = 2 + m.length;
      const out = header(f.type, f.type === FRAME.GO_AWAY ? 0 : f.id, bodyLen, HEADER_LEN + bodyLen);
      out[HEADER_LEN] = f.reason;
      out[HEADER_LEN + 1] = m.length;
      out.set(m, HEADER_LEN + 2);
      return [out];
    }
  }
}

function u32Frame(type: number, id: number, v: number, what: string): Uint8Array {
  checkU32(v, what);
  const out = header(type, id, 4, HEADER_LEN + 4);
  writeU32(out, HEADER_LEN, v);
  return out;
}

// ---- decode ---------------------------------------------------------------

/** Session frames travel on stream 0; every other frame on a stream id ≥ 1. */
export function isSessionFrame(type: number): boolean {
  return type === FRAME.PING || type === FRAME.PONG || type === FRAME.GO_AWAY;
}

function utf8(b: Uint8Array, what: string): string {
  try {
    return dec.decode(b);
  } catch {
    throw new MuxProtocolError(`${what} is not valid UTF-8`);
  }
}

/**
 * Exactly one frame: `b` must be header plus a body of exactly `length`
 * bytes. Anything malformed throws MuxProtocolError (session-fatal).
 * Reason codes this version does not know decode as INTERNAL.
 */
export function decodeFrame(b: Uint8Array, maxDataPayload: number = DEFAULT_MAX_FRAME_PAYLOAD): Frame {
  if (b.length < HEADER_LEN) throw new MuxProtocolError(`truncated frame header (${b.length} bytes)`);
  const type = b[0]!;
  const id = readU32(b, 1);
  const length = readU32(b, 5);
  if (length !== b.length - HEADER_LEN) throw new MuxProtocolError(`frame length ${length} does not match its body (${b.length - HEADER_LEN} bytes)`);
  if (type > FRAME.GO_AWAY) throw new MuxProtocolError(`unknown frame type ${type}`);
  if (isSessionFrame(type)) {
    if (id !== 0) throw new MuxProtocolError(`session frame type ${type} on stream ${id}`);
  } else if (id === 0) {
    throw new MuxProtocolError(`stream frame type ${type} on stream 0`);
  }
  const body = b.subarray(HEADER_LEN);
  const u32Body = (what: string): number => {
    if (length !== 4) throw new MuxProtocolError(`${what} body of ${length} bytes, expected 4`);
    return readU32(b, HEADER_LEN);
  };
  const reasonBody = (what: string): { reason: number; message: string } => {
    if (length < 2 || body[1]! !== length - 2) throw new MuxProtocolError(`malformed ${what} body`);
    return { reason: knownReason(body[0]!), message: utf8(body.subarray(2), `${what} message`) };
  };
  switch (type) {
    case FRAME.DATA:
      if (length > maxDataPayload) throw new MuxProtocolError(`DATA frame of ${length} bytes exceeds ${maxDataPayload}`);
      return { type, id, data: body };
    case FRAME.WINDOW_UPDATE:
      return { type, id, delta: u32Body('WINDOW_UPDATE') };
    case FRAME.OPEN: {
      const n = length > 0 ? body[0]! : 0;
      if (n < 1 || length !== 1 + n + 4) throw new MuxProtocolError('malformed OPEN body');
      return { type, id, target: utf8(body.subarray(1, 1 + n), 'OPEN target'), window: readU32(body, 1 + n) };
    }
    case FRAME.OPEN_ACK:
      return { type, id, window: u32Body('OPEN_ACK') };
    case FRAME.FIN:
      if (length !== 0) throw new MuxProtocolError(`FIN with a ${length}-byte body`);
      return { type, id };
    case FRAME.RESET:
      return { type, id, ...reasonBody('RESET') };
    case FRAME.PING:
      return { type, id: 0, opaque: u32Body('PING') };
    case FRAME.PONG:
      return { type, id: 0, opaque: u32Body('PONG') };
    case FRAME.GO_AWAY:
      return { type, id: 0, ...reasonBody('GO_AWAY') };
    default:
      throw new MuxProtocolError(`unknown frame type ${type}`);
  }
}
