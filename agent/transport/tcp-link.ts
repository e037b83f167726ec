/**
 * A secure link over one TCP connection: length-prefixed frames carrying a
 * Noise XX channel. Used between a node and the hub. Frame errors, handshake
 * failures, tampering and socket errors all end in one `onClose(error)`.
 */
import type { Socket } from 'node:net';
import { PosternError } from '../../protocol/errors.ts';
import { coalesce } from '../../protocol/bytes.ts';
import {
  MAX_RELAY_RECORD,
  MAX_CHANNEL_MESSAGE,
  relayRecordEnd,
  relayRecordSize,
  type PeerInfo,
  type RelayEntry,
  type SecureChannelOptions,
} from '../../protocol/channel/index.ts';
import { ChannelDriver } from '../channel/driver.ts';
import { FrameDecoder, frameHeader, MAX_FRAME } from './frame-decoder.ts';
import type { SlabLinkSocket } from './link-socket.ts';
import { endOfTurn } from './end-of-turn.ts';
import { releaseAfterWrite } from './release.ts';
import { FrameHold } from './frame-hold.ts';

export { releaseAfterWrite };

interface QueuedRelay extends RelayEntry {
  onWritten: (() => void) | undefined;
  size: number;
}

/** A link's messages keep Noise's 65,535-byte limit: `maxMessage` is for end-to-end channels. */
export interface TcpLinkOptions extends Omit<SecureChannelOptions, 'maxMessage'> {
  /** A socket read through 'data' events, or one reading into slabs (link-socket.ts). */
  socket: Socket | SlabLinkSocket;
  onEstablished?: (link: TcpLink, peer: PeerInfo) => void;
  /**
   * A sealed message, or (with `relayed`) one message of a relay record.
   * `relayed` is a view of the received bytes: of the read slab on a socket
   * reading into slabs (`frame` is the slab's hold: the slab is freed when
   * the reader moves on, unless held), otherwise of a frame assembled for it
   * (`frame` set) or of a socket read. To keep it past this call, use
   * `retainPayload(relayed, frame)` (frame-hold.ts). `transport`: the
   * relayed payload is an end-to-end transport message, which this link
   * did not authenticate (`RelayEntry.transport`); forward it as one.
   */
  onMessage?: (plaintext: Uint8Array, relayed?: Uint8Array, frame?: FrameHold, transport?: boolean) => void;
  onClose?: (error?: PosternError) => void;
  handshakeTimeoutMs?: number;
  /** Close the link when nothing arrives for this long (keepalives keep it open). */
  idleTimeoutMs?: number;
  /**
   * When frames longer than a handshake message (relay records) are
   * accepted: once the handshake is complete (the default), or only after
   * `allowRelayRecords()` (the hub, once it knows the peer is a member).
   */
  relayRecords?: 'after-handshake' | 'when-allowed';
}

export class TcpLink {
  readonly socket: Socket;
  private readonly driver: ChannelDriver;
  private readonly decoder = new FrameDecoder();
  private readonly o: TcpLinkOptions;
  private closeError: PosternError | undefined;
  private ended = false;
  private corked = false;
  /** Called once the frame being written has reached the kernel. */
  private pendingWritten: (() => void) | undefined;
  private ownedFrame: FrameHold | undefined;
  /** Relay messages waiting for the end of this event-loop turn, to leave in as few records as fit. */
  private relays: QueuedRelay[] = [];
  private relayBytes = 0;
  private relayFlushScheduled = false;
  /** Whichever reader this link's frames come through: it enforces the frame limit. */
  private readonly frames: { maxFrame: number };
  private readonly slabs: SlabLinkSocket | undefined;

