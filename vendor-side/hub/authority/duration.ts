import { PosternError } from '../../../protocol/errors.ts';

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90s", "10m", "24h", "7d", "1h30m" → seconds. */
export function parseDuration(text: string): number {
  const s = String(text).trim();
  if (!/^(\d+[smhd])+$/.test(s) || s.length > 32) {
    throw new PosternError('POSTERN_BAD_DURATION', `invalid duration ${JSON.stringify(s.slice(0, 40))}`, 'use a number and a unit: 90s, 10m, 24h, 7d, or 1h30m');
  }
  let total = 0;
  for (const m of s.matchAll(/(\d+)([smhd])/g)) total += Number(m[1]) * UNIT[m[2]!]!;
  if (!Number.isSafeInteger(total) || total <= 0) throw new PosternError('POSTERN_BAD_DURATION', `duration ${s} is out of range`);
  return total;
}
