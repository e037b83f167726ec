/**
 * npm run vectors -- FILE [--provider node|noble|both] [--slow]
 * Runs a vector file (cacophony Noise schema or the primitives schema) and
 * prints one line per vector, then "N passed, M failed" (and skipped).
 * Exit status 1 if any vector failed.
 */
import { readFileSync } from 'node:fs';
import { nobleCrypto, nodeCrypto } from '../protocol/crypto/index.ts';
import { runVectorFile } from '../test/conformance/runner.ts';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const providerArg = args.includes('--provider') ? args[args.indexOf('--provider') + 1] : 'both';
const slow = args.includes('--slow');
if (file === undefined) {
  console.error('usage: npm run vectors -- FILE [--provider node|noble|both] [--slow]');
  process.exit(2);
}
let json: unknown;
try {
  json = JSON.parse(readFileSync(file, 'utf8'));
} catch (e) {
  console.error(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
}
const providers = providerArg === 'node' ? [nodeCrypto] : providerArg === 'noble' ? [nobleCrypto] : [nodeCrypto, nobleCrypto];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const p of providers) {
  for (const r of runVectorFile(json, p, { maxIterations: slow ? 1_000_000 : 1000 })) {
    const tag = r.status === 'pass' ? 'ok  ' : r.status === 'fail' ? 'FAIL' : 'skip';
    console.log(`${tag} [${p.name}] ${r.name}${r.reason ? ` — ${r.reason}` : ''}`);
    if (r.status === 'pass') passed++;
    else if (r.status === 'fail') failed++;
    else skipped++;
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
