import { describe, expect, it } from 'vitest';
import { EndOfTurnQueue } from '../../../agent/transport/end-of-turn.ts';

/** A queue whose pass the test starts by hand. */
function manual() {
  const runs: Array<() => void> = [];
  const q = new EndOfTurnQueue((run) => runs.push(run));
  return { q, runs };
}

describe('EndOfTurnQueue', () => {
  it('schedules one pass however many callbacks are queued, and runs them in order', () => {
    const { q, runs } = manual();
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) q.defer(() => seen.push(i));
    expect(runs).toHaveLength(1);
    expect(seen).toEqual([]);
    runs[0]!();
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('runs what a callback queues in the same pass, after what was queued before it', () => {
    const { q, runs } = manual();
    const seen: string[] = [];
    q.defer(() => {
      seen.push('channel a');
      q.defer(() => seen.push('link'));
    });
    q.defer(() => seen.push('channel b'));
    runs[0]!();
    expect(seen).toEqual(['channel a', 'channel b', 'link']);
    expect(runs).toHaveLength(1);
  });

  it('schedules a new pass for what is queued after a pass', () => {
    const { q, runs } = manual();
    const seen: number[] = [];
    q.defer(() => seen.push(1));
    runs[0]!();
    q.defer(() => seen.push(2));
    expect(runs).toHaveLength(2);
    runs[1]!();
    expect(seen).toEqual([1, 2]);
  });

  it('runs every callback when one throws, then throws the first error', () => {
    const { q, runs } = manual();
    const seen: number[] = [];
    q.defer(() => seen.push(1));
    q.defer(() => {
      throw new Error('first');
    });
    q.defer(() => {
      throw new Error('second');
    });
    q.defer(() => seen.push(4));
    expect(() => runs[0]!()).toThrow('first');
    expect(seen).toEqual([1, 4]);
    // The queue is usable again.
    q.defer(() => seen.push(5));
    runs[1]!();
    expect(seen).toEqual([1, 4, 5]);
  });

  it('by default runs at the end of the turn, after the I/O callbacks and ticks of that turn', async () => {
    const q = new EndOfTurnQueue();
    const seen: string[] = [];
    q.defer(() => seen.push('end of turn'));
    process.nextTick(() => seen.push('tick'));
    queueMicrotask(() => seen.push('microtask'));
    expect(seen).toEqual([]);
    await new Promise((r) => setImmediate(r));
    // (Inside a promise job microtasks run before ticks: only the last place matters here.)
    expect(seen).toHaveLength(3);
    expect(seen.at(-1)).toBe('end of turn');
  });
});
