export type { AeadKey, CipherName, CryptoProvider, HashFunction, HashName } from './provider.ts';
export { TAG_LEN, KEY_LEN, DH_LEN } from './provider.ts';
export { nodeCrypto } from './node.ts';
export { nobleCrypto } from './noble.ts';
import { nodeCrypto } from './node.ts';

/** The provider the runtime uses unless told otherwise: the measured-faster one. */
export const defaultCrypto = nodeCrypto;
