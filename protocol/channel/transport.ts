/**
 * Transport phase of a secure channel: explicit 64-bit nonces, strict
 * in-order replay rejection, and rekey (Noise rev 34 §11.3) every
 * `rekeyInterval` messages in each direction.
 *
 * Postern's links are ordered byte streams, so the receiver accepts only the
 * next nonce: any replayed, reordered or dropped message is an error and the
 * channel is closed. No sliding window is kept.
 */
import { EMPTY, readU16, readU32, writeU16, writeU32 } from '../bytes.ts';
import { transientBytes } from '../transient-bytes.ts';
import { PosternError } from '../errors.ts';
import type { CipherState } from '../noise/cipher-state.ts';
import { MAX_CHANNEL_MESSAGE, MAX_RELAY_MESSAGES, MAX_RELAY_PAYLOAD, MAX_TRANSPORT_MESSAGE, NONCE_LEN } from './constants.ts';

export class ChannelError extends PosternError {}

/** Top bit of the nonce field: a relay record (sealed route headers, payloads sent as they are). */
const RELAY_FLAG = 0x80;
/**
 * Next bit, in a relay record only: its payloads are end-to-end transport
 * messages, which the link does not authenticate again (their own AEAD
 * does, end to end). Clear: the link authenticates the payloads too.
 */
const TRANSPORT_FLAG = 0x40;
/** Top bit of an entry's payload_len: the same mark, repeated inside the sealed headers. */
const TRANSPORT_LEN_FLAG = 0x8000_0000;
const RELAY_PREFIX = NONCE_LEN + 2;

/** One message of a relay record: a route header (sealed on the link) and a payload sent as it is. */
export interface RelayEntry {
  header: Uint8Array;
  /** End-to-end ciphertext, in parts. */
  payload: readonly Uint8Array[];
  /**
   * The payload is one end-to-end transport message (authenticated by the
   * receiving channel, which accepts nothing else this way): the link does
   * not authenticate it. Unset for everything else, handshake messages
   * included: closed by default. A record carries one kind only.
   */
  transport?: boolean;
}

/** A relay record's message as received: the payload is a view of the record. */
export interface RelayedMessage {
  header: Uint8Array;
  payload: Uint8Array;
  /** Sent as an end-to-end transport message: not authenticated by the link (see `RelayEntry`). */
  transport: boolean;
}

/** A sealed message's plaintext, or a relay record's messages. */
export type OpenedMessage = { plaintext: Uint8Array; relays?: undefined } | { plaintext?: undefined; relays: RelayedMessage[] };

/** Per message in a relay record's sealed headers: route_len u16 ‖ route header ‖ payload_len u32. */
const ENTRY_OVERHEAD = 6;

export class TransportState {
  private readonly send: CipherState;
  private readonly recv: CipherState;
  private readonly rekeyInterval: number;
  /** Largest transport message, nonce and tag included: 65,535 on links, up to 256 KiB end to end. */
  readonly maxMessage: number;
  private broken = false;

  constructor(send: CipherState, recv: CipherState, rekeyInterval: number, maxMessage = MAX_TRANSPORT_MESSAGE) {
    if (!Number.isInteger(rekeyInterval) || rekeyInterval < 1) throw new RangeError('rekeyInterval must be ≥ 1');
    if (!Number.isInteger(maxMessage) || maxMessage < MAX_TRANSPORT_MESSAGE || maxMessage > MAX_CHANNEL_MESSAGE) {
      throw new RangeError(`maxMessage must be between ${MAX_TRANSPORT_MESSAGE} and ${MAX_CHANNEL_MESSAGE}`);
    }
    this.send = send;
    this.recv = recv;
    this.rekeyInterval = rekeyInterval;
    this.maxMessage = maxMessage;
  }

  /** Largest plaintext of one sealed message. */
  get maxPlaintext(): number {
    return this.maxMessage - NONCE_LEN - 16;
  }

  get sentCount(): number {
    return this.send.n;
  }

  get receivedCount(): number {
    return this.recv.n;
  }

