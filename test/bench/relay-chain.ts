/**
 * A floor for the Postern path: the same number of Node processes between
 * client and target (three), each a plain `pipe()` relay with no framing,
 * no crypto and no multiplexing. What Postern costs above this is its own;
 * what this costs above `ssh -L` is three Node processes on these cores.
 *
 *   node relay-chain.ts TARGET_PORT   (one relay; prints its port)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface RelayChain {
  port: number;
  pids: number[];
  close(): void;
}

export async function startRelayChain(target: number, length = 3): Promise<RelayChain> {
  const kids: ChildProcess[] = [];
  let port = target;
  try {
    for (let i = 0; i < length; i++) {
      const c = spawn(process.execPath, [fileURLToPath(import.meta.url), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
      kids.push(c);
      port = await new Promise<number>((resolve, reject) => {
        c.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        c.once('exit', (code) => reject(new Error(`relay exited (${code})`)));
      });
    }
  } catch (e) {
    for (const k of kids) k.kill();
    throw e;
  }
  return { port, pids: kids.map((k) => k.pid!), close: () => kids.forEach((k) => k.kill()) };
}

function relay(target: number): void {
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    const upstream = connect({ port: target, host: '127.0.0.1', allowHalfOpen: true, noDelay: true });
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) relay(Number(process.argv[2]));
