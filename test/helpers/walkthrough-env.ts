/**
 * A running project for integration tests: a hub process, the vendor node
 * and customer nodes created with the CLI, each in its own POSTERN_HOME.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { cli, cliOk, freePort, postern, type LongRunning } from './processes.ts';
import { controlRequest } from '../../agent/control/client.ts';
import { nodePaths } from '../../agent/node/state.ts';

export class Project {
  readonly root = mkdtempSync(join(tmpdir(), 'postern-it-'));
  hub!: LongRunning;
  hubPort = 0;
  readonly homes = new Map<string, string>();
  readonly extraEnv: NodeJS.ProcessEnv;
  private hubArgs: string[] = [];

  constructor(extraEnv: NodeJS.ProcessEnv = {}) {
    this.extraEnv = extraEnv;
  }

  env(who: string): NodeJS.ProcessEnv {
    if (!this.homes.has(who)) this.homes.set(who, join(this.root, who));
    return { ...this.extraEnv, POSTERN_HOME: this.homes.get(who)! };
  }

  /** `front`: something listening in front of the hub (a proxy to hubPort); tickets then name its port. */
  async startHub(extra: string[] = [], front?: (hubPort: number) => Promise<number>): Promise<void> {
    this.hubPort = await freePort();
    const advertised = front === undefined ? this.hubPort : await front(this.hubPort);
    await cliOk(['hub', 'init', '--dir', join(this.root, 'hub'), '--listen', `127.0.0.1:${advertised}`], this.env('vendor'));
    this.hubArgs = front === undefined ? extra : [...extra, '--listen', `127.0.0.1:${this.hubPort}`];
    await this.restartHub();
  }

  async restartHub(): Promise<void> {
    this.hub = postern(['hub', 'start', '--dir', join(this.root, 'hub'), ...this.hubArgs], this.env('vendor'));
    await this.hub.waitFor(/listening on/);
  }

  async ticket(args: string[]): Promise<string> {
    return (await cliOk(['ticket', 'create', ...args], this.env('vendor'))).trim();
  }

  /** Enroll a node named `name` on machine `who` with a ticket, relay and outlets. */
  async node(who: string, name: string, ticketArgs: string[], outlets: Record<string, string> = {}, allow?: string): Promise<void> {
    const t = await this.ticket(ticketArgs);
    const relay = ticketArgs[ticketArgs.indexOf('--relay') + 1];
    const yaml = [
      ...(ticketArgs.includes('--relay') ? [`relay: ${relay}`] : []),
      ...(Object.keys(outlets).length > 0
        ? ['tcp-outlet:', ...Object.entries(outlets).flatMap(([n, to]) => [`  - from: ${n}`, `    to: ${to}`, ...(allow ? [`    allow: ${allow}`] : [])])]
        : []),
      '',
    ].join('\n');
    const file = join(this.root, `${who}-${name}.yaml`);
    writeFileSync(file, yaml);
    await cliOk(['node', 'create', file, '--enrollment-ticket', t, '--name', name], this.env(who));
  }

  control(who: string, name: string, op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    return controlRequest(nodePaths(name, this.homes.get(who)).control, op, args);
  }

  async inlet(who: string, name: string, via: string, to: string): Promise<number> {
    const r = (await this.control(who, name, 'create-inlet', { from: '127.0.0.1:0', via, to })) as { from: string };
    return Number(r.from.split(':').pop());
  }

  pid(who: string, name: string): number {
    return Number(readFileSync(nodePaths(name, this.homes.get(who)).pid, 'utf8'));
  }

  log(who: string, name: string): string {
    return readFileSync(nodePaths(name, this.homes.get(who)).log, 'utf8');
  }

  async close(): Promise<void> {
    for (const who of this.homes.keys()) await cli(['node', 'delete', '--all'], this.env(who)).catch(() => {});
    await this.hub?.stop();
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** Send `data`, half-close, read until the peer closes. */
export function roundTrip(port: number, data: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('round trip timed out'));
    }, timeoutMs);
    s.on('data', (d: Buffer) => (got += d.toString()));
    s.on('connect', () => s.end(data));
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
    s.on('error', () => {});
  });
}

/** A connection to an echo service that stays open: one byte echoed, then `closed` says when it ends. */
export function openLong(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now())));
    socket.once('data', () => resolve({ socket, closed }));
    socket.on('connect', () => socket.write('x'));
    setTimeout(() => reject(new Error('no echo')), 10_000).unref();
  });
}

/** Retry `fn` until it returns true, bounded in time. */
export async function eventually(fn: () => Promise<boolean>, timeoutMs: number, stepMs = 200): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await fn().catch(() => false)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
