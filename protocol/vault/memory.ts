import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { PosternError } from '../errors.ts';
import type { KeyHandle, KeyKind, Vault } from './vault.ts';

interface Entry {
  kind: KeyKind;
  secret: Uint8Array;
  publicKey: Uint8Array;
}

export class MemoryVault implements Vault {
  protected readonly crypto: CryptoProvider;
  protected readonly keys = new Map<string, Entry>();

  constructor(crypto: CryptoProvider = defaultCrypto) {
    this.crypto = crypto;
  }

  private entry(label: string, kind?: KeyKind): Entry {
    const e = this.keys.get(label);
    if (e === undefined) throw new PosternError('POSTERN_VAULT_NO_KEY', `no key labelled ${label}`);
    if (kind !== undefined && e.kind !== kind) throw new PosternError('POSTERN_VAULT_KIND', `key ${label} is ${e.kind}, not ${kind}`);
    return e;
  }

  importSecret(kind: KeyKind, label: string, secret: Uint8Array): KeyHandle {
    if (this.keys.has(label)) throw new PosternError('POSTERN_VAULT_EXISTS', `a key labelled ${label} exists`);
    if (secret.length !== 32) throw new PosternError('POSTERN_VAULT_KIND', 'secret keys are 32 bytes');
    const s = secret.slice();
    const publicKey = kind === 'ed25519' ? this.crypto.ed25519PublicKey(s) : this.crypto.x25519PublicKey(s);
    this.keys.set(label, { kind, secret: s, publicKey });
    return { label, kind, publicKey };
  }

  generate(kind: KeyKind, label: string): KeyHandle {
    const secret = kind === 'ed25519' ? this.crypto.ed25519Generate() : this.crypto.x25519Generate();
    return this.importSecret(kind, label, secret);
  }

  get(label: string): KeyHandle | undefined {
    const e = this.keys.get(label);
    return e === undefined ? undefined : { label, kind: e.kind, publicKey: e.publicKey };
  }

  sign(label: string, message: Uint8Array): Uint8Array {
    return this.crypto.ed25519Sign(this.entry(label, 'ed25519').secret, message);
  }

  dh(label: string, peerPublicKey: Uint8Array): Uint8Array {
    return this.crypto.x25519(this.entry(label, 'x25519').secret, peerPublicKey);
  }

  exportPublic(label: string): Uint8Array {
    return this.entry(label).publicKey;
  }

  delete(label: string): boolean {
    const e = this.keys.get(label);
    if (e === undefined) return false;
    e.secret.fill(0);
    return this.keys.delete(label);
  }
}
