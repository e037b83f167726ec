/**
 * npm run bench [-- --quick] [--json FILE]
 *
 * The whole benchmark: the data path (portal.ts: direct, ssh -L, Snyk Broker, three Node
 * relays, Postern) and then the hub (hub.ts: handshakes, idle agents), each
 * in its own process so one does not load the other. `--json FILE` gets
 * every figure of both as [{scenario, metric, value, unit}].
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './measure.ts';

const args = process.argv.slice(2);
const json = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
if (args.includes('--json') && (json === undefined || json.startsWith('--'))) {
  console.error('usage: npm run bench -- [--quick] [--json FILE]');
  process.exit(2);
}
const pass = args.includes('--quick') ? ['--quick'] : [];
const dir = mkdtempSync(join(tmpdir(), 'postern-bench-json-'));
const rows: BenchRow[] = [];
let failed = false;
try {
  for (const part of ['portal.ts', 'hub.ts']) {
    const out = join(dir, `${part}.json`);
    const r = spawnSync(process.execPath, [fileURLToPath(new URL(part, import.meta.url)), ...pass, '--json', out], { stdio: 'inherit' });
    if (r.status !== 0) {
      failed = true;
      console.error(`bench: ${part} exited with ${r.status ?? r.signal}`);
    }
    try {
      rows.push(...(JSON.parse(readFileSync(out, 'utf8')) as BenchRow[]));
    } catch {
      /* that part wrote nothing: already reported */
    }
    console.log('');
  }
  if (json !== undefined) writeFileSync(json, `${JSON.stringify(rows, null, 2)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
