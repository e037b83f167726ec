import type { CipherName } from '../crypto/provider.ts';

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
  // Byte by byte: a DataView would give a small array an ArrayBuffer of its own (an allocation per message).
  if (cipher === 'ChaChaPoly') {
    put32le(out, 4, lo);
    put32le(out, 8, hi);
  } else {
    put32be(out, 4, hi);
    put32be(out, 8, lo);
  }
  return out;
}

function put32le(out: Uint8Array, o: number, v: number): void {
  out[o] = v & 0xff;
  out[o + 1] = (v >>> 8) & 0xff;
  out[o + 2] = (v >>> 16) & 0xff;
  out[o + 3] = v >>> 24;
}

function put32be(out: Uint8Array, o: number, v: number): void {
  out[o] = v >>> 24;
  out[o + 1] = (v >>> 16) & 0xff;
  out[o + 2] = (v >>> 8) & 0xff;
  out[o + 3] = v & 0xff;
}
