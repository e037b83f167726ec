/**
 * The node's state directory (POSTERN_HOME/nodes/NAME): vault, enrollment
 * record, credential, the resources to re-create at start, control socket,
 * log. Every file holding a secret or a credential is 0600.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HubInfo } from './hub-client.ts';
import type { NodeConfig } from '../config/index.ts';
import { ensureDir, posternHome, readJsonFile, writeJsonFile, writeSecretFile } from './files.ts';

export const NODE_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface NodePaths {
  dir: string;
  vault: string;
  node: string;
  credential: string;
  resources: string;
  control: string;
  log: string;
  pid: string;
}

export function nodesDir(home = posternHome()): string {
  return join(home, 'nodes');
}

export function nodePaths(name: string, home = posternHome()): NodePaths {
  const dir = join(nodesDir(home), name);
  return {
    dir,
    vault: join(dir, 'vault.json'),
    node: join(dir, 'node.json'),
    credential: join(dir, 'credential.bin'),
    resources: join(dir, 'resources.json'),
    control: join(dir, 'control.sock'),
    log: join(dir, 'node.log'),
    pid: join(dir, 'node.pid'),
  };
}

interface NodeFile {
  version: 1;
  name: string;
  project: string;
  routes: string[];
  hubIdentifier: string;
  authorityPublicKey: string;
  createdAt: number;
}

export function saveHubInfo(p: NodePaths, name: string, hub: HubInfo): void {
  ensureDir(p.dir);
  const doc: NodeFile = {
    version: 1,
    name,
    project: hub.project,
    routes: hub.routes,
    hubIdentifier: hub.hubIdentifier,
    authorityPublicKey: Buffer.from(hub.authorityPublicKey).toString('base64'),
    createdAt: Math.floor(Date.now() / 1000),
  };
  writeJsonFile(p.node, doc);
}

export function loadHubInfo(p: NodePaths): HubInfo | undefined {
  const doc = readJsonFile<NodeFile>(p.node, 'node record');
  if (doc === undefined) return undefined;
  return {
    project: doc.project,
    routes: doc.routes,
    hubIdentifier: doc.hubIdentifier,
    authorityPublicKey: new Uint8Array(Buffer.from(doc.authorityPublicKey, 'base64')),
  };
}

export function loadCredential(p: NodePaths): Uint8Array | undefined {
  return existsSync(p.credential) ? new Uint8Array(readFileSync(p.credential)) : undefined;
}

export function saveCredential(p: NodePaths, c: Uint8Array): void {
  writeSecretFile(p.credential, c);
}

export function loadResources(p: NodePaths): NodeConfig {
  return readJsonFile<NodeConfig>(p.resources, 'node resources') ?? { relays: [], outlets: [], inlets: [], policies: [] };
}

export function saveResources(p: NodePaths, r: NodeConfig): void {
  writeJsonFile(p.resources, r);
}

export function removeNodeDir(p: NodePaths): void {
  rmSync(p.dir, { recursive: true, force: true });
}
