/**
 * Human durations for ticket expiry and similar flags: "90s", "30m", "24h",
 * "7d", or units combined from largest to smallest ("1h30m", "1d12h").
 * Each unit appears at most once; a bare number is refused because it does
 * not say whether it means seconds or minutes.
 */
import { PosternError } from '../../../protocol/errors.ts';

const MAX_TEXT = 32;
const RE = /^(?:(\d{1,12})d)?(?:(\d{1,12})h)?(?:(\d{1,12})m)?(?:(\d{1,12})s)?$/;
const UNITS: readonly [string, number][] = [
  ['d', 86400],
  ['h', 3600],
  ['m', 60],
  ['s', 1],
];
const HINT = 'use a number and a unit (s, m, h, d), e.g. 90s, 30m, 24h, 7d or 1h30m';

/** Parse a duration into whole seconds (> 0); POSTERN_BAD_DURATION otherwise. */
export function parseDuration(text: string): number {
  const s = typeof text === 'string' ? text.trim() : '';
  const m = s.length <= MAX_TEXT ? RE.exec(s) : null;
  if (s === '' || m === null) {
    const shown = typeof text === 'string' ? JSON.stringify(text.slice(0, 40)) : typeof text;
    throw new PosternError('POSTERN_BAD_DURATION', `invalid duration ${shown}`, HINT);
  }
  let total = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const n = m[i + 1];
    if (n !== undefined) total += Number(n) * UNITS[i]![1];
  }
  if (total <= 0 || !Number.isSafeInteger(total)) {
    throw new PosternError('POSTERN_BAD_DURATION', `duration ${JSON.stringify(s)} must be longer than zero`, HINT);
  }
  return total;
}

/** Seconds → the shortest form parseDuration reads back ("1h30m"; "0s" for 0). */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new PosternError('POSTERN_BAD_DURATION', `cannot format ${String(seconds)} as a duration`);
  }
  if (seconds === 0) return '0s';
  let rest = seconds;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
