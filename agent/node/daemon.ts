/**
 * Running a node in the background: the parent spawns `… node run NAME`
 * detached with its output in the node's log, and waits on an IPC channel
 * until the child says it enrolled and applied its config, or why it could not.
 */
import { spawn } from 'node:child_process';
import { isSea } from 'node:sea';
import { existsSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { PosternError } from '../../protocol/errors.ts';
import { writeSecretFile } from './files.ts';
import type { NodePaths } from './state.ts';

export interface ReadyMessage {
  ready?: boolean;
  error?: { code: string; message: string; hint?: string };
  status?: unknown;
}

export function pendingTicketPath(p: NodePaths): string {
  return `${p.dir}/enrollment.ticket`;
}

export function stashTicket(p: NodePaths, ticket: string): void {
  writeSecretFile(pendingTicketPath(p), ticket);
}

export function takeStashedTicket(p: NodePaths): string | undefined {
  const f = pendingTicketPath(p);
  return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
}

export function dropStashedTicket(p: NodePaths): void {
  const f = pendingTicketPath(p);
  if (existsSync(f)) unlinkSync(f);
}

/** The command line that re-enters this CLI (works from a checkout and from a single binary). */
export function selfCommand(): { cmd: string; args: string[] } {
  // `process.isSea` does not exist; node:sea's isSea() is the check (Node's single-executable docs).
  if (isSea()) return { cmd: process.execPath, args: [] };
  return { cmd: process.execPath, args: [...process.execArgv, process.argv[1]!] };
}

export function spawnNode(p: NodePaths, name: string, timeoutMs = 60_000): Promise<ReadyMessage> {
  const log = openSync(p.log, 'a', 0o600);
  const self = selfCommand();
  const child = spawn(self.cmd, [...self.args, 'node', 'run', name], {
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
    env: process.env,
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new PosternError('POSTERN_NODE_TIMEOUT', `node ${name} did not become ready within ${timeoutMs / 1000} s`, `see ${p.log}`));
    }, timeoutMs);
    child.once('message', (m: ReadyMessage) => {
      clearTimeout(timer);
      child.disconnect();
      child.unref();
      if (m.ready) resolve(m);
      else {
        child.kill('SIGTERM');
        reject(new PosternError(m.error?.code ?? 'POSTERN_NODE_FAILED', m.error?.message ?? `node ${name} failed`, m.error?.hint));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new PosternError('POSTERN_NODE_FAILED', `node ${name} exited (${code}) before it was ready`, `see ${p.log}`));
    });
  });
}
