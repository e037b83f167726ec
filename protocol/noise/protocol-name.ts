/** Parse and check a Noise protocol name (rev 34 §8). */
import type { CipherName, HashName } from '../crypto/provider.ts';
import { PosternError } from '../errors.ts';
import { PATTERNS, type HandshakePattern } from './patterns.ts';

export interface ProtocolName {
  readonly full: string;
  readonly pattern: HandshakePattern;
  readonly cipher: CipherName;
  readonly hash: HashName;
}

const RE = /^Noise_([A-Za-z0-9]+)_(25519)_(ChaChaPoly|AESGCM)_(SHA256|BLAKE2s)$/;

/** Returns null when the name is one Postern does not implement. */
export function parseProtocolName(full: string): ProtocolName | null {
  const m = RE.exec(full);
  if (m === null) return null;
  const pattern = PATTERNS[m[1]!];
  if (pattern === undefined) return null;
  return { full, pattern, cipher: m[3] as CipherName, hash: m[4] as HashName };
}

export function requireProtocolName(full: string): ProtocolName {
  const p = parseProtocolName(full);
  if (p === null) {
    throw new PosternError('POSTERN_NOISE_UNSUPPORTED', `unsupported Noise protocol ${JSON.stringify(full)}`);
  }
  return p;
}
