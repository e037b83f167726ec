/**
 * Identifiers (docs/PROTOCOL.md §6.1): a short, printable name for an Ed25519
 * identity key.
 *
 *   identifier = "I" ‖ lowercase hex( SHA-256("postern/v1/identifier" ‖ 0x00 ‖ public_key)[0..20] )
 *
 * 41 ASCII characters. The domain string keeps this hash apart from every
 * other SHA-256 the protocol computes over a public key.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, toHex, utf8 } from '../bytes.ts';
import { PosternError } from '../errors.ts';

/** Bytes of the hash kept in an identifier (160 bits). */
export const IDENTIFIER_HASH_LEN = 20;
/** Length of an identifier string: "I" + 40 hex digits. */
export const IDENTIFIER_LEN = 1 + 2 * IDENTIFIER_HASH_LEN;

const DOMAIN = concat(utf8('postern/v1/identifier'), Uint8Array.of(0));
const IDENTIFIER_RE = /^I[0-9a-f]{40}$/;

export interface Identity {
  identifier: string;
  publicKey: Uint8Array;
}

export function identifierOf(publicKey: Uint8Array, crypto: CryptoProvider = defaultCrypto): string {
  const h = crypto.hash('SHA256').digest(DOMAIN, publicKey);
  return `I${toHex(h.subarray(0, IDENTIFIER_HASH_LEN))}`;
}

export function isIdentifier(s: unknown): s is string {
  return typeof s === 'string' && IDENTIFIER_RE.test(s);
}

export function assertIdentifier(s: string): string {
  if (!isIdentifier(s)) {
    const shown = typeof s === 'string' ? JSON.stringify(String(s).slice(0, 60)) : typeof s;
    throw new PosternError(
      'POSTERN_BAD_IDENTIFIER',
      `not a Postern identifier: ${shown}`,
      'an identifier is "I" followed by 40 lowercase hex digits, as printed by `postern node show`',
    );
  }
  return s;
}

export function identityFromPublicKey(publicKey: Uint8Array, crypto: CryptoProvider = defaultCrypto): Identity {
  return { identifier: identifierOf(publicKey, crypto), publicKey };
}
