/**
 * `up`: enroll once, apply the built-in config, run in the foreground.
 *
 * Everything that can be checked is checked before the ticket is redeemed:
 * the ticket's pinned authority and hub, and the config with its variables.
 * The ticket is kept (0600) only until enrollment succeeds; after that the
 * stored identity is used and a ticket given again is never redeemed again.
 * The variables are recorded (up.json, 0600) so that a service started by
 * systemd, which passes no flags, enrolls with what `service install` got.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { decodeTicket } from '../../protocol/ticket/ticket.ts';
import { identifierOf } from '../../protocol/identity/identifier.ts';
import { formatHostPort, parseConfig, loadConfigFile, type NodeConfig } from '../config/index.ts';
import { PosternNode, type NodeStatus } from '../node/node.ts';
import { loadHubInfo, loadResources, nodePaths, saveResources, type NodePaths } from '../node/state.ts';
import { dropStashedTicket, stashTicket, takeStashedTicket } from '../node/daemon.ts';
import { ensureDir, readJsonFile, writeJsonFile } from '../node/files.ts';
import { isRunning } from '../node/manage.ts';
import { agentNodeName, pinTicket, variablesWithDefaults, type AgentBrand } from './brand.ts';

/** The credential attribute that names the relay the ticket allows (set by the authority). */
export const RELAY_ATTRIBUTE = 'postern.relay';
/** Stands in for $RELAY when checking the config before enrollment tells the real one. */
const RELAY_PENDING = 'relay-pending';

export interface UpOptions {
  brand: AgentBrand;
  home: string;
  /** Ticket text (already read from a file if one was given). */
  ticket?: string;
  /** From --variable flags. */
  variables: Record<string, string>;
  configPath?: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

interface UpFile {
  version: 1;
  variables: Record<string, string>;
  configPath: string | null;
  /**
   * Listen addresses of the inlets the config last put in the node's stored
   * resources. They are taken out before the config is applied again, so a
   * changed address (or one that could not be bound) does not linger.
   */
  appliedInlets?: string[];
}

export interface PreparedUp {
  paths: NodePaths;
  enrolled: boolean;
  /** Whether to (re)apply the config: at enrollment, and whenever `up` is given a ticket, variables or a config. */
  apply: boolean;
  variables: Record<string, string>;
  configPath: string | null;
}

function upFile(p: NodePaths): string {
  return join(p.dir, 'up.json');
}

function keepaliveFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const v = Number(env['POSTERN_KEEPALIVE_MS']);
  return Number.isInteger(v) && v >= 100 && v <= 600_000 ? v : undefined;
}

async function readConfig(o: { brand: AgentBrand; configPath: string | null; variables: Record<string, string>; env: NodeJS.ProcessEnv }): Promise<NodeConfig> {
  const variables = variablesWithDefaults(o.brand, o.variables, o.env);
  if (o.configPath !== null) return loadConfigFile(o.configPath, { variables, env: o.env });
  return parseConfig(o.brand.config, `(${o.brand.displayName} built-in config)`, { variables, env: o.env });
}

/** Checks, then records the ticket and variables. Used by `up` and by `service install`. */
export async function prepareUp(o: UpOptions): Promise<PreparedUp> {
  const paths = nodePaths(agentNodeName(o.brand), o.home);
  ensureDir(paths.dir);
  const hub = loadHubInfo(paths);
  const enrolled = hub !== undefined;
  if (o.ticket !== undefined) {
    const t = pinTicket(o.brand, decodeTicket(o.ticket));
    if (hub !== undefined && (t.project !== hub.project || identifierOf(t.hubPublicKey) !== hub.hubIdentifier)) {
      throw new PosternError('POSTERN_TICKET_FOREIGN', `this ticket is for another project than the one ${o.brand.displayName} is enrolled in`, `to enroll again, remove ${paths.dir} first`);
    }
  } else if (!enrolled && takeStashedTicket(paths) === undefined) {
    throw new PosternError('POSTERN_NOT_ENROLLED', `${o.brand.displayName} is not enrolled yet`, `pass the ticket ${o.brand.vendor} gave you: ${o.brand.binary} up --ticket FILE|TICKET`);
  }
  const stored = readJsonFile<UpFile>(upFile(paths), 'agent settings');
  const variables = { ...(stored?.variables ?? {}), ...o.variables };
  // Absolute: a service started by systemd runs from another directory.
  const configPath = o.configPath !== undefined ? resolve(o.configPath) : (stored?.configPath ?? null);
  const apply = !enrolled || o.ticket !== undefined || o.configPath !== undefined || Object.keys(o.variables).length > 0;
  if (apply) {
    // Check the config now, before anything is redeemed; $RELAY is known for sure only after enrollment.
    const relay = variables['RELAY'] ?? o.env['RELAY'] ?? RELAY_PENDING;
    await readConfig({ brand: o.brand, configPath, variables: { ...variables, RELAY: relay }, env: o.env });
  }
  // Kept only once everything checked out, and only until enrollment succeeds.
  if (o.ticket !== undefined && !enrolled) stashTicket(paths, o.ticket);
  const doc: UpFile = { version: 1, variables, configPath, appliedInlets: stored?.appliedInlets ?? [] };
  writeJsonFile(upFile(paths), doc);
  return { paths, enrolled, apply, variables, configPath };
}

