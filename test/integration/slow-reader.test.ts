/**
 * A slow reader behind an outlet while a fast writer pushes through an
 * inlet: nothing may buffer without bound. While the target reads nothing,
 * the writer can only get the stream window plus socket buffers into the
 * path; each process's resident memory stays within a stated bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { listen } from '../helpers/processes.ts';
import { Project } from '../helpers/walkthrough-env.ts';

const STALL_MS = 4000;
/** Window (4 MiB) + kernel socket buffers on four sockets; generous. */
const MAX_IN_FLIGHT = 48 * 1024 * 1024;
const MAX_RSS_GROWTH = 96 * 1024 * 1024;

let p: Project;
let target: { sockets: Socket[]; close: () => void; port: number };

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

beforeAll(async () => {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    s.pause(); // the slow reader: reads nothing until told
    sockets.push(s);
    s.on('error', () => {});
  });
  target = { sockets, port: await listen(server), close: () => server.close() };
  p = new Project();
  await p.startHub();
  await p.node('vendor', 'vendor', ['--attribute', 'vendor', '--relay', 'vendor-relay']);
  await p.node('acme', 'acme', ['--relay', 'acme-relay'], { sink: `127.0.0.1:${target.port}` }, 'vendor');
}, 120_000);

afterAll(async () => {
  await p?.close();
  target?.close();
});

describe('slow reader', () => {
  it(`keeps every process bounded while the target stalls for ${STALL_MS / 1000} s`, async () => {
    const port = await p.inlet('vendor', 'vendor', 'acme-relay', 'sink');
    const pids = { hub: p.hub.child.pid!, vendor: p.pid('vendor', 'vendor'), acme: p.pid('acme', 'acme') };
    const before = Object.fromEntries(Object.entries(pids).map(([k, v]) => [k, rss(v)]));
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    let accepted = 0;
    const writer = connect(port, '127.0.0.1');
    writer.on('error', () => {});
    await new Promise<void>((resolve) => writer.on('connect', () => resolve()));
    const start = Date.now();
    // Push up to 1 GiB; the writer only hands bytes on while the kernel takes them.
    await new Promise<void>((resolve) => {
      const pump = () => {
        while (accepted < 1024 ** 3 && Date.now() - start < STALL_MS) {
          accepted += chunk.length;
          if (!writer.write(chunk)) {
            const t = setTimeout(resolve, STALL_MS - (Date.now() - start));
            writer.once('drain', () => {
              clearTimeout(t);
              pump();
            });
            return;
          }
        }
        resolve();
      };
      pump();
    });
    const inFlight = accepted - writer.writableLength;
    const growth = Object.fromEntries(Object.entries(pids).map(([k, v]) => [k, rss(v) - before[k]!]));
    console.log(`slow reader: ${(inFlight / 2 ** 20).toFixed(1)} MiB entered the path in ${STALL_MS} ms; RSS growth MiB`, Object.fromEntries(Object.entries(growth).map(([k, v]) => [k, (v / 2 ** 20).toFixed(1)])));
    expect(inFlight).toBeLessThan(MAX_IN_FLIGHT);
    for (const [k, g] of Object.entries(growth)) expect(g, k).toBeLessThan(MAX_RSS_GROWTH);
    // Now the reader drains: everything that entered arrives.
    let received = 0;
    const s = target.sockets[0]!;
    s.on('data', (d: Buffer) => (received += d.length));
    s.resume();
    writer.end();
    await new Promise<void>((resolve) => s.on('end', () => resolve()));
    expect(received).toBe(accepted);
  }, 60_000);
});
