/**
 * `postern hub init`: create the hub's directory (identities, project id,
 * store) and make the local CLI identity the project's administrator.
 */
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { ensureDir, posternHome, writeJsonFile } from '../../agent/node/files.ts';
import { FileVault } from '../../agent/node/file-vault.ts';
import { loadOrCreateIdentity } from '../../agent/node/identity.ts';
import { formatHostPort } from '../../agent/config/index.ts';
import { openSqliteStore } from './store/index.ts';
import { Authority } from './authority/index.ts';
import { hubPaths, type HubFile } from './project.ts';
import { parseListen } from './server.ts';
import { saveAdminProject, cliIdentity } from '../admin/project.ts';

export interface HubInitOptions {
  dir: string;
  listen?: string;
  /** HOST:PORT that nodes dial, when it differs from the listen address (NAT, load balancer). */
  publicAddress?: string;
  name?: string;
  home?: string;
}

export interface HubInitResult {
  project: string;
  hubIdentifier: string;
  authorityIdentifier: string;
  adminIdentifier: string;
  listen: string;
  publicAddress: string;
}

export function initHub(o: HubInitOptions): HubInitResult {
  const p = hubPaths(o.dir);
  if (existsSync(p.hub)) {
    throw new PosternError('POSTERN_HUB_EXISTS', `a hub already exists in ${o.dir}`, 'use another --dir, or `postern hub start --dir` to run it');
  }
  const listen = parseListen(o.listen ?? '127.0.0.1:4000');
  const publicAddress = formatHostPort(parseListen(o.publicAddress ?? formatHostPort(listen)));
  if (/^(0\.0\.0\.0|::)$/.test(parseListen(publicAddress).host)) {
    throw new PosternError('POSTERN_BAD_ADDRESS', `nodes cannot dial ${publicAddress}`, 'pass --public-address HOST:PORT, the address nodes reach the hub at');
  }
  ensureDir(o.dir);
  const vault = FileVault.open(p.vault);
  const hubId = loadOrCreateIdentity(vault);
  vault.generate('ed25519', 'authority');
  const project = `P${randomBytes(8).toString('hex')}`;
  const store = openSqliteStore(p.db);
  try {
    const file: HubFile = { version: 1, project, name: o.name ?? 'hub', listen: formatHostPort(listen), publicAddress, createdAt: Math.floor(Date.now() / 1000) };
    writeJsonFile(p.hub, file);
    store.setMeta('project', project);
    const authority = new Authority({
      store,
      vault,
      project,
      hubPublicKey: hubId.publicKey,
      routes: [`tcp:${publicAddress}`],
      credentialTtl: 3600,
      now: () => Math.floor(Date.now() / 1000),
    });
    const home = o.home ?? posternHome();
    const admin = cliIdentity(home);
    const { credential } = authority.bootstrapAdmin(admin.identifier);
    saveAdminProject(home, {
      project,
      routes: [`tcp:${publicAddress}`],
      hubIdentifier: hubId.identifier,
      authorityPublicKey: authority.publicKey,
      hubDir: o.dir,
      credential,
    });
    return {
      project,
      hubIdentifier: hubId.identifier,
      authorityIdentifier: authority.identifier,
      adminIdentifier: admin.identifier,
      listen: formatHostPort(listen),
      publicAddress,
    };
  } finally {
    store.close();
  }
}

export function defaultHubDir(home = posternHome()): string {
  return join(home, 'hub');
}