function forgetAppliedInlets(p: NodePaths): void {
  const applied = readJsonFile<UpFile>(upFile(p), 'agent settings')?.appliedInlets ?? [];
  if (applied.length === 0) return;
  const r = loadResources(p);
  saveResources(p, { ...r, inlets: r.inlets.filter((i) => !applied.includes(formatHostPort(i.from))) });
}

function recordAppliedInlets(p: NodePaths, inlets: string[]): void {
  const doc = readJsonFile<UpFile>(upFile(p), 'agent settings');
  if (doc !== undefined) writeJsonFile(upFile(p), { ...doc, appliedInlets: inlets });
}

export interface RunningAgent {
  node: PosternNode;
  status: NodeStatus;
  /** Milliseconds from the call to the relay being ready. */
  readyMs: number;
}

/** Enroll if needed, connect, apply the config; resolves when the relay is ready. */
export async function runUp(o: UpOptions): Promise<RunningAgent> {
  const started = performance.now();
  const name = agentNodeName(o.brand);
  if (await isRunning(name, o.home)) {
    throw new PosternError('POSTERN_NODE_EXISTS', `${o.brand.displayName} is already running with state in ${o.home}`, `see \`${o.brand.binary} status\`; stop it first, or set ${o.brand.homeEnv} to another directory`);
  }
  const prep = await prepareUp(o);
  const stashed = prep.enrolled ? undefined : takeStashedTicket(prep.paths);
  const ticket = stashed === undefined ? undefined : pinTicket(o.brand, decodeTicket(stashed));
  if (prep.apply) forgetAppliedInlets(prep.paths);
  const keepaliveMs = keepaliveFromEnv(o.env);
  const node = await PosternNode.start({ name, home: o.home, ...(ticket !== undefined ? { ticket } : {}), log: o.log, ...(keepaliveMs !== undefined ? { keepaliveMs } : {}) });
  dropStashedTicket(prep.paths);
  try {
    if (prep.apply) {
      const granted = node.status().attributes[RELAY_ATTRIBUTE];
      const relay = prep.variables['RELAY'] ?? o.env['RELAY'] ?? granted;
      const variables = relay === undefined ? prep.variables : { ...prep.variables, RELAY: relay };
      const config = await readConfig({ brand: o.brand, configPath: prep.configPath, variables, env: o.env });
      recordAppliedInlets(prep.paths, config.inlets.map((i) => formatHostPort(i.from)));
      await node.applyConfig(config);
    }
  } catch (e) {
    await node.close();
    throw e;
  }
  writeFileSync(prep.paths.pid, `${process.pid}\n`, { mode: 0o600 });
  return { node, status: node.status(), readyMs: performance.now() - started };
}

/** Stop on SIGTERM/SIGINT: close the node, remove the pid file, exit 0. */
export function stopOnSignals(agent: RunningAgent, log: (line: string) => void): void {
  const stop = () => {
    log('stopping');
    void agent.node.close().finally(() => {
      rmSync(agent.node.paths.pid, { force: true });
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** The one line that says the agent is up. */
export function connectedLine(b: AgentBrand, s: NodeStatus): string {
  const relays = s.relays.map((r) => `${r.name}${r.ready ? ' ready' : ' pending'}`).join(', ') || 'none';
  const outlets = s.outlets.map((x) => `${x.name} → ${x.to}`).join(', ') || 'none';
  return `${b.displayName} connected to ${b.vendor} as ${s.identifier}; relay ${relays}; outlets ${outlets}`;
}

export function pidOf(p: NodePaths): number | null {
  if (!existsSync(p.pid)) return null;
  const n = Number(readFileSync(p.pid, 'utf8').trim());
  return Number.isInteger(n) && n > 0 ? n : null;
}
