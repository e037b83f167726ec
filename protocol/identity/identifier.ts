/** Identifiers: "I" + hex of the first 20 bytes of SHA-256 over the identity public key. */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, toHex, utf8 } from '../bytes.ts';
import { PosternError } from '../errors.ts';

const DOMAIN = concat(utf8('postern/v1/identifier'), Uint8Array.of(0));
const RE = /^I[0-9a-f]{40}$/;

export interface Identity {
  identifier: string;
  publicKey: Uint8Array;
}

export function identifierOf(publicKey: Uint8Array, crypto: CryptoProvider = defaultCrypto): string {
  return `I${toHex(crypto.hash('SHA256').digest(DOMAIN, publicKey).subarray(0, 20))}`;
}

export function isIdentifier(s: unknown): s is string {
  return typeof s === 'string' && RE.test(s);
}

export function assertIdentifier(s: string): string {
  if (!isIdentifier(s)) {
    throw new PosternError('POSTERN_BAD_IDENTIFIER', `not an identifier: ${JSON.stringify(String(s).slice(0, 60))}`, 'identifiers are "I" followed by 40 lowercase hex digits');
  }
  return s;
}

export function identityFromPublicKey(publicKey: Uint8Array, crypto: CryptoProvider = defaultCrypto): Identity {
  return { identifier: identifierOf(publicKey, crypto), publicKey };
}
