/**
 * A small argv dispatcher for the branded agent. oclif discovers commands by
 * importing files from disk, which a single executable does not have; this
 * one holds its commands in a table, parses flags with node:util parseArgs
 * (strict: an unknown flag is an error), and prints per-command help that
 * carries the brand. Errors print a message, a hint and a stable code, never
 * a stack unless --debug, like the `postern` CLI.
 */
import { parseArgs } from 'node:util';
import { PosternError } from '../../protocol/errors.ts';
import type { AgentBrand } from './brand.ts';

export interface FlagDef {
  type: 'string' | 'boolean';
  description: string;
  multiple?: boolean;
  /** Shown in help: `--ticket FILE|TICKET`. */
  value?: string;
  short?: string;
  required?: boolean;
}

export interface ArgDef {
  name: string;
  description: string;
  required: boolean;
}

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

export interface RunContext extends Output {
  brand: AgentBrand;
  flags: Record<string, string | boolean | string[] | undefined>;
  args: Record<string, string | undefined>;
  env: NodeJS.ProcessEnv;
}

export interface CommandDef {
  /** Words after the binary's name: `tcp-outlet create`. */
  id: string;
  summary: (b: AgentBrand) => string;
  description?: (b: AgentBrand) => string;
  flags: Record<string, FlagDef>;
  args?: ArgDef[];
  examples: (b: AgentBrand) => string[];
  /** Resolves to the exit code (0 when undefined). A foreground command never resolves. */
  run: (ctx: RunContext) => Promise<number | void>;
}

const GLOBAL_FLAGS: Record<string, FlagDef> = {
  help: { type: 'boolean', description: 'show this help', short: 'h' },
  debug: { type: 'boolean', description: 'print stack traces on errors' },
};

function usageError(message: string, hint: string): PosternError {
  return new PosternError('POSTERN_USAGE', message, hint);
}

function flagUsage(name: string, f: FlagDef): string {
  const v = f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : '';
  return `--${name}${v}${f.multiple ? '…' : ''}`;
}

function table(rows: [string, string][], indent = '  '): string {
  const w = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${indent}${a.padEnd(w)}  ${b}`.trimEnd()).join('\n');
}

export function commandHelp(b: AgentBrand, c: CommandDef): string {
  const args = (c.args ?? []).map((a) => (a.required ? a.name : `[${a.name}]`));
  const flags = Object.entries(c.flags).map(([n, f]) => (f.required ? flagUsage(n, f) : `[${flagUsage(n, f)}]`));
  const parts = [
    `${c.summary(b)}`,
    '',
    'USAGE',
    `  $ ${b.binary} ${[c.id, ...args, ...flags].join(' ')}`,
  ];
  if (c.args !== undefined && c.args.length > 0) {
    parts.push('', 'ARGUMENTS', table(c.args.map((a) => [a.name, a.description])));
  }
  const all = { ...c.flags, ...GLOBAL_FLAGS };
  parts.push('', 'FLAGS', table(Object.entries(all).map(([n, f]) => [`${f.short ? `-${f.short}, ` : ''}${flagUsage(n, f)}`, f.description])));
  if (c.description !== undefined) parts.push('', 'DESCRIPTION', ...c.description(b).split('\n').map((l) => (l === '' ? '' : `  ${l}`)));
  const ex = c.examples(b);
  if (ex.length > 0) parts.push('', 'EXAMPLES', ...ex.map((e) => `  $ ${e}`));
  return `${parts.join('\n')}\n`;
}

export function rootHelp(b: AgentBrand, commands: CommandDef[]): string {
  return [
    `${b.displayName} ${b.version}: connects ${b.vendor} to the services you choose in your network.`,
    `It dials out to ${b.vendor}'s hub and opens no port to the internet; every connection is end-to-end encrypted.`,
    '',
    'USAGE',
    `  $ ${b.binary} COMMAND [FLAGS]`,
    `  $ ${b.binary} COMMAND --help`,
    '',
    'COMMANDS',
    table(commands.map((c) => [c.id, c.summary(b)])),
    '',
    `State: ${b.stateDir} (set ${b.homeEnv} to use another directory).`,
    `Support: ${b.supportUrl}`,
    '',
  ].join('\n');
}

