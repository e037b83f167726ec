/** Noise Protocol Framework rev 34 constants (spec values, not tunables). */

/** §3: every Noise message is at most 65535 bytes. */
export const NOISE_MAX_MESSAGE = 65535;
/** §4.1: DHLEN for 25519. */
export const DHLEN = 32;
/** §4.2: the tag every AEAD in Noise appends. */
export const TAGLEN = 16;
/** §5.1: nonce 2^64-1 is reserved; REKEY uses it. We cap nonces at 2^53-1. */
export const MAX_NONCE = Number.MAX_SAFE_INTEGER;