  constructor(o: TcpLinkOptions) {
    this.o = o;
    const slabs = 'reader' in o.socket ? o.socket : undefined;
    this.slabs = slabs;
    this.socket = slabs?.socket ?? (o.socket as Socket);
    this.socket.setNoDelay(true);
    this.driver = new ChannelDriver({
      ...o,
      sendRaw: (parts) => this.writeFrame(parts),
      onEstablished: (peer) => {
        // An authenticated peer may send relay records, larger than handshake messages.
        if (o.relayRecords !== 'when-allowed') this.allowRelayRecords();
        o.onEstablished?.(this, peer);
      },
      onMessage: o.onMessage === undefined ? undefined : (plaintext, relayed, transport) => o.onMessage!(plaintext, relayed, this.ownedFrame, transport),
      allowRelay: true,
      onClose: (err) => this.teardown(err),
    });
    /** Hand a frame to the channel; `hold` is what a receiver forwarding a payload later holds (or none). */
    const receive = (frame: Uint8Array, hold: FrameHold | undefined) => {
      this.ownedFrame = hold;
      try {
        this.driver.receiveRaw(frame, false);
      } finally {
        this.ownedFrame = undefined;
      }
    };
    const onFrame = (frame: Uint8Array, owned = false) => {
      // The decoder's own copy of a frame (header included) is handed to onMessage, to be freed once forwarded.
      const hold = owned ? new FrameHold(new Uint8Array(frame.buffer, 0, frame.buffer.byteLength)) : undefined;
      try {
        receive(frame, hold);
      } finally {
        hold?.drop();
      }
    };
    // A view of the read slab: whoever forwards a payload later holds the slab (or copies).
    const onSlabFrame = (frame: Uint8Array) => receive(frame, slabs!.reader.slabHold);
    const frameError = (e: unknown) =>
      this.driver.close(e instanceof PosternError ? e : new PosternError('POSTERN_FRAME_INVALID', String(e)));
    this.frames = slabs?.reader ?? this.decoder;
    this.frames.maxFrame = MAX_FRAME;
    if (slabs !== undefined) {
      slabs.deliver = (n) => {
        try {
          slabs.reader.filled(n, onSlabFrame);
        } catch (e) {
          frameError(e);
        }
      };
    } else {
      this.socket.on('data', (chunk: Buffer) => {
        try {
          this.decoder.push(chunk, onFrame);
        } catch (e) {
          frameError(e);
        }
      });
    }
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      this.driver.close(new PosternError('POSTERN_LINK_ERROR', `link error: ${e.code ?? e.message}`));
    });
    this.socket.on('close', () => {
      this.driver.close(this.closeError ?? new PosternError('POSTERN_LINK_CLOSED', 'link closed by peer'));
    });
    if (o.idleTimeoutMs !== undefined) {
      this.socket.setTimeout(o.idleTimeoutMs, () => {
        this.driver.close(new PosternError('POSTERN_LINK_TIMEOUT', `no traffic for ${o.idleTimeoutMs} ms`));
      });
    }
    if (o.initiator) this.driver.start();
  }

  get peer(): PeerInfo | undefined {
    return this.driver.peer;
  }

  get established(): boolean {
    return this.driver.established;
  }

  get closed(): boolean {
    return this.driver.isClosed;
  }

  /** Accept frames up to a relay record's size from now on (until then, a handshake message's). */
  allowRelayRecords(): void {
    this.frames.maxFrame = MAX_RELAY_RECORD;
  }

  /** Bytes queued in the socket or waiting to be sealed, for backpressure decisions. */
  get writableLength(): number {
    return this.socket.writableLength + this.relayBytes;
  }

  /** Send a sealed message (after any relay messages queued before it: the link keeps their order). */
  send(parts: Uint8Array[]): void {
    if (this.relays.length > 0) this.flushRelays();
    this.driver.send(parts);
  }

  /**
   * Forward end-to-end ciphertext: only the route header is encrypted on
   * this link. Relay messages wait for the end of this event-loop turn's I/O
   * (`endOfTurn`, after the channels that send through it) and leave
   * together, as few relay records as fit (one seal and one write per
   * record instead of per message); the payload must stay unchanged until
   * then. `onWritten`: called once the kernel has the bytes (e.g. to free
   * buffers nothing else refers to, see `releaseAfterWrite`). `transport`:
   * the payload is one end-to-end transport message, which the link then
   * does not authenticate (`RelayEntry.transport`); anything else, an
   * end-to-end handshake message above all, must leave it unset.
   */
  sendRelay(header: Uint8Array, payload: Uint8Array[], onWritten?: () => void, transport = false): void {
    if (this.driver.isClosed) throw new PosternError('POSTERN_CHANNEL_CLOSED', 'secure channel is closed');
    if (!this.driver.established) throw new PosternError('POSTERN_CHANNEL_NOT_READY', 'secure channel is not established yet');
    const entry: QueuedRelay = { header, payload, onWritten, size: header.length, transport };
    for (const p of payload) entry.size += p.length;
    if (relayRecordSize([entry]) === null) {
      throw new PosternError('POSTERN_MESSAGE_TOO_LARGE', `relay message of ${entry.size} bytes does not fit a relay record (payload at most ${MAX_CHANNEL_MESSAGE} bytes)`);
    }
    this.relays.push(entry);
    this.relayBytes += entry.size;
    if (!this.relayFlushScheduled) {
      this.relayFlushScheduled = true;
      endOfTurn.defer(() => this.flushRelays());
    }
  }

  /** Seal and write the queued relay messages, in order, as few records as fit. */
  private flushRelays(): void {
    this.relayFlushScheduled = false;
    const queued = this.relays;
    if (queued.length === 0) return;
    this.relays = [];
    this.relayBytes = 0;
    if (this.driver.isClosed) return;
    // Its records leave in one writev as soon as they are sealed, not once the whole pass (every
    // other link's flush) is over: no tick runs between the callbacks of one pass.
    const s = this.socket;
    const corkHere = !this.corked && !s.destroyed;
    if (corkHere) {
      this.corked = true;
      s.cork();
    }
    try {
      this.sealRecords(queued);
    } finally {
      if (corkHere) {
        this.corked = false;
        s.uncork();
      }
    }
  }

  private sealRecords(queued: QueuedRelay[]): void {
    let start = 0;
    while (start < queued.length) {
      // At least one: an entry changed since it was queued fails to seal below, which closes the link.
      const end = Math.max(start + 1, relayRecordEnd(queued, start));
      const record = queued.slice(start, end);
      start = end;
      const written = record.filter((e) => e.onWritten !== undefined);
      this.pendingWritten = written.length === 0 ? undefined : () => written.forEach((e) => e.onWritten!());
      try {
        this.driver.sendRelay(record);
      } catch (e) {
        // Nothing queued after a failed record may go out (the nonces would not match): close, and say why.
        if (!this.driver.isClosed) {
          this.driver.close(e instanceof PosternError ? e : new PosternError('POSTERN_INTERNAL', `relay record: ${String(e)}`));
        }
        return;
      } finally {
        this.pendingWritten = undefined;
      }
    }
  }

  close(error?: PosternError): void {
    this.driver.close(error);
  }

  private writeFrame(parts: Uint8Array[]): void {
    if (this.socket.destroyed) {
      // Never written: what waited for the write is released now.
      this.pendingWritten?.();
      return;
    }
    let len = 0;
    for (const p of parts) len += p.length;
    const s = this.socket;
    // Frames written in the same tick leave in one writev (one syscall), without waiting.
    if (!this.corked) {
      this.corked = true;
      s.cork();
      process.nextTick(() => {
        this.corked = false;
        s.uncork();
      });
    }
    // Header and small pieces in one buffer: fewer write requests, fewer iovecs.
    const out = coalesce([frameHeader(len), ...parts]);
    const written = this.pendingWritten;
    for (let i = 0; i < out.length - 1; i++) s.write(out[i]!);
    if (written === undefined) s.write(out[out.length - 1]!);
    else s.write(out[out.length - 1]!, written);
  }

  private teardown(err?: PosternError): void {
    if (this.ended) return;
    this.ended = true;
    // Relay messages that will never be written: let their owners free what they hold now.
    const unsent = this.relays;
    this.relays = [];
    this.relayBytes = 0;
    for (const e of unsent) e.onWritten?.();
    this.closeError = err;
    this.socket.destroy();
    // Its slab is freed now (unless a forwarded payload still holds it), not at some later collection.
    // Only after destroy(): the socket's handle is closed, so no read can land in the freed slab.
    this.slabs?.reader.dispose();
    this.o.onClose?.(err);
  }
}