  /** Encrypt one message. Returns [nonce header, ciphertext‖tag] to be sent back to back. */
  seal(plaintext: Uint8Array): [Uint8Array, Uint8Array] {
    if (this.broken) throw new ChannelError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    if (plaintext.length > this.maxPlaintext) {
      throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `plaintext of ${plaintext.length} bytes exceeds ${this.maxPlaintext}`);
    }
    const n = this.send.n;
    if (n > 0 && n % this.rekeyInterval === 0) this.send.rekey();
    const header = new Uint8Array(NONCE_LEN);
    writeNonce(header, n);
    return [header, this.send.encryptWithAd(EMPTY, plaintext)];
  }

  /** Seal a plaintext given in parts: returns [nonce header, ciphertext pieces…, tag]. */
  sealParts(parts: readonly Uint8Array[]): Uint8Array[] {
    if (this.broken) throw new ChannelError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    let len = 0;
    for (const p of parts) len += p.length;
    if (len > this.maxPlaintext) {
      throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `plaintext of ${len} bytes exceeds ${this.maxPlaintext}`);
    }
    const n = this.send.n;
    if (n > 0 && n % this.rekeyInterval === 0) this.send.rekey();
    const header = new Uint8Array(NONCE_LEN);
    writeNonce(header, n);
    const out = this.send.encryptPartsWithAd(EMPTY, parts);
    out.unshift(header);
    return out;
  }

  /**
   * Seal a relay record: one or more routed messages whose route headers
   * are encrypted together and whose payloads (already end-to-end
   * ciphertext) are sent as they are, so a hop that forwards them never
   * encrypts them again. The payloads are authenticated as associated data,
   * unless they are all end-to-end transport messages (`transport`), which
   * their channel authenticates end to end.
   *   nonce u64 (top bit set; next bit: transport) ‖ header_len u16 ‖ AEAD(k, nonce, ad, headers) ‖ payload_1 ‖ … ‖ payload_n
   *   ad = payload_1 ‖ … ‖ payload_n, or empty for transport messages
   *   headers = n × (route_len u16 ‖ route header ‖ payload_len u32 (top bit: transport))
   * `relayRecordSize` says whether entries fit in one record, `relayRecordEnd` how many do.
   */
  sealRelay(entries: readonly RelayEntry[]): Uint8Array[] {
    if (this.broken) throw new ChannelError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    const transport = entries[0]?.transport === true;
    const fit = relayRecordSize(entries);
    if (fit === null) {
      // A record ends where the kind changes, so mixed kinds do not fit either: say which it was.
      if (entries.some((e) => (e.transport === true) !== transport)) {
        throw new ChannelError('POSTERN_MESSAGE_UNEXPECTED', 'a relay record carries transport messages only, or none');
      }
      throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `relay record of ${entries.length} messages exceeds the record limits`);
    }
    const headers = transientBytes(fit.headers);
    const payload: Uint8Array[] = [];
    let o = 0;
    for (const e of entries) {
      writeU16(headers, o, e.header.length);
      headers.set(e.header, o + 2);
      o += 2 + e.header.length;
      let len = 0;
      for (const p of e.payload) {
        len += p.length;
        payload.push(p);
      }
      writeU32(headers, o, transport ? (len | TRANSPORT_LEN_FLAG) >>> 0 : len);
      o += 4;
    }
    const n = this.send.n;
    if (n > 0 && n % this.rekeyInterval === 0) this.send.rekey();
    const prefix = new Uint8Array(RELAY_PREFIX);
    writeNonce(prefix, n);
    prefix[0]! |= transport ? RELAY_FLAG | TRANSPORT_FLAG : RELAY_FLAG;
    writeU16(prefix, NONCE_LEN, headers.length + 16);
    return [prefix, ...this.send.encryptPartsWithAd(transport ? [] : payload, [headers]), ...payload];
  }

  /** Decrypt a sealed message; a relay message here is an error. */
  open(message: Uint8Array): Uint8Array {
    const m = this.openMessage(message);
    if (m.relays !== undefined) {
      this.broken = true;
      throw new ChannelError('POSTERN_MESSAGE_UNEXPECTED', 'relay message where a sealed one was expected');
    }
    return m.plaintext;
  }

  /** Decrypt one message of either kind (nonce field included). Any failure breaks the channel for good. */
  openMessage(message: Uint8Array): OpenedMessage {
    if (this.broken) throw new ChannelError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    try {
      if (message.length < NONCE_LEN + 16) throw new ChannelError('POSTERN_MESSAGE_TRUNCATED', 'message truncated');
      const relay = (message[0]! & RELAY_FLAG) !== 0;
      if (!relay && message.length > this.maxMessage) {
        throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `message of ${message.length} bytes exceeds ${this.maxMessage}`);
      }
      const nonce = readNonce(message);
      const expected = this.recv.n;
      if (nonce !== expected) {
        throw new ChannelError(
          nonce < expected ? 'POSTERN_REPLAY' : 'POSTERN_MESSAGE_OUT_OF_ORDER',
          nonce < expected ? `replayed message (nonce ${nonce}, expected ${expected})` : `message out of order (nonce ${nonce}, expected ${expected})`,
        );
      }
      if (nonce > 0 && nonce % this.rekeyInterval === 0) this.recv.rekey();
      if (!relay) return { plaintext: this.recv.decryptWithAd(EMPTY, message.subarray(NONCE_LEN)) };
      if (message.length < RELAY_PREFIX + 16) throw new ChannelError('POSTERN_MESSAGE_TRUNCATED', 'message truncated');
      const sealedLen = readU16(message, NONCE_LEN);
      const end = RELAY_PREFIX + sealedLen;
      if (sealedLen < 16 || end > message.length) throw new ChannelError('POSTERN_MESSAGE_TRUNCATED', 'relay headers truncated');
      if (message.length - end > MAX_RELAY_PAYLOAD) {
        throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `relay payloads of ${message.length - end} bytes exceed ${MAX_RELAY_PAYLOAD}`);
      }
      const payloads = message.subarray(end);
      // The transport bit picks the associated data; it is also inside the sealed headers, checked
      // there, so a bit flipped in transit fails even where both choices would authenticate.
      const transport = (message[0]! & TRANSPORT_FLAG) !== 0;
      const headers = this.recv.decryptWithAd(transport ? EMPTY : payloads, message.subarray(RELAY_PREFIX, end));
      return { relays: splitRelayRecord(headers, payloads, transport) };
    } catch (e) {
      this.broken = true;
      if (e instanceof PosternError && e.code === 'POSTERN_DECRYPT_FAILED') {
        throw new ChannelError('POSTERN_MESSAGE_TAMPERED', 'message failed authentication (tampered or wrong key)');
      }
      throw e;
    }
  }
}

