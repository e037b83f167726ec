/**
 * Node management behind the CLI: create (enroll + apply config, in the
 * background or foreground), list, show, delete, and finding the node a
 * command talks to.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { PosternError } from '../../protocol/errors.ts';
import { decodeTicket } from '../../protocol/ticket/ticket.ts';
import { loadConfigFile, type NodeConfig } from '../config/index.ts';
import { controlRequest } from '../control/client.ts';
import { posternHome } from './files.ts';
import { loadHubInfo, loadResources, nodePaths, nodesDir, removeNodeDir, saveResources, NODE_NAME_RE } from './state.ts';
import { spawnNode, stashTicket } from './daemon.ts';
import type { NodeStatus } from './node.ts';

/** A ticket given as the ticket text itself or as a file holding it. */
export function readTicketArg(arg: string): string {
  const t = arg.trim();
  if (t.startsWith('pstn1_')) return t;
  if (existsSync(arg)) return readFileSync(arg, 'utf8').trim();
  return t; // decodeTicket explains what is wrong with it
}

export function assertNodeName(name: string): string {
  if (!NODE_NAME_RE.test(name)) {
    throw new PosternError('POSTERN_BAD_NAME', `invalid node name ${JSON.stringify(name)}`, 'use lowercase letters, digits, ".", "_" and "-"');
  }
  return name;
}

function merge(a: NodeConfig, b: NodeConfig): NodeConfig {
  return {
    relays: [...new Set([...a.relays, ...b.relays])],
    outlets: [...a.outlets.filter((o) => !b.outlets.some((x) => x.name === o.name)), ...b.outlets],
    inlets: [...a.inlets.filter((i) => !b.inlets.some((x) => x.from.host === i.from.host && x.from.port === i.from.port)), ...b.inlets],
    policies: [...a.policies.filter((p) => !b.policies.some((x) => x.resourceType === p.resourceType)), ...b.policies],
  };
}

export interface CreateNodeOptions {
  name?: string;
  configPath?: string;
  config?: NodeConfig;
  ticket?: string;
  variables?: Record<string, string>;
  home?: string;
}

/** Prepare the node's directory for a start: config merged into its resources, ticket stashed (0600). */
export async function prepareNode(o: CreateNodeOptions): Promise<{ name: string; config: NodeConfig }> {
  let config: NodeConfig = o.config ?? { relays: [], outlets: [], inlets: [], policies: [] };
  if (o.configPath !== undefined) {
    config = await loadConfigFile(o.configPath, { variables: o.variables ?? {}, env: process.env });
  }
  const name = assertNodeName(o.name ?? config.name ?? 'default');
  const p = nodePaths(name, o.home);
  const enrolled = loadHubInfo(p) !== undefined;
  if (o.ticket !== undefined) {
    decodeTicket(o.ticket); // a damaged ticket is refused here, before anything starts
    if (!enrolled) stashTicket(p, o.ticket);
  } else if (!enrolled) {
    throw new PosternError('POSTERN_NOT_ENROLLED', `node ${name} is not enrolled`, 'pass --enrollment-ticket FILE|TICKET');
  }
  const { mkdirSync } = await import('node:fs');
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  saveResources(p, merge(loadResources(p), config));
  return { name, config };
}

export async function createNodeInBackground(o: CreateNodeOptions): Promise<{ name: string; status: NodeStatus }> {
  const { name } = await prepareNode(o);
  const p = nodePaths(name, o.home);
  if (await isRunning(name, o.home)) {
    throw new PosternError('POSTERN_NODE_EXISTS', `node ${name} is already running`, 'use `postern node delete` first, or another --name');
  }
  const ready = await spawnNode(p, name);
  return { name, status: ready.status as NodeStatus };
}

export function listNodeNames(home = posternHome()): string[] {
  const d = nodesDir(home);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((n) => NODE_NAME_RE.test(n) && existsSync(nodePaths(n, home).node)).sort();
}

export async function isRunning(name: string, home?: string): Promise<boolean> {
  try {
    await controlRequest(nodePaths(name, home).control, 'status', {}, 2000);
    return true;
  } catch {
    return false;
  }
}

export async function nodeStatus(name: string, home?: string): Promise<NodeStatus | { name: string; running: false }> {
  try {
    return (await controlRequest(nodePaths(name, home).control, 'status', {}, 5000)) as NodeStatus;
  } catch {
    return { name, running: false };
  }
}

/** The node a command acts on: --at NAME, or the only node there is. */
export function resolveNode(at: string | undefined, home?: string): string {
  if (at !== undefined) return assertNodeName(at);
  const names = listNodeNames(home);
  if (names.length === 1) return names[0]!;
  if (names.length === 0) throw new PosternError('POSTERN_NO_NODE', 'there is no node', 'create one with `postern node create`');
  throw new PosternError('POSTERN_AMBIGUOUS_NODE', `there are ${names.length} nodes: ${names.join(', ')}`, 'choose one with --at NAME');
}

export async function nodeControl(at: string | undefined, op: string, args: Record<string, unknown>, home?: string): Promise<unknown> {
  const name = resolveNode(at, home);
  return controlRequest(nodePaths(name, home).control, op, args);
}

export async function deleteNode(name: string, home?: string): Promise<void> {
  const p = nodePaths(name, home);
  if (!existsSync(p.dir)) throw new PosternError('POSTERN_NO_NODE', `no node named ${name}`);
  try {
    await controlRequest(p.control, 'stop', {}, 5000);
    await new Promise((r) => setTimeout(r, 200));
  } catch {
    /* not running */
  }
  removeNodeDir(p);
}
