/**
 * The agent as a systemd service: the unit comes from the brand (rendered
 * from templates/systemd at build time); installing writes it, records the
 * ticket and variables in the service's state directory, and enables it.
 * Every step is a plain list, so `--dry-run` prints exactly what would run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { decodeTicket } from '../../protocol/ticket/ticket.ts';
import { BINARY_PATH_TOKEN, pinTicket, type AgentBrand } from './brand.ts';
import { prepareUp } from './up.ts';

export const SYSTEMD_UNIT_DIR = '/etc/systemd/system';

export type Step =
  | { kind: 'write'; path: string; content: string; mode: number }
  | { kind: 'remove'; path: string }
  | { kind: 'run'; cmd: string; args: string[] }
  | { kind: 'prepare'; home: string };

export function serviceUnit(b: AgentBrand, command: string): string {
  return b.service.unit.replaceAll(BINARY_PATH_TOKEN, command);
}

export function unitPath(b: AgentBrand, unitDir = SYSTEMD_UNIT_DIR): string {
  return join(unitDir, `${b.service.name}.service`);
}

export function installSteps(b: AgentBrand, binaryPath: string, home: string, unitDir = SYSTEMD_UNIT_DIR): Step[] {
  return [
    { kind: 'prepare', home },
    { kind: 'write', path: unitPath(b, unitDir), content: serviceUnit(b, binaryPath), mode: 0o644 },
    { kind: 'run', cmd: 'systemctl', args: ['daemon-reload'] },
    { kind: 'run', cmd: 'systemctl', args: ['enable', '--now', `${b.service.name}.service`] },
  ];
}

export function uninstallSteps(b: AgentBrand, unitDir = SYSTEMD_UNIT_DIR): Step[] {
  return [
    { kind: 'run', cmd: 'systemctl', args: ['disable', '--now', `${b.service.name}.service`] },
    { kind: 'remove', path: unitPath(b, unitDir) },
    { kind: 'run', cmd: 'systemctl', args: ['daemon-reload'] },
  ];
}

export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'prepare':
      return `record the ticket and variables in ${s.home} (0600)`;
    case 'write':
      return `write ${s.path} (mode ${s.mode.toString(8)}):\n${s.content.replace(/^/gm, '    ')}`;
    case 'remove':
      return `remove ${s.path}`;
    case 'run':
      return `run ${[s.cmd, ...s.args].join(' ')}`;
  }
}

/** Refuse early, with the reason, where a service cannot be installed. */
export function checkSystemd(b: AgentBrand): void {
  if (!existsSync('/run/systemd/system')) {
    throw new PosternError('POSTERN_NO_SYSTEMD', 'systemd is not running on this machine', `run \`${b.binary} up\` in the foreground instead, or under your own supervisor`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new PosternError('POSTERN_SERVICE_PERMISSION', `installing the ${b.service.name} service needs root`, `run it with sudo: sudo ${b.binary} service install …`);
  }
}

export interface InstallInput {
  ticket?: string;
  variables: Record<string, string>;
  configPath?: string;
  env: NodeJS.ProcessEnv;
}

/** Check what can be checked without writing anything (for --dry-run). */
export function checkInstallInput(b: AgentBrand, i: InstallInput): void {
  if (i.ticket !== undefined) pinTicket(b, decodeTicket(i.ticket));
}

export async function runSteps(b: AgentBrand, steps: Step[], i: InstallInput, log: (line: string) => void): Promise<void> {
  for (const s of steps) {
    log(describeStep(s).split('\n', 1)[0]!);
    if (s.kind === 'prepare') {
      await prepareUp({ brand: b, home: s.home, ...(i.ticket !== undefined ? { ticket: i.ticket } : {}), variables: i.variables, ...(i.configPath !== undefined ? { configPath: i.configPath } : {}), env: i.env, log });
    } else if (s.kind === 'write') {
      writeFileSync(s.path, s.content, { mode: s.mode });
    } else if (s.kind === 'remove') {
      rmSync(s.path, { force: true });
    } else {
      try {
        execFileSync(s.cmd, s.args, { stdio: 'inherit' });
      } catch (e) {
        throw new PosternError('POSTERN_SERVICE_FAILED', `${[s.cmd, ...s.args].join(' ')} failed: ${e instanceof Error ? e.message : String(e)}`, `see \`journalctl -u ${b.service.name}\``);
      }
    }
  }
}
