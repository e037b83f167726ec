/** A short fuzz run of every decoder inside `npm test` (the long one is `npm run fuzz`). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PosternError } from '../../protocol/errors.ts';
import { TARGETS } from './targets.ts';

describe('fuzz (short run)', () => {
  it.each(TARGETS.map((t) => [t.name, t] as const))('%s: any input returns or throws a PosternError', (_n, t) => {
    const arb = t.kind === 'bytes' ? fc.uint8Array({ maxLength: 2048 }) : fc.string({ unit: 'binary', maxLength: 1000 });
    fc.assert(
      fc.property(arb, (input) => {
        try {
          t.run(input);
        } catch (e) {
          expect(e).toBeInstanceOf(PosternError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
