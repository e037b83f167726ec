/**
 * The administrator's side on the vendor's machine: the CLI identity
 * (POSTERN_HOME/identity) and the project it administers
 * (POSTERN_HOME/project.json, credential 0600).
 */
import { join } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { verifyCredential } from '../../protocol/credential/credential.ts';
import { ensureDir, readJsonFile, writeJsonFile, writeSecretFile } from '../../agent/node/files.ts';
import { FileVault } from '../../agent/node/file-vault.ts';
import { loadOrCreateIdentity, type NodeIdentity } from '../../agent/node/identity.ts';
import { HubClient, type HubInfo } from '../../agent/node/hub-client.ts';
import { existsSync, readFileSync } from 'node:fs';

export function cliIdentity(home: string): NodeIdentity {
  ensureDir(join(home, 'identity'));
  return loadOrCreateIdentity(FileVault.open(join(home, 'identity', 'vault.json')));
}

interface ProjectFile {
  version: 1;
  project: string;
  routes: string[];
  hubIdentifier: string;
  authorityPublicKey: string;
  hubDir: string;
}

export interface AdminProject extends HubInfo {
  hubDir: string;
  credential: Uint8Array;
}

export function saveAdminProject(home: string, p: AdminProject): void {
  const doc: ProjectFile = {
    version: 1,
    project: p.project,
    routes: p.routes,
    hubIdentifier: p.hubIdentifier,
    authorityPublicKey: Buffer.from(p.authorityPublicKey).toString('base64'),
    hubDir: p.hubDir,
  };
  writeJsonFile(join(home, 'project.json'), doc);
  writeSecretFile(join(home, 'identity', 'credential.bin'), p.credential);
}

export function loadAdminProject(home: string): AdminProject {
  const doc = readJsonFile<ProjectFile>(join(home, 'project.json'), 'project record');
  const credPath = join(home, 'identity', 'credential.bin');
  if (doc === undefined || !existsSync(credPath)) {
    throw new PosternError('POSTERN_NO_PROJECT', 'this machine administers no project', 'run `postern hub init` here first (or set POSTERN_HOME)');
  }
  return {
    project: doc.project,
    routes: doc.routes,
    hubIdentifier: doc.hubIdentifier,
    authorityPublicKey: new Uint8Array(Buffer.from(doc.authorityPublicKey, 'base64')),
    hubDir: doc.hubDir,
    credential: new Uint8Array(readFileSync(credPath)),
  };
}

/** Run one authority request as the administrator, over a fresh link to the hub. */
export async function adminRequest(home: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const project = loadAdminProject(home);
  const identity = cliIdentity(home);
  let credential = project.credential;
  let valid = true;
  try {
    verifyCredential(credential, project.authorityPublicKey, Math.floor(Date.now() / 1000));
  } catch {
    valid = false; // the hub knows its administrator from its store; a fresh one is fetched below
  }
  const client = new HubClient({
    hub: project,
    identity,
    credentials: () => (valid ? [credential] : []),
    onRouted: () => {},
    backoff: { initialMs: 100, maxMs: 500 },
  });
  client.start();
  try {
    await client.waitConnected(true).catch((e: PosternError) => {
      throw new PosternError('POSTERN_HUB_UNREACHABLE', `cannot reach the hub at ${project.routes.join(', ')}: ${e.message}`, 'is `postern hub start` running?');
    });
    if (!valid) {
      const r = await client.request('authority', { op: 'refresh' });
      credential = new Uint8Array(Buffer.from(String(r['credential']), 'base64'));
      writeSecretFile(join(home, 'identity', 'credential.bin'), credential);
    }
    return await client.request('authority', body);
  } finally {
    client.stop();
  }
}
