/**
 * pipeSocketStream between real loopback sockets and an in-memory pair of
 * mux sessions (test/helpers/mux-pair.ts): every
 * byte arrives once and in order whatever the write sizes, through the
 * smallest window, before and after the outlet accepts, with half-close.
 */
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { DEFAULT_MAX_FRAME_PAYLOAD, DEFAULT_INITIAL_WINDOW, EARLY_WINDOW } from '../../../protocol/mux/index.ts';
import { muxPair } from '../../helpers/mux-pair.ts';
import { readAll } from '../../helpers/servers.ts';
import { pipeSocketStream } from '../../../agent/portal/pipe.ts';

/** A connected pair of loopback sockets. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const port = (server.address() as { port: number }).port;
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const s = await accepted;
  server.close();
  return [client, s];
}

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Write `data` in pieces of the given sizes, then end. */
async function writeInPieces(s: Socket, data: Buffer, sizes: number[]): Promise<void> {
  let o = 0;
  for (let i = 0; o < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    if (!s.write(data.subarray(o, o + n))) await new Promise((r) => s.once('drain', r));
    o += n;
  }
  s.end();
}

const F = DEFAULT_MAX_FRAME_PAYLOAD;
const SMALLEST = EARLY_WINDOW;
const DEFAULT = DEFAULT_INITIAL_WINDOW;

describe('pipeSocketStream', () => {
  for (const [name, sizes, copy, window] of [
    ['large writes', [256 * 1024], 'now', SMALLEST],
    ['odd sizes around a frame', [F + 1, 1, F - 1, 2 * F, 7], 'now', SMALLEST],
    ['small writes', [100, 3000, 17], 'now', SMALLEST],
    // Frames kept as views until the end of the turn, as the portal channel does: the reads are freed only after.
    ['large writes, frames sealed at the end of the turn', [256 * 1024], 'end-of-turn', SMALLEST],
    ['odd sizes, frames sealed at the end of the turn', [F + 1, 1, F - 1, 2 * F, 7], 'end-of-turn', SMALLEST],
    // With the default window: frames up to the largest DATA frame.
    ['large writes, default window', [1024 * 1024], 'end-of-turn', DEFAULT],
    ['odd sizes, default window', [F + 1, 1, F - 1, 2 * F, 7], 'end-of-turn', DEFAULT],
  ] as const) {
    it(`carries 3 MiB through ${window === SMALLEST ? 'the smallest' : 'the default'} window (${name}) intact, then the half-close`, async () => {
      const data = randomBytes(3 * 1024 * 1024);
      const [vendorClient, inletSide] = await socketPair();
      const [outletSide, target] = await socketPair();
      const { a, frames } = muxPair({
        copy,
        initialWindow: window,
        onOpen: (r) => {
          // The outlet accepts a little later, as after a real connect: early data waits for it.
          setTimeout(() => {
            pipeSocketStream(outletSide, r);
            r.accept();
          }, 20);
        },
      });
      // What the pipe reads, to check below that every large read was freed once sent.
      const reads: Buffer[] = [];
      inletSide.on('data', (c: Buffer) => reads.push(c));
      pipeSocketStream(inletSide, a.open('github'));
      const received = readAll(target);
      const answered = readAll(vendorClient);
      await writeInPieces(vendorClient, data, [...sizes]);
      const got = await received;
      expect(got.length).toBe(data.length);
      expect(digest(got)).toBe(digest(data));
      // Reads of 16 KiB and more are freed by hand (detached), including those split across frames.
      const large = reads.filter((c) => c.length >= 16 * 1024);
      expect(large.filter((c) => c.buffer.byteLength !== 0)).toEqual([]);
      // The other direction still works after the half-close, and ends too.
      target.end('done');
      expect((await answered).toString()).toBe('done');
      // No frame exceeds one maximal DATA frame plus its header, whatever was written.
      expect(Math.max(...frames)).toBeLessThanOrEqual(Math.min(F, window) + 9);
      for (const s of [vendorClient, inletSide, outletSide, target]) s.destroy();
    }, 20_000);
  }
});
