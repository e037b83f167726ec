/**
 * The base of every CLI command: errors print a message, a hint and a
 * stable code, never a stack (unless --debug), and exit non-zero.
 */
import { Command, Flags } from '@oclif/core';
import { PosternError } from '../../protocol/errors.ts';

export abstract class PosternCommand extends Command {
  static override baseFlags = {
    debug: Flags.boolean({ description: 'print stack traces on errors', helpGroup: 'GLOBAL' }),
  };

  protected override async catch(err: Error & { exitCode?: number; oclif?: unknown }): Promise<unknown> {
    if (err.oclif !== undefined && !(err instanceof PosternError)) {
      // oclif's own parse errors (unknown flag, missing argument): its message is already clear.
      if ((err as { code?: string }).code === 'EEXIT') throw err;
      process.stderr.write(`Error: ${err.message}\nHint: see --help for usage (code POSTERN_USAGE)\n`);
      process.exitCode = 2;
      return;
    }
    const debug = process.argv.includes('--debug');
    if (err instanceof PosternError) {
      process.stderr.write(`Error: ${err.message}\n${err.hint ? `Hint: ${err.hint}\n` : ''}(code ${err.code})\n`);
    } else {
      process.stderr.write(`Error: ${err.message}\n(code POSTERN_INTERNAL)\n`);
    }
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
    return undefined;
  }

  protected printJson(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}

export function timestamped(prefix: string): (line: string) => void {
  return (line) => process.stdout.write(`${new Date().toISOString()} ${prefix} ${line}\n`);
}
