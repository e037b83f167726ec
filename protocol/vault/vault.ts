/**
 * The vault: keys are generated (or imported once) and used inside it; only
 * public keys come out. Everything that signs or agrees a key goes through a
 * label, so a vault backed by a file, an OS keychain or an HSM can stand in
 * for the in-memory one.
 */
export type KeyKind = 'ed25519' | 'x25519';

export const KEY_KINDS: readonly KeyKind[] = ['ed25519', 'x25519'];

export interface KeyHandle {
  readonly label: string;
  readonly kind: KeyKind;
  readonly publicKey: Uint8Array;
}

export interface Vault {
  /** New key pair under `label`. POSTERN_VAULT_EXISTS if the label is taken. */
  generate(kind: KeyKind, label: string): KeyHandle;
  get(label: string): KeyHandle | undefined;
  /** Ed25519 signature. POSTERN_VAULT_NO_KEY for an unknown label, POSTERN_VAULT_KIND for an x25519 key. */
  sign(label: string, message: Uint8Array): Uint8Array;
  /** Raw X25519 with the peer's public key. POSTERN_VAULT_KIND for an ed25519 key. */
  dh(label: string, peerPublicKey: Uint8Array): Uint8Array;
  /** The public key. POSTERN_VAULT_NO_KEY for an unknown label. */
  exportPublic(label: string): Uint8Array;
  /** Remove the key and wipe its secret; false if there was none. */
  delete(label: string): boolean;
}
