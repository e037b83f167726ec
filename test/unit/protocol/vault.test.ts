import { describe, expect, it } from 'vitest';
import { nobleCrypto, nodeCrypto } from '../../../protocol/crypto/index.ts';
import type { CryptoProvider } from '../../../protocol/crypto/provider.ts';
import { utf8 } from '../../../protocol/bytes.ts';
import { PosternError } from '../../../protocol/errors.ts';
import { MemoryVault } from '../../../protocol/vault/index.ts';
import { codeOf } from '../../helpers/errors.ts';

/** Reaches the protected entries, as a persistent subclass would. */
class InspectableVault extends MemoryVault {
  secretOf(label: string): Uint8Array | undefined {
    return this.keys.get(label)?.secret;
  }
}


describe.each([
  ['node:crypto', nodeCrypto],
  ['noble', nobleCrypto],
] as [string, CryptoProvider][])('MemoryVault on %s', (_name, c) => {
  it('generates an ed25519 key that signs verifiably', () => {
    const v = new MemoryVault(c);
    const h = v.generate('ed25519', 'identity');
    expect(h.label).toBe('identity');
    expect(h.kind).toBe('ed25519');
    expect(h.publicKey).toHaveLength(32);
    expect(v.get('identity')).toEqual(h);
    expect(v.exportPublic('identity')).toEqual(h.publicKey);
    const m = utf8('hello');
    const sig = v.sign('identity', m);
    expect(sig).toHaveLength(64);
    expect(c.ed25519Verify(h.publicKey, m, sig)).toBe(true);
    expect(c.ed25519Verify(h.publicKey, utf8('hellp'), sig)).toBe(false);
  });

  it('agrees the same DH secret in two vaults', () => {
    const a = new MemoryVault(c);
    const b = new MemoryVault(c);
    const ha = a.generate('x25519', 'static');
    const hb = b.generate('x25519', 'static');
    const ab = a.dh('static', hb.publicKey);
    const ba = b.dh('static', ha.publicKey);
    expect(ab).toHaveLength(32);
    expect(ab).toEqual(ba);
    const third = new MemoryVault(c).generate('x25519', 'x');
    expect(a.dh('static', third.publicKey)).not.toEqual(ab);
  });

  it('refuses the wrong kind, unknown labels and taken labels', () => {
    const v = new MemoryVault(c);
    const ed = v.generate('ed25519', 'id');
    const x = v.generate('x25519', 'static');
    expect(codeOf(() => v.sign('static', utf8('m')))).toBe('POSTERN_VAULT_KIND');
    expect(codeOf(() => v.dh('id', x.publicKey))).toBe('POSTERN_VAULT_KIND');
    expect(codeOf(() => v.sign('nope', utf8('m')))).toBe('POSTERN_VAULT_NO_KEY');
    expect(codeOf(() => v.dh('nope', x.publicKey))).toBe('POSTERN_VAULT_NO_KEY');
    expect(codeOf(() => v.exportPublic('nope'))).toBe('POSTERN_VAULT_NO_KEY');
    expect(v.get('nope')).toBeUndefined();
    expect(codeOf(() => v.generate('x25519', 'id'))).toBe('POSTERN_VAULT_EXISTS');
    expect(codeOf(() => v.importSecret('ed25519', 'static', new Uint8Array(32)))).toBe('POSTERN_VAULT_EXISTS');
    expect(codeOf(() => v.generate('rsa' as 'ed25519', 'r'))).toBe('POSTERN_VAULT_KIND');
    expect(codeOf(() => v.generate('ed25519', ''))).toBe('POSTERN_VAULT_LABEL');
    // The existing key is untouched by the refused generate.
    expect(v.exportPublic('id')).toEqual(ed.publicKey);
  });

  it('refuses a bad peer key for DH with a PosternError', () => {
    const v = new MemoryVault(c);
    v.generate('x25519', 'static');
    expect(codeOf(() => v.dh('static', new Uint8Array(31)))).toBe('POSTERN_VAULT_DH');
    // The all-zero point has small order: the shared secret would be zero.
    expect(codeOf(() => v.dh('static', new Uint8Array(32)))).toBe('POSTERN_VAULT_DH');
  });

  it('delete wipes the secret and forgets the key', () => {
    const v = new InspectableVault(c);
    v.generate('ed25519', 'id');
    const secret = v.secretOf('id')!;
    expect(secret.some((b) => b !== 0)).toBe(true);
    expect(v.delete('id')).toBe(true);
    expect(secret.every((b) => b === 0)).toBe(true);
    expect(v.get('id')).toBeUndefined();
    expect(codeOf(() => v.sign('id', utf8('m')))).toBe('POSTERN_VAULT_NO_KEY');
    expect(v.delete('id')).toBe(false);
    // The label can be reused for a fresh key.
    expect(v.generate('x25519', 'id').kind).toBe('x25519');
  });

  it('importSecret keeps its own copy and derives the right public key', () => {
    const v = new InspectableVault(c);
    const secret = c.ed25519Generate();
    const h = v.importSecret('ed25519', 'id', secret);
    expect(h.publicKey).toEqual(c.ed25519PublicKey(secret));
    const m = utf8('m');
    const before = v.sign('id', m);
    secret.fill(7);
    expect(v.sign('id', m)).toEqual(before);
    expect(v.secretOf('id')).not.toBe(secret);
    expect(codeOf(() => v.importSecret('x25519', 'short', new Uint8Array(31)))).toBe('POSTERN_VAULT_BAD_SECRET');
    expect(v.get('short')).toBeUndefined();
  });

  it('hands out copies of public keys, so callers cannot change the vault', () => {
    const v = new MemoryVault(c);
    const h = v.generate('ed25519', 'id');
    const original = h.publicKey.slice();
    h.publicKey.fill(0);
    v.exportPublic('id').fill(0);
    v.get('id')!.publicKey.fill(0);
    expect(v.exportPublic('id')).toEqual(original);
  });
});

describe('MemoryVault across providers', () => {
  it('an imported secret gives the same keys and signatures on both providers', () => {
    const secret = nodeCrypto.ed25519Generate();
    const a = new MemoryVault(nodeCrypto);
    const b = new MemoryVault(nobleCrypto);
    expect(a.importSecret('ed25519', 'id', secret).publicKey).toEqual(b.importSecret('ed25519', 'id', secret).publicKey);
    expect(a.sign('id', utf8('m'))).toEqual(b.sign('id', utf8('m')));
    const xa = a.generate('x25519', 's');
    const xb = b.generate('x25519', 's');
    expect(a.dh('s', xb.publicKey)).toEqual(b.dh('s', xa.publicKey));
  });
});
