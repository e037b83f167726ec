/**
 * StreamDuplex over an in-memory pair of mux sessions (frames cross on
 * setImmediate, like a network turn): accept, half-close, backpressure,
 * error codes, and that destroy() frees the stream on both sides.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { PosternError } from '../../../protocol/errors.ts';
import { RESET_REASON, type MuxStream } from '../../../protocol/mux/index.ts';
import { muxPair } from '../../helpers/mux-pair.ts';
import { readAll } from '../../helpers/servers.ts';
import { StreamDuplex } from '../../../agent/portal/stream-duplex.ts';

const tick = () => new Promise((r) => setImmediate(r));
const settle = async (n = 20) => {
  for (let i = 0; i < n; i++) await tick();
};

describe('StreamDuplex', () => {
  it('calls a write back only once its bytes are out of the writer buffer, also after waiting for credit', async () => {
    const got: Buffer[] = [];
    const { a } = muxPair({
      initialWindow: 64 * 1024,
      copy: 'end-of-turn',
      onOpen: (s) => {
        s.onData = (c) => {
          got.push(Buffer.from(c));
          setImmediate(() => s.consumed(c.length));
        };
        s.accept();
      },
    });
    const d = new StreamDuplex(a.open('bulk'));
    const buf = Buffer.alloc(300 * 1024, 0x5a);
    await new Promise<void>((resolve) => d.write(buf, () => (buf.fill(0), resolve())));
    await settle(200);
    const all = Buffer.concat(got);
    expect(all.length).toBe(buf.length);
    expect(all.every((x) => x === 0x5a)).toBe(true);
  });

  it('holds writes and the half-close until the outlet accepts, then delivers both', async () => {
    let remote!: MuxStream;
    const received: Uint8Array[] = [];
    let remoteEnded = false;
    const { a } = muxPair({
      onOpen: (s) => {
        remote = s;
        s.onData = (c) => received.push(c.slice());
        s.onEnd = () => (remoteEnded = true);
      },
    });
    const d = new StreamDuplex(a.open('echo'));
    expect(d.connecting).toBe(true);
    d.end('hello before accept');
    await settle();
    expect(received).toEqual([]);
    expect(remoteEnded).toBe(false);
    let connected = false;
    d.once('connect', () => (connected = true));
    remote.accept();
    await settle();
    expect(connected).toBe(true);
    expect(Buffer.concat(received).toString()).toBe('hello before accept');
    expect(remoteEnded).toBe(true);
    // And the other way: data then FIN close the stream on both sides.
    const body = readAll(d);
    remote.write(new TextEncoder().encode('and back'));
    remote.end();
    expect((await body).toString()).toBe('and back');
    await settle();
    expect(a.streamCount).toBe(0);
  });

  it('grants credit only as the reader takes bytes: a stalled reader holds at most one window', async () => {
    const total = 8 * 1024 * 1024;
    let sent = 0;
    const hash = createHash('sha256');
    const { a } = muxPair({
      onOpen: (s) => {
        s.accept();
        const pump = () => {
          while (sent < total) {
            const chunk = Buffer.alloc(Math.min(65_000, total - sent), sent & 0xff);
            const n = s.write(chunk);
            hash.update(chunk.subarray(0, n));
            sent += n;
            if (n < chunk.length) return;
          }
          s.end();
        };
        s.onCredit = pump;
        pump();
      },
    });
    const d = new StreamDuplex(a.open('bulk'));
    d.pause();
    await settle(200);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThanOrEqual(a.initialWindow);
    const got = createHash('sha256');
    let bytes = 0;
    d.on('data', (c: Buffer) => {
      bytes += c.length;
      got.update(c);
    });
    d.resume();
    await new Promise((r) => d.once('end', r));
    expect(bytes).toBe(total);
    expect(got.digest('hex')).toBe(hash.digest('hex'));
  });

  it('turns a reset from the outlet into its stable code', async () => {
    const { a } = muxPair({ onOpen: (s) => s.reset(RESET_REASON.OUTLET_UNKNOWN, 'no outlet named nope') });
    const d = new StreamDuplex(a.open('nope'));
    const err = await new Promise<PosternError>((r) => d.once('error', r));
    expect(err.code).toBe('POSTERN_OUTLET_UNKNOWN');
    expect(err.message).toBe('no outlet named nope');
    expect(a.streamCount).toBe(0);
  });

  it('reports the channel\'s reason when the session closes under it', async () => {
    const { a } = muxPair({ onOpen: (s) => s.accept() });
    const reason = new PosternError('POSTERN_PEER_GONE', 'the other node disconnected from the hub');
    const d = new StreamDuplex(a.open('x'), { closedError: () => reason });
    await new Promise((r) => d.once('connect', r));
    a.close(reason.message);
    const err = await new Promise<Error>((r) => d.once('error', r));
    expect(err).toBe(reason);
  });

  it('frees the stream on both sides on destroy(), without an error of its own', async () => {
    let remote!: MuxStream;
    let remoteReason = -1;
    const { a, b } = muxPair({
      onOpen: (s) => {
        remote = s;
        s.onReset = (reason) => (remoteReason = reason);
        s.accept();
      },
    });
    const d = new StreamDuplex(a.open('x'));
    await new Promise((r) => d.once('connect', r));
    d.write('some bytes');
    const errors: Error[] = [];
    d.on('error', (e) => errors.push(e));
    expect(a.streamCount).toBe(1);
    d.destroy();
    expect(a.streamCount).toBe(0);
    await settle();
    expect(remote.closed).toBe(true);
    expect(remoteReason).toBe(RESET_REASON.CANCELLED);
    expect(b.streamCount).toBe(0);
    expect(errors).toEqual([]);
  });

  it('emits timeout after the idle time, like net.Socket', async () => {
    const { a } = muxPair({ onOpen: (s) => s.accept() });
    const d = new StreamDuplex(a.open('x'));
    const t0 = Date.now();
    await new Promise<void>((r) => d.setTimeout(50, () => r()));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    d.destroy();
  });
});
