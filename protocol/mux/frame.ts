/**
 * Mux frames: type u8 ‖ stream_id u32 ‖ length u32 ‖ body. One frame per
 * secure-channel message. DATA bodies are views into the received message.
 */
import { FRAME, HEADER_LEN } from './constants.ts';
import { MuxProtocolError } from './errors.ts';

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
const dec = new TextDecoder('utf-8', { fatal: true });

export function encodeDataHeader(id: number, length: number): Uint8Array {
  const h = new Uint8Array(HEADER_LEN);
  const v = new DataView(h.buffer);
  h[0] = FRAME.DATA;
  v.setUint32(1, id);
  v.setUint32(5, length);
  return h;
}

function str8(s: string): Uint8Array {
  const b = enc.encode(s);
  if (b.length > 255) {
    // Truncate on a character boundary so the result stays valid UTF-8.
    let cut = 255;
    while (cut > 0 && (b[cut]! & 0xc0) === 0x80) cut--;
    return Uint8Array.of(cut, ...b.subarray(0, cut));
  }
  const out = new Uint8Array(1 + b.length);
  out[0] = b.length;
  out.set(b, 1);
  return out;
}

export function encodeFrame(f: Frame): Uint8Array[] {
  if (f.type === FRAME.DATA) return [encodeDataHeader(f.id, f.data.length), f.data];
  let body: Uint8Array;
  switch (f.type) {
    case FRAME.WINDOW_UPDATE:
    case FRAME.OPEN_ACK:
    case FRAME.PING:
    case FRAME.PONG: {
      body = new Uint8Array(4);
      new DataView(body.buffer).setUint32(0, f.type === FRAME.WINDOW_UPDATE ? f.delta : f.type === FRAME.OPEN_ACK ? f.window : f.opaque);
      break;
    }
    case FRAME.OPEN: {
      const t = enc.encode(f.target);
      if (t.length < 1 || t.length > 255) throw new RangeError('target must be 1..255 bytes');
      body = new Uint8Array(1 + t.length + 4);
      body[0] = t.length;
      body.set(t, 1);
      new DataView(body.buffer).setUint32(1 + t.length, f.window);
      break;
    }
    case FRAME.FIN:
      body = new Uint8Array(0);
      break;
    case FRAME.RESET:
    case FRAME.GO_AWAY: {
      const m = str8(f.message);
      body = new Uint8Array(1 + m.length);
      body[0] = f.reason;
      body.set(m, 1);
      break;
    }
  }
  const h = new Uint8Array(HEADER_LEN + body.length);
  const v = new DataView(h.buffer);
  h[0] = f.type;
  v.setUint32(1, f.id);
  v.setUint32(5, body.length);
  h.set(body, HEADER_LEN);
  return [h];
}

export function decodeFrame(b: Uint8Array, maxDataPayload: number): Frame {
  if (b.length < HEADER_LEN) throw new MuxProtocolError('truncated frame header');
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = b[0]!;
  const id = v.getUint32(1);
  const length = v.getUint32(5);
  if (length !== b.length - HEADER_LEN) throw new MuxProtocolError(`frame length ${length} does not match its body (${b.length - HEADER_LEN})`);
  const body = b.subarray(HEADER_LEN);
  const u32 = () => {
    if (body.length !== 4) throw new MuxProtocolError('bad frame body');
    return v.getUint32(HEADER_LEN);
  };
  const reasonAndMessage = () => {
    if (body.length < 2 || body[1]! !== body.length - 2) throw new MuxProtocolError('bad reset body');
    let message: string;
    try {
      message = dec.decode(body.subarray(2));
    } catch {
      throw new MuxProtocolError('reset message is not UTF-8');
    }
    return { reason: body[0]!, message };
  };
  const streamFrame = type !== FRAME.PING && type !== FRAME.PONG && type !== FRAME.GO_AWAY;
  if (streamFrame && id === 0) throw new MuxProtocolError('stream frame on stream 0');
  if (!streamFrame && id !== 0) throw new MuxProtocolError('session frame on a stream');
  switch (type) {
    case FRAME.DATA:
      if (body.length > maxDataPayload) throw new MuxProtocolError(`DATA frame of ${body.length} bytes exceeds ${maxDataPayload}`);
      return { type, id, data: body };
    case FRAME.WINDOW_UPDATE:
      return { type, id, delta: u32() };
    case FRAME.OPEN: {
      const n = body[0] ?? 0;
      if (n < 1 || body.length !== 1 + n + 4) throw new MuxProtocolError('bad OPEN body');
      let target: string;
      try {
        target = dec.decode(body.subarray(1, 1 + n));
      } catch {
        throw new MuxProtocolError('OPEN target is not UTF-8');
      }
      return { type, id, target, window: v.getUint32(HEADER_LEN + 1 + n) };
    }
    case FRAME.OPEN_ACK:
      return { type, id, window: u32() };
    case FRAME.FIN:
      if (body.length !== 0) throw new MuxProtocolError('FIN with a body');
      return { type, id };
    case FRAME.RESET:
      return { type, id, ...reasonAndMessage() };
    case FRAME.PING:
    case FRAME.PONG:
      return { type, id: 0, opaque: u32() };
    case FRAME.GO_AWAY:
      return { type, id: 0, ...reasonAndMessage() };
    default:
      throw new MuxProtocolError(`unknown frame type ${type}`);
  }
}
