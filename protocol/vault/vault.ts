/** The vault: keys are generated and used inside it; only public keys come out. */
export type KeyKind = 'ed25519' | 'x25519';

export interface KeyHandle {
  readonly label: string;
  readonly kind: KeyKind;
  readonly publicKey: Uint8Array;
}

export interface Vault {
  generate(kind: KeyKind, label: string): KeyHandle;
  get(label: string): KeyHandle | undefined;
  sign(label: string, message: Uint8Array): Uint8Array;
  dh(label: string, peerPublicKey: Uint8Array): Uint8Array;
  exportPublic(label: string): Uint8Array;
  delete(label: string): boolean;
}
