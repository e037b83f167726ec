/** Loopback targets for tests: HTTP services, a TCP echo, a bulk sender, a recording proxy, and a reader of whole streams. */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer, type Server } from 'node:net';
import { createHash } from 'node:crypto';
import { listen } from './processes.ts';

export async function httpService(name: string): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ service: name, method: req.method, url: req.url, body }));
    });
  });
  const port = await listen(server as unknown as Server);
  return { server, port };
}

export async function echoService(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  return { server, port: await listen(server) };
}

/** Deterministic pseudo-random bytes: block i = sha256 chain, repeated into 64 KiB chunks. */
export function bulkChunk(seed: number): Buffer {
  const out = Buffer.allocUnsafe(65536);
  let h = createHash('sha256').update(String(seed)).digest();
  for (let o = 0; o < out.length; o += 32) {
    h.copy(out, o);
    h = createHash('sha256').update(h).digest();
  }
  return out;
}

/** On connect, sends `bytes` bytes then closes; reports the sha256 of what it sent. */
export async function bulkService(bytes: number): Promise<{ server: Server; port: number; sentHash: Promise<string> }> {
  let resolveHash!: (h: string) => void;
  const sentHash = new Promise<string>((r) => (resolveHash = r));
  const server = createServer((s) => {
    s.on('error', () => {});
    const hash = createHash('sha256');
    let sent = 0;
    let i = 0;
    const pump = () => {
      while (sent < bytes) {
        const c = bulkChunk(i++);
        const piece = c.subarray(0, Math.min(c.length, bytes - sent));
        hash.update(piece);
        sent += piece.length;
        if (!s.write(piece)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
      resolveHash(hash.digest('hex'));
    };
    pump();
  });
  return { server, port: await listen(server), sentHash };
}

/**
 * A TCP proxy in front of the hub that scans every byte crossing it for a
 * marker (streaming, with overlap, so nothing is stored).
 */
export async function scanningProxy(targetPort: number, marker: Buffer): Promise<{ server: Server; port: number; seen: () => boolean; bytes: () => number }> {
  let seen = false;
  let total = 0;
  const scan = () => {
    let tail = Buffer.alloc(0);
    return (d: Buffer) => {
      total += d.length;
      const b = Buffer.concat([tail, d]);
      if (b.includes(marker)) seen = true;
      tail = b.subarray(Math.max(0, b.length - marker.length + 1));
    };
  };
  const server = proxy(targetPort, () => ({ up: scan(), down: scan() }));
  return { server, port: await listen(server), seen: () => seen, bytes: () => total };
}

/**
 * A TCP proxy to `targetPort` on loopback. For each connection, `hooks`
 * gives what sees every chunk going up (to the target) and down, before it
 * is passed on: a hook may change the chunk in place.
 */
function proxy(targetPort: number, hooks: () => { up: (d: Buffer) => void; down: (d: Buffer) => void }): Server {
  return createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const { up, down } = hooks();
    // Listening before piping: a hook runs before the chunk is written on.
    client.on('data', up);
    upstream.on('data', down);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
}

type RecordKind = 'transport' | 'authenticated';
type RecordCounts = Record<RecordKind, number>;

/**
 * A TCP proxy in front of the hub that follows the link framing (u32 length
 * ‖ body) both ways, counts relay records by kind, and, when armed, flips
 * the last byte of the next node → hub record of the chosen kind: a
 * transport record (payloads the link does not authenticate) or an
 * authenticated one. An attacker on the path, without any key.
 */
export async function tamperingProxy(targetPort: number): Promise<{
  server: Server;
  port: number;
  /** Flip the last byte of the next node → hub record of this kind whose frame is at least `minBytes` long. */
  arm: (kind: RecordKind, minBytes?: number) => void;
  flipped: () => number;
  records: () => { up: RecordCounts; down: RecordCounts };
}> {
  let armed: RecordKind | undefined;
  let armedMin = 0;
  let flipped = 0;
  const counts = { up: { transport: 0, authenticated: 0 }, down: { transport: 0, authenticated: 0 } };
  /** Follows one direction's frames; the first `handshake` frames are handshake messages (no kind). */
  const follower = (handshake: number, count: RecordCounts, tamper: boolean) => {
    let frames = 0;
    const header = Buffer.alloc(4);
    let headerGot = 0;
    let left = 0;
    let first = false;
    let kind: RecordKind | undefined;
    let size = 0;
    return (d: Buffer) => {
      let o = 0;
      while (o < d.length) {
        if (left === 0) {
          header[headerGot++] = d[o++]!;
          if (headerGot === 4) {
            headerGot = 0;
            left = header.readUInt32BE(0);
            size = left;
            first = true;
          }
          continue;
        }
        if (first) {
          first = false;
          const b = d[o]!;
          kind = frames < handshake || (b & 0x80) === 0 ? undefined : (b & 0x40) !== 0 ? 'transport' : 'authenticated';
          if (kind !== undefined) count[kind]++;
        }
        const k = Math.min(left, d.length - o);
        o += k;
        left -= k;
        if (left === 0) {
          frames++;
          if (tamper && armed !== undefined && kind === armed && size >= armedMin) {
            d[o - 1]! ^= 1;
            armed = undefined;
            flipped++;
          }
        }
      }
    };
  };
  // Up: handshake messages 1 and 3; down: message 2.
  const server = proxy(targetPort, () => ({ up: follower(2, counts.up, true), down: follower(1, counts.down, false) }));
  return {
    server,
    port: await listen(server),
    arm: (k, minBytes = 0) => {
      armed = k;
      armedMin = minBytes;
    },
    flipped: () => flipped,
    records: () => ({ up: { ...counts.up }, down: { ...counts.down } }),
  };
}

/** Everything a readable stream (socket, duplex) delivers until its end. */
export function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    s.on('data', (c: Buffer) => got.push(c));
    s.on('end', () => resolve(Buffer.concat(got)));
    s.on('error', reject);
  });
}
