export type { KeyKind, KeyHandle, Vault } from './vault.ts';
export { KEY_KINDS } from './vault.ts';
export { MemoryVault, SECRET_KEY_LEN, MAX_LABEL_LEN, type VaultEntry } from './memory.ts';