/** The command named by the longest prefix of argv's words. */
function findCommand(commands: CommandDef[], argv: string[]): { command: CommandDef; rest: string[] } | undefined {
  let best: { command: CommandDef; rest: string[] } | undefined;
  for (const c of commands) {
    const words = c.id.split(' ');
    if (words.every((w, i) => argv[i] === w) && (best === undefined || words.length > best.command.id.split(' ').length)) {
      best = { command: c, rest: argv.slice(words.length) };
    }
  }
  return best;
}

export function printError(e: unknown, o: Output, debug: boolean): number {
  if (e instanceof PosternError) {
    o.err(`Error: ${e.message}\n${e.hint ? `Hint: ${e.hint}\n` : ''}(code ${e.code})\n`);
  } else {
    o.err(`Error: ${e instanceof Error ? e.message : String(e)}\n(code POSTERN_INTERNAL)\n`);
  }
  if (debug && e instanceof Error && e.stack) o.err(`${e.stack}\n`);
  return e instanceof PosternError && e.code === 'POSTERN_USAGE' ? 2 : 1;
}

export async function dispatch(brand: AgentBrand, commands: CommandDef[], argv: string[], o: Output, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const debug = argv.includes('--debug');
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? findCommand(commands, argv.slice(1)) : undefined;
    o.out(topic !== undefined ? commandHelp(brand, topic.command) : rootHelp(brand, commands));
    return 0;
  }
  if (first === '--version' || first === '-v') argv = ['version', ...argv.slice(1)];
  const found = findCommand(commands, argv);
  if (found === undefined) {
    const topics = commands.filter((c) => c.id.startsWith(`${first} `));
    if (topics.length > 0 && !argv.slice(1).some((a) => !a.startsWith('-'))) {
      const help = argv.includes('--help') || argv.includes('-h');
      (help ? o.out : o.err)(`${brand.binary} ${first} COMMAND\n\n${table(topics.map((c) => [c.id, c.summary(brand)]))}\n\nSee \`${brand.binary} ${first} COMMAND --help\`.\n`);
      return help ? 0 : 2;
    }
    return printError(
      usageError(`${brand.binary}: unknown command ${JSON.stringify(argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' '))}`, `run \`${brand.binary} --help\` for the commands`),
      o,
      debug,
    );
  }
  const { command, rest } = found;
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  for (const [n, f] of Object.entries({ ...command.flags, ...GLOBAL_FLAGS })) {
    options[n] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/\. To specify a positional argument.*$/s, '') : String(e);
    return printError(usageError(msg, `see \`${brand.binary} ${command.id} --help\``), o, debug);
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  if (values['help'] === true) {
    o.out(commandHelp(brand, command));
    return 0;
  }
  for (const [n, f] of Object.entries(command.flags)) {
    if (f.required && (values[n] === undefined || values[n] === '')) {
      return printError(usageError(`missing --${n}`, `see \`${brand.binary} ${command.id} --help\``), o, debug);
    }
  }
  const defs = command.args ?? [];
  if (parsed.positionals.length > defs.length) {
    return printError(usageError(`unexpected argument ${JSON.stringify(parsed.positionals[defs.length])}`, `see \`${brand.binary} ${command.id} --help\``), o, debug);
  }
  const args: Record<string, string | undefined> = {};
  for (const [i, d] of defs.entries()) {
    args[d.name] = parsed.positionals[i];
    if (d.required && args[d.name] === undefined) {
      return printError(usageError(`missing argument ${d.name}`, `see \`${brand.binary} ${command.id} --help\``), o, debug);
    }
  }
  try {
    const code = await command.run({ brand, flags: values, args, env, ...o });
    return code ?? 0;
  } catch (e) {
    return printError(e, o, debug);
  }
}

export function stringFlag(ctx: RunContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function listFlag(ctx: RunContext, name: string): string[] {
  const v = ctx.flags[name];
  return Array.isArray(v) ? v : [];
}
