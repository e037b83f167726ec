export type { KeyKind, KeyHandle, Vault } from './vault.ts';
export { MemoryVault } from './memory.ts';
