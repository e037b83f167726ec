/**
 * Snyk Broker as a reference path: its server (the SaaS side) and its client
 * (inside the customer's network, dialling out over a websocket) on loopback,
 * the client forwarding to a local HTTP target. It carries HTTP only: a
 * request to `http://127.0.0.1:PORT/broker/TOKEN/x` reaches the target as
 * `/x`. Used only when installed (`npm run bench:install-broker`, into
 * test/bench/snyk-broker/node_modules; it needs Node 24).
 *
 * Its package pins `setheader` 1.0.2 but an installed copy resolves 0.0.4,
 * which crashes on Node 24: the package.json here overrides it. Its npm
 * package lacks the `config.default.json` of its repository, which names
 * the classic (non-universal) request handlers: the one here is found from
 * the package's own directory upwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/processes.ts';

const HERE = join(import.meta.dirname, 'snyk-broker');
const CLI = join(HERE, 'node_modules', 'snyk-broker', 'dist', 'cli', 'index.js');

export function snykBrokerAvailable(): boolean {
  return existsSync(CLI);
}

export interface SnykBroker {
  /** The server's port: requests go to `${prefix}/path`. */
  port: number;
  prefix: string;
  pids(): Record<string, number>;
  close(): Promise<void>;
}

async function connected(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (r.status !== 200) return false;
    const body = (await r.json()) as { clients?: unknown[] };
    return (body.clients?.length ?? 0) > 0;
  } catch {
    return false;
  }
}

export async function startSnykBroker(originPort: number): Promise<SnykBroker> {
  // Its own working directory: the broker reads ./.env from there.
  const dir = mkdtempSync(join(tmpdir(), 'postern-snyk-broker-'));
  const token = randomUUID();
  const [serverPort, clientPort] = [await freePort(), await freePort()];
  const env = (extra: Record<string, string>): NodeJS.ProcessEnv => ({ PATH: process.env['PATH'], HOME: dir, NO_PROXY: '127.0.0.1,localhost', LOG_LEVEL: 'warn', ...extra });
  const children: ChildProcess[] = [];
  const run = (mode: 'server' | 'client', extra: Record<string, string>) => {
    const c = spawn(process.execPath, [CLI, mode], { cwd: dir, env: env(extra), stdio: 'ignore' });
    children.push(c);
    return c;
  };
  const close = async () => {
    const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of running) c.kill('SIGKILL');
    await Promise.all(running.map((c) => new Promise((r) => c.once('exit', r))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const server = run('server', { ACCEPT: join(HERE, 'accept-server.json'), PORT: String(serverPort) });
    const client = run('client', {
      BROKER_TOKEN: token,
      BROKER_SERVER_URL: `http://127.0.0.1:${serverPort}`,
      ACCEPT: join(HERE, 'accept-client.json'),
      ORIGIN: `http://127.0.0.1:${originPort}`,
      PORT: String(clientPort),
      PREFLIGHT_CHECKS_ENABLED: 'false',
      IPV6_CONNECTIVITY_CHECK_ENABLED: 'false',
    });
    // Ready once the server lists the client for the token.
    const end = Date.now() + 30_000;
    while (!(await connected(`http://127.0.0.1:${serverPort}/connection-status/${token}`))) {
      if (Date.now() > end) throw new Error('snyk-broker: the client did not connect within 30 s');
      if ([server, client].some((c) => c.exitCode !== null || c.signalCode !== null)) throw new Error('snyk-broker: a process exited while starting');
      await new Promise((r) => setTimeout(r, 100));
    }
    return {
      port: serverPort,
      prefix: `/broker/${token}`,
      pids: () => ({ 'broker server': server.pid!, 'broker client': client.pid! }),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
