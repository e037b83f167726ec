/** Measurements for the portal bench: bulk throughput, HTTP latency and rate, connect → first byte. */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import type { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { listen } from '../helpers/processes.ts';

const CHUNK = Buffer.alloc(256 * 1024, 0x61);

/** Write `bytes` bytes as fast as the socket takes them, then end it. */
function sendBytes(s: Writable, bytes: number): void {
  let left = bytes;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!s.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
}

/** A target that sends `bytes` on connect ("down") or swallows what it gets and answers its count ("up"). */
export async function bulkTarget(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => {});
    s.once('data', (first: Buffer) => {
      const cmd = first.toString('latin1', 0, 1);
      if (cmd === 'D') {
        sendBytes(s, Number(first.toString('latin1', 1).trim()));
      } else {
        let got = first.length - 1;
        s.on('data', (d: Buffer) => (got += d.length));
        s.on('end', () => s.end(String(got)));
      }
    });
  });
  return { server, port: await listen(server) };
}

export async function bulkDown(port: number, bytes: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = 0;
    s.on('connect', () => s.write(`D${bytes}\n`));
    s.on('data', (d: Buffer) => (got += d.length));
    s.on('end', () => (got === bytes ? resolve() : reject(new Error(`got ${got} of ${bytes}`))));
    s.on('error', reject);
  });
  return bytes / ((performance.now() - t0) / 1000);
}

export async function bulkUp(port: number, bytes: number): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let answer = '';
    s.on('connect', () => {
      s.write('U');
      sendBytes(s, bytes);
    });
    s.on('data', (d: Buffer) => (answer += d.toString()));
    s.on('end', () => (Number(answer) === bytes ? resolve() : reject(new Error(`target got ${answer} of ${bytes}`))));
    s.on('error', reject);
  });
  return bytes / ((performance.now() - t0) / 1000);
}

/** An HTTP GET of `bytes` from the HTTP target's /bulk (bytes/s). */
export async function httpBulkDown(port: number, prefix: string, bytes: number): Promise<number> {
  const t0 = performance.now();
  const r = await request(`http://127.0.0.1:${port}${prefix}/bulk?n=${bytes}`);
  let got = 0;
  for await (const c of r.body) got += (c as Buffer).length;
  if (r.statusCode !== 200 || got !== bytes) throw new Error(`HTTP ${r.statusCode}: got ${got} of ${bytes}`);
  return bytes / ((performance.now() - t0) / 1000);
}

/** An HTTP POST of `bytes` to the HTTP target, which answers the count it got (bytes/s). */
export async function httpBulkUp(port: number, prefix: string, bytes: number): Promise<number> {
  const body = Buffer.alloc(bytes, 0x61);
  const t0 = performance.now();
  const r = await request(`http://127.0.0.1:${port}${prefix}/upload`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes) },
  });
  const answer = await r.body.text();
  if (r.statusCode !== 200 || Number(answer) !== bytes) throw new Error(`HTTP ${r.statusCode}: target got ${answer} of ${bytes}`);
  return bytes / ((performance.now() - t0) / 1000);
}

/**
 * An HTTP target: 1 KiB for any GET; `GET /bulk?n=N` streams N bytes; a POST
 * is read to its end and answered with its byte count.
 */
export async function httpTarget(): Promise<{ server: Server; port: number }> {
  const body = Buffer.alloc(1024, 0x62);
  const server = createHttpServer((req, res) => {
    if (req.method === 'POST') {
      let got = 0;
      req.on('data', (d: Buffer) => (got += d.length));
      req.on('end', () => res.end(String(got)));
      return;
    }
    const bulk = /^\/bulk\?n=(\d+)$/.exec(req.url ?? '');
    if (bulk) {
      const n = Number(bulk[1]);
      res.setHeader('content-length', n);
      sendBytes(res, n);
      return;
    }
    res.setHeader('content-length', body.length);
    res.end(body);
  });
  return { server: server as unknown as Server, port: await listen(server as unknown as Server) };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** Requests over `concurrency` keep-alive connections, bounded by count and time. */
export async function httpLoad(port: number, concurrency: number, maxRequests: number, maxMs: number, path = '/'): Promise<{ rps: number; p50: number; p99: number }> {
  const agent = new Agent({ connections: concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const lat: number[] = [];
  const start = performance.now();
  let issued = 0;
  const worker = async () => {
    while (issued < maxRequests && performance.now() - start < maxMs) {
      issued++;
      const t = performance.now();
      const r = await request(`http://127.0.0.1:${port}${path}`, { dispatcher: agent });
      await r.body.arrayBuffer();
      if (r.statusCode !== 200) throw new Error(`HTTP ${r.statusCode} from ${path}`);
      lat.push((performance.now() - t) * 1000);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await agent.close();
  }
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { rps: lat.length / secs, p50: pct(lat, 50), p99: pct(lat, 99) };
}

/** New TCP connection → first byte of an HTTP answer, p50 over `n` connections (µs). */
export async function connectToFirstByte(port: number, n: number, path = '/'): Promise<number> {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => s.write(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`));
      s.once('data', () => {
        lat.push((performance.now() - t) * 1000);
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
  }
  lat.sort((a, b) => a - b);
  return pct(lat, 50);
}

/** Clock ticks per second of /proc/PID/stat's times (USER_HZ, 100 on Linux). */
const CLK_TCK = 100;

/** utime + stime of a process (all its threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may itself hold spaces and parentheses.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Resident and peak resident memory of a process, in bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export interface BenchRow {
  scenario: string;
  metric: string;
  value: number;
  unit: string;
}

/**
 * Print rows with their ratio to the `direct` scenario and to `ssh -L`
 * (default cipher) of the same run, where those were measured; `--json FILE` writes them.
 */
export function report(rows: BenchRow[], jsonFile?: string): void {
  const ref = (scenario: string, metric: string) => rows.find((r) => r.scenario === scenario && r.metric === metric)?.value;
  const ratio = (r: BenchRow, scenario: string) => {
    const d = ref(scenario, r.metric);
    return d && r.scenario !== scenario ? `${(r.value / d).toFixed(2)}×` : '';
  };
  const lines = [['scenario', 'metric', 'value', 'unit', 'vs direct', 'vs ssh -L']];
  for (const r of rows) {
    lines.push([r.scenario, r.metric, r.value >= 100 ? r.value.toFixed(0) : r.value.toFixed(2), r.unit, ratio(r, 'direct'), ratio(r, 'ssh -L')]);
  }
  const w = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((v, i) => (i === 2 ? v.padStart(w[i]!) : v.padEnd(w[i]!))).join('  ').trimEnd());
  if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(rows, null, 2)}\n`);
}
