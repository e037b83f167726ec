/**
 * Transport phase of a secure channel: explicit 64-bit nonces, strict
 * in-order replay rejection, and rekey (Noise rev 34 §11.3) every
 * `rekeyInterval` messages in each direction.
 *
 * Postern's links are ordered byte streams, so the receiver accepts only the
 * next nonce: any replayed, reordered or dropped message is an error and the
 * channel is closed. No sliding window is kept.
 */
import { EMPTY } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import type { CipherState } from '../noise/cipher-state.ts';
import { MAX_PLAINTEXT, MAX_TRANSPORT_MESSAGE, NONCE_LEN } from './constants.ts';

export class ChannelError extends PosternError {}

/** Top bit of the nonce field: a relay message (sealed header, authenticated payload). */
const RELAY_FLAG = 0x80;
const RELAY_PREFIX = NONCE_LEN + 2;

export interface OpenedMessage {
  /** The sealed part: the whole plaintext, or a relay message's header. */
  plaintext: Uint8Array;
  /** A relay message's payload: authenticated by the link, sent as it came (end-to-end ciphertext). */
  relayed?: Uint8Array;
}

export class TransportState {
  private readonly send: CipherState;
  private readonly recv: CipherState;
  private readonly rekeyInterval: number;
  private broken = false;

  constructor(send: CipherState, recv: CipherState, rekeyInterval: number) {
    if (!Number.isInteger(rekeyInterval) || rekeyInterval < 1) throw new RangeError('rekeyInterval must be ≥ 1');
    this.send = send;
    this.recv = recv;
    this.rekeyInterval = rekeyInterval;
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
    if (plaintext.length > MAX_PLAINTEXT) {
      throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `plaintext of ${plaintext.length} bytes exceeds ${MAX_PLAINTEXT}`);
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
    if (len > MAX_PLAINTEXT) {
      throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `plaintext of ${len} bytes exceeds ${MAX_PLAINTEXT}`);
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
   * Seal a relay message: `header` is encrypted, `payload` (already
   * end-to-end ciphertext) is authenticated as associated data and sent as
   * it is, so a hop that forwards it never encrypts it again.
   *   nonce u64 (top bit set) ‖ header_len u16 ‖ AEAD(k, nonce, ad = payload, header) ‖ payload
   */
  sealRelay(header: Uint8Array, payload: readonly Uint8Array[]): Uint8Array[] {
    if (this.broken) throw new ChannelError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    let len = RELAY_PREFIX + header.length + 16;
    for (const p of payload) len += p.length;
    if (len > MAX_TRANSPORT_MESSAGE || header.length > 0xffff) {
      throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `relay message of ${len} bytes exceeds ${MAX_TRANSPORT_MESSAGE}`);
    }
    const n = this.send.n;
    if (n > 0 && n % this.rekeyInterval === 0) this.send.rekey();
    const prefix = new Uint8Array(RELAY_PREFIX);
    writeNonce(prefix, n);
    prefix[0]! |= RELAY_FLAG;
    new DataView(prefix.buffer).setUint16(NONCE_LEN, header.length);
    return [prefix, ...this.send.encryptPartsWithAd(payload, [header]), ...payload];
  }

  /** Decrypt a sealed message; a relay message here is an error. */
  open(message: Uint8Array): Uint8Array {
    const m = this.openMessage(message);
    if (m.relayed !== undefined) {
      this.broken = true;
      throw new ChannelError('POSTERN_MESSAGE_UNEXPECTED', 'relay message where a sealed one was expected');
    }
    return m.plaintext;
  }

  /** Decrypt one message of either kind (nonce field included). Any failure breaks the channel for good. */
  openMessage(message: Uint8Array): OpenedMessage {
    if (this.broken) throw new ChannelError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    try {
      if (message.length > MAX_TRANSPORT_MESSAGE) {
        throw new ChannelError('POSTERN_MESSAGE_TOO_LARGE', `message of ${message.length} bytes exceeds ${MAX_TRANSPORT_MESSAGE}`);
      }
      if (message.length < NONCE_LEN + 16) throw new ChannelError('POSTERN_MESSAGE_TRUNCATED', 'message truncated');
      const relay = (message[0]! & RELAY_FLAG) !== 0;
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
      const hlen = new DataView(message.buffer, message.byteOffset + NONCE_LEN, 2).getUint16(0);
      const end = RELAY_PREFIX + hlen + 16;
      if (end > message.length) throw new ChannelError('POSTERN_MESSAGE_TRUNCATED', 'relay header truncated');
      const relayed = message.subarray(end);
      return { plaintext: this.recv.decryptWithAd(relayed, message.subarray(RELAY_PREFIX, end)), relayed };
    } catch (e) {
      this.broken = true;
      if (e instanceof PosternError && e.code === 'POSTERN_DECRYPT_FAILED') {
        throw new ChannelError('POSTERN_MESSAGE_TAMPERED', 'message failed authentication (tampered or wrong key)');
      }
      throw e;
    }
  }
}

function writeNonce(out: Uint8Array, n: number): void {
  const v = new DataView(out.buffer, out.byteOffset, NONCE_LEN);
  v.setUint32(0, Math.floor(n / 0x1_0000_0000));
  v.setUint32(4, n >>> 0);
}

function readNonce(m: Uint8Array): number {
  const v = new DataView(m.buffer, m.byteOffset, NONCE_LEN);
  const hi = v.getUint32(0) & 0x7fffffff;
  if (hi > 0x1fffff) return Number.MAX_SAFE_INTEGER; // beyond 2^53: never valid
  return hi * 0x1_0000_0000 + v.getUint32(4);
}
