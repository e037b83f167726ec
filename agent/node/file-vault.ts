/**
 * A vault persisted in one 0600 JSON file in the node's state directory.
 * Every generate/delete rewrites the file atomically (temporary file + rename).
 */
import { existsSync, readFileSync } from 'node:fs';
import { PosternError } from '../../protocol/errors.ts';
import { MemoryVault } from '../../protocol/vault/memory.ts';
import type { KeyHandle, KeyKind } from '../../protocol/vault/vault.ts';
import { writeJsonFile } from './files.ts';

interface VaultFile {
  version: 1;
  keys: { label: string; kind: KeyKind; secret: string }[];
}

export class FileVault extends MemoryVault {
  readonly path: string;

  private constructor(path: string) {
    super();
    this.path = path;
  }

  static open(path: string): FileVault {
    const v = new FileVault(path);
    if (!existsSync(path)) return v;
    let doc: VaultFile;
    try {
      doc = JSON.parse(readFileSync(path, 'utf8')) as VaultFile;
    } catch {
      throw new PosternError('POSTERN_VAULT_CORRUPT', `vault ${path} is unreadable`, 'restore it from a backup');
    }
    if (doc?.version !== 1 || !Array.isArray(doc.keys)) throw new PosternError('POSTERN_VAULT_CORRUPT', `vault ${path} has an unknown format`);
    for (const k of doc.keys) {
      if ((k.kind !== 'ed25519' && k.kind !== 'x25519') || typeof k.label !== 'string' || typeof k.secret !== 'string') {
        throw new PosternError('POSTERN_VAULT_CORRUPT', `vault ${path} has a malformed key`);
      }
      v.importSecret(k.kind, k.label, new Uint8Array(Buffer.from(k.secret, 'base64')));
    }
    return v;
  }

  override generate(kind: KeyKind, label: string): KeyHandle {
    const h = super.generate(kind, label);
    this.save();
    return h;
  }

  override delete(label: string): boolean {
    const had = super.delete(label);
    if (had) this.save();
    return had;
  }

  private save(): void {
    const doc: VaultFile = {
      version: 1,
      keys: [...this.keys].map(([label, e]) => ({ label, kind: e.kind, secret: Buffer.from(e.secret).toString('base64') })),
    };
    writeJsonFile(this.path, doc);
  }
}
