/** The hub's directory: hub.json (project record), vault.json (keys, 0600), hub.db (store). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { readJsonFile } from '../../agent/node/files.ts';

export interface HubFile {
  version: 1;
  project: string;
  name: string;
  listen: string;
  /** The address nodes dial (put in tickets); defaults to `listen`. */
  publicAddress?: string;
  createdAt: number;
}

export function hubPaths(dir: string) {
  return { dir, hub: join(dir, 'hub.json'), vault: join(dir, 'vault.json'), db: join(dir, 'hub.db'), log: join(dir, 'hub.log') };
}

export function readHubFile(dir: string): HubFile {
  const p = hubPaths(dir);
  if (!existsSync(p.hub)) {
    throw new PosternError('POSTERN_HUB_NOT_INITIALIZED', `no hub in ${dir}`, 'run `postern hub init --dir DIR` first');
  }
  return readJsonFile<HubFile>(p.hub, 'hub record')!;
}
