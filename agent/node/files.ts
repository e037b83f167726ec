/**
 * Files in a state directory. Secrets are written 0600 through a temporary
 * file and a rename, so a crash never leaves a half-written secret.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PosternError } from '../../protocol/errors.ts';

/** `POSTERN_HOME`, else `~/.postern`. */
export function posternHome(env: NodeJS.ProcessEnv = process.env): string {
  const h = env['POSTERN_HOME'];
  return h !== undefined && h !== '' ? h : join(homedir(), '.postern');
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function writeSecretFile(path: string, data: string | Uint8Array): void {
  ensureDir(dirname(path));
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function writeJsonFile(path: string, value: unknown): void {
  writeSecretFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJsonFile<T>(path: string, what: string): T | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new PosternError('POSTERN_STATE_CORRUPT', `cannot read ${what} at ${path}: ${e instanceof Error ? e.message : String(e)}`, 'restore the file from a backup or delete the node and enroll again');
  }
}
