import type { CipherName } from '../crypto/provider.ts';
import { writeU32, writeU32LE } from '../bytes.ts';

/**
 * Noise rev 34 §12: the 96-bit AEAD nonce is 4 zero bytes then the 64-bit
 * counter, little-endian for ChaChaPoly (§12.3), big-endian for AESGCM (§12.4).
 * `n === -1` stands for 2^64-1, the value REKEY uses (§4.2).
 */
export function encodeNonce(cipher: CipherName, n: number, out = new Uint8Array(12)): Uint8Array {
  out.fill(0, 0, 4);
  if (n === -1) {
    out.fill(0xff, 4, 12);
    return out;
  }
  const hi = Math.floor(n / 0x1_0000_0000);
  const lo = n >>> 0;
  if (cipher === 'ChaChaPoly') {
    writeU32LE(out, 4, lo);
    writeU32LE(out, 8, hi);
  } else {
    writeU32(out, 4, hi);
    writeU32(out, 8, lo);
  }
  return out;
}
