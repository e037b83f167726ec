/**
 * An in-memory vault. Secrets live only in this object and are zeroed when a
 * key is deleted. A persistent vault (agent/node/file-vault.ts) extends it and
 * reaches the entries through the protected `keys` map.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { wipe } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import type { KeyHandle, KeyKind, Vault } from './vault.ts';

export const SECRET_KEY_LEN = 32;
export const MAX_LABEL_LEN = 128;

/** What the vault keeps per label. `secret` is owned by the vault. */
export interface VaultEntry {
  kind: KeyKind;
  secret: Uint8Array;
  publicKey: Uint8Array;
}

function isKind(k: unknown): k is KeyKind {
  return k === 'ed25519' || k === 'x25519';
}

export class MemoryVault implements Vault {
  protected readonly crypto: CryptoProvider;
  protected readonly keys = new Map<string, VaultEntry>();

  constructor(crypto: CryptoProvider = defaultCrypto) {
    this.crypto = crypto;
  }

  /** The entry under `label`, checked to be of `kind` when one is given. */
  protected entry(label: string, kind?: KeyKind): VaultEntry {
    const e = this.keys.get(label);
    if (e === undefined) {
      throw new PosternError('POSTERN_VAULT_NO_KEY', `the vault has no key labelled ${JSON.stringify(label)}`, 'create the node identity first, or check the key label');
    }
    if (kind !== undefined && e.kind !== kind) {
      throw new PosternError('POSTERN_VAULT_KIND', `key ${JSON.stringify(label)} is an ${e.kind} key, not ${kind}`, 'this is a bug in the caller: use the key made for this purpose');
    }
    return e;
  }

  protected checkNew(kind: KeyKind, label: string): void {
    if (!isKind(kind)) {
      throw new PosternError('POSTERN_VAULT_KIND', `unknown key kind ${JSON.stringify(String(kind))}`, 'key kinds are ed25519 and x25519');
    }
    if (typeof label !== 'string' || label.length < 1 || label.length > MAX_LABEL_LEN) {
      throw new PosternError('POSTERN_VAULT_LABEL', `a key label must be 1..${MAX_LABEL_LEN} characters`, 'this is a bug in the caller: choose a short, non-empty label');
    }
    if (this.keys.has(label)) {
      throw new PosternError('POSTERN_VAULT_EXISTS', `the vault already has a key labelled ${JSON.stringify(label)}`, 'delete it first or use another label');
    }
  }

  /**
   * Take a secret key into the vault (the vault keeps its own copy; the
   * caller should wipe its buffer). This is the only way a secret enters.
   */
  importSecret(kind: KeyKind, label: string, secret: Uint8Array): KeyHandle {
    this.checkNew(kind, label);
    if (!(secret instanceof Uint8Array) || secret.length !== SECRET_KEY_LEN) {
      throw new PosternError('POSTERN_VAULT_BAD_SECRET', `a secret key is ${SECRET_KEY_LEN} bytes`, 'the vault file may be damaged; restore it from a backup');
    }
    const own = secret.slice();
    const publicKey = kind === 'ed25519' ? this.crypto.ed25519PublicKey(own) : this.crypto.x25519PublicKey(own);
    this.keys.set(label, { kind, secret: own, publicKey: publicKey.slice() });
    return { label, kind, publicKey: publicKey.slice() };
  }

  generate(kind: KeyKind, label: string): KeyHandle {
    this.checkNew(kind, label);
    const secret = kind === 'ed25519' ? this.crypto.ed25519Generate() : this.crypto.x25519Generate();
    try {
      return this.importSecret(kind, label, secret);
    } finally {
      wipe(secret);
    }
  }

  get(label: string): KeyHandle | undefined {
    const e = this.keys.get(label);
    return e === undefined ? undefined : { label, kind: e.kind, publicKey: e.publicKey.slice() };
  }

  sign(label: string, message: Uint8Array): Uint8Array {
    return this.crypto.ed25519Sign(this.entry(label, 'ed25519').secret, message);
  }

  dh(label: string, peerPublicKey: Uint8Array): Uint8Array {
    const e = this.entry(label, 'x25519');
    if (!(peerPublicKey instanceof Uint8Array) || peerPublicKey.length !== 32) {
      throw new PosternError('POSTERN_VAULT_DH', 'the peer public key is not 32 bytes', 'the peer sent an invalid key; do not trust this connection');
    }
    try {
      return this.crypto.x25519(e.secret, peerPublicKey);
    } catch (cause) {
      throw new PosternError('POSTERN_VAULT_DH', 'key agreement failed (low-order peer key)', 'the peer sent an invalid key; do not trust this connection', { cause });
    }
  }

  exportPublic(label: string): Uint8Array {
    return this.entry(label).publicKey.slice();
  }

  delete(label: string): boolean {
    const e = this.keys.get(label);
    if (e === undefined) return false;
    wipe(e.secret);
    return this.keys.delete(label);
  }
}