/**
 * The relay record starting at `entries[start]`: where it ends (exclusive,
 * as many messages as fit) and the bytes of its sealed headers (tag
 * included) and of its payloads. It ends at `start` itself when even that
 * one does not fit (a route header over 65,535 bytes or a payload over one
 * end-to-end channel message). One walk serves both exports below.
 */
function measureRecord(entries: readonly RelayEntry[], start: number): { end: number; headers: number; payload: number } {
  let end = start;
  let headers = 16;
  let payload = 0;
  const transport = entries[start]?.transport === true;
  while (end < entries.length && end - start < MAX_RELAY_MESSAGES) {
    const e = entries[end]!;
    if ((e.transport === true) !== transport) break;
    let size = 0;
    for (const p of e.payload) size += p.length;
    const header = ENTRY_OVERHEAD + e.header.length;
    if (e.header.length > 0xffff || size > MAX_CHANNEL_MESSAGE) break;
    if (headers + header > MAX_TRANSPORT_MESSAGE || payload + size > MAX_RELAY_PAYLOAD) break;
    headers += header;
    payload += size;
    end++;
  }
  return { end, headers, payload };
}

/** Where the relay record starting at `entries[start]` ends (exclusive): as many messages as fit in one record. */
export function relayRecordEnd(entries: readonly RelayEntry[], start: number): number {
  return measureRecord(entries, start).end;
}

/** Sizes of a relay record for these entries (sealed headers without their tag, payloads), or null when they do not fit in one. */
export function relayRecordSize(entries: readonly RelayEntry[]): { headers: number; payload: number } | null {
  const m = measureRecord(entries, 0);
  if (entries.length === 0 || m.end !== entries.length) return null;
  return { headers: m.headers - 16, payload: m.payload };
}

/**
 * The messages of an authenticated relay record; anything inconsistent is a
 * protocol error, including an entry whose transport mark is not the record's.
 */
export function splitRelayRecord(headers: Uint8Array, payloads: Uint8Array, transport: boolean): RelayedMessage[] {
  const bad = (why: string): never => {
    throw new ChannelError('POSTERN_MESSAGE_UNEXPECTED', `malformed relay record: ${why}`);
  };
  const out: RelayedMessage[] = [];
  let o = 0;
  let p = 0;
  while (o < headers.length) {
    if (out.length === MAX_RELAY_MESSAGES) bad(`more than ${MAX_RELAY_MESSAGES} messages`);
    if (o + 2 > headers.length) bad('truncated');
    const hlen = readU16(headers, o);
    if (o + 2 + hlen + 4 > headers.length) bad('truncated');
    const header = headers.subarray(o + 2, o + 2 + hlen);
    const field = readU32(headers, o + 2 + hlen);
    o += 2 + hlen + 4;
    if ((field >= TRANSPORT_LEN_FLAG) !== transport) bad('transport mark does not match the record');
    const plen = field & ~TRANSPORT_LEN_FLAG;
    if (plen > MAX_CHANNEL_MESSAGE || p + plen > payloads.length) bad('payload lengths do not match');
    out.push({ header, payload: payloads.subarray(p, p + plen), transport });
    p += plen;
  }
  if (out.length === 0 || p !== payloads.length) bad('payload lengths do not match');
  return out;
}

function writeNonce(out: Uint8Array, n: number): void {
  writeU32(out, 0, Math.floor(n / 0x1_0000_0000));
  writeU32(out, 4, n >>> 0);
}

function readNonce(m: Uint8Array): number {
  // A relay record's two flag bits are not part of the counter; elsewhere a set bit is simply too large.
  const hi = readU32(m, 0) & ((m[0]! & RELAY_FLAG) !== 0 ? 0x3fffffff : 0x7fffffff);
  if (hi > 0x1fffff) return Number.MAX_SAFE_INTEGER; // beyond 2^53: never valid
  return hi * 0x1_0000_0000 + readU32(m, 4);
}
