/**
 * The data path's GC setting still does what it is for on this Node: a
 * process churning through short-lived 64 KiB buffers (as a relay does)
 * runs far fewer full collections with it than without.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NODE } from '../../helpers/processes.ts';

const gcModule = fileURLToPath(new URL('../../../agent/node/data-path-gc.ts', import.meta.url));

/** Full mark-compacts while allocating 2 GiB of 64 KiB buffers, each dropped at once. */
function fullCollections(tuned: boolean): number {
  const script = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    ${tuned ? `import { tuneGcForDataPath } from ${JSON.stringify(gcModule)}; tuneGcForDataPath();` : ''}
    let major = 0;
    new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++; }).observe({ entryTypes: ['gc'] });
    let keep = [];
    for (let i = 0; i < 32768; i++) { keep.push(Buffer.allocUnsafeSlow(65536).fill(i)); if (keep.length > 16) keep = []; }
    setTimeout(() => console.log(major), 50);
  `;
  return Number(execFileSync(NODE, ['--input-type=module', '-e', script]).toString().trim());
}

describe('data path GC setting', () => {
  it('cuts full collections under buffer churn', () => {
    const plain = fullCollections(false);
    const tuned = fullCollections(true);
    expect(plain).toBeGreaterThan(10);
    expect(tuned).toBeLessThan(plain / 3);
  });
});
