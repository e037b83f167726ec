/**
 * npm run fuzz [-- --seconds N] — time-boxed fuzzing of every decoder with
 * fast-check (random and structured inputs, shrinking on failure). Prints
 * the number of inputs tried per target; exits 1 on the first input that
 * throws anything but a PosternError or takes longer than 1 s.
 */
import fc from 'fast-check';
import { PosternError } from '../../protocol/errors.ts';
import { TARGETS } from './targets.ts';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] ?? 0) || 60;
const budget = (seconds * 1000) / TARGETS.length;
let failed = 0;
let total = 0;
for (const t of TARGETS) {
  let runs = 0;
  const arb =
    t.kind === 'bytes'
      ? fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.uint8Array({ minLength: 60, maxLength: 400 }))
      : fc.oneof(fc.string({ maxLength: 2000 }), fc.string({ unit: 'binary', maxLength: 2000 }), fc.stringMatching(/^[a-z(): "=!.\n-]{0,200}$/));
  try {
    fc.assert(
      fc.property(arb, (input) => {
        runs++;
        const t0 = performance.now();
        try {
          t.run(input);
        } catch (e) {
          if (!(e instanceof PosternError)) throw e;
        }
        if (performance.now() - t0 > 1000) throw new Error('input took more than 1 s');
      }),
      { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: budget, markInterruptAsFailure: false },
    );
    console.log(`ok    ${t.name}: ${runs} inputs`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${t.name}: ${(e as Error).message.split('\n').slice(0, 6).join(' | ')}`);
  }
  total += runs;
}
console.log(`${TARGETS.length - failed} passed, ${failed} failed (${total} inputs in ${seconds} s)`);
process.exit(failed > 0 ? 1 : 0);
