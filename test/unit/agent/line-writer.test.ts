/**
 * Batched log lines: the lines of one event-loop turn leave in one write,
 * in order, and lines still waiting when the process exits are written.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { batchedWriter } from '../../../agent/cli/line-writer.ts';

describe('batchedWriter', () => {
  it('writes the lines of one turn in one write, in order, and the next turn in another', async () => {
    const writes: string[] = [];
    const out = batchedWriter((t) => writes.push(t));
    out('a\n');
    out('b\n');
    out('c\n');
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['a\nb\nc\n']);
    out('d\n');
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
  });

  it('writes what is still waiting when the process exits, even by process.exit in the same turn', () => {
    const module = fileURLToPath(new URL('../../../agent/cli/line-writer.ts', import.meta.url));
    const script = `import { batchedStdout } from ${JSON.stringify(module)};
      const out = batchedStdout();
      for (let i = 0; i < 3; i++) out('line ' + i + '\\n');
      process.exit(3);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('line 0\nline 1\nline 2\n');
  });
});
