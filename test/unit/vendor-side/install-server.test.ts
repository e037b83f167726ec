/** The hub's install endpoint over a loopback port: only the build's files, each checked against its SHA-256 at start. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startInstallServer } from '../../../vendor-side/provisioning/install-server.ts';
import type { Manifest } from '../../../vendor-side/provisioning/build.ts';

const dir = mkdtempSync(join(tmpdir(), 'install-server-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function artifacts(files: Record<string, string>, tamper?: string): void {
  const manifest: Manifest = {
    version: 1,
    binary: 'initech-agent',
    displayName: 'Initech Agent',
    vendor: 'Initech',
    agentVersion: '1.2.3',
    installUrl: 'http://127.0.0.1:1',
    builtAt: new Date(0).toISOString(),
    files: Object.entries(files).map(([name, content]) => ({
      name,
      sha256: createHash('sha256').update(content).digest('hex'),
      size: Buffer.byteLength(content),
      kind: name.endsWith('.sh') ? 'template' : 'binary',
      ...(name.endsWith('.sh') ? {} : { target: 'linux-x64' }),
    })),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), name === tamper ? `${content}!` : content);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  writeFileSync(join(dir, 'secret.txt'), 'not listed');
}

describe('install server', () => {
  it('serves the listed files with their SHA-256, and 404s the rest', async () => {
    artifacts({ 'install.sh': '#!/bin/sh\necho hi\n', 'initech-agent-linux-x64': 'ELF…' });
    const lines: string[] = [];
    const s = await startInstallServer({ artifacts: dir, listen: { host: '127.0.0.1', port: 0 }, log: (l) => lines.push(l) });
    try {
      const base = `http://127.0.0.1:${s.address.port}`;
      const r = await request(`${base}/initech-agent-linux-x64`);
      expect(r.statusCode).toBe(200);
      expect(r.headers['x-checksum-sha256']).toBe(createHash('sha256').update('ELF…').digest('hex'));
      expect(r.headers['content-type']).toBe('application/octet-stream');
      expect(await r.body.text()).toBe('ELF…');
      for (const path of ['/secret.txt', '/manifest.json', '/', '/%2e%2e/etc/passwd', '/install.sh/']) {
        const x = await request(`${base}${path}`);
        expect(x.statusCode, path).toBe(404);
        await x.body.dump();
      }
      expect(lines.some((l) => /^install: GET \/initech-agent-linux-x64 from 127\.0\.0\.1 → 200$/.test(l))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('refuses to start when a file no longer matches its build', async () => {
    artifacts({ 'install.sh': '#!/bin/sh\n' }, 'install.sh');
    await expect(startInstallServer({ artifacts: dir, listen: { host: '127.0.0.1', port: 0 } })).rejects.toMatchObject({ code: 'POSTERN_ARTIFACTS_INVALID' });
  });

  it('explains an empty directory', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'install-server-'));
    try {
      await expect(startInstallServer({ artifacts: empty, listen: { host: '127.0.0.1', port: 0 } })).rejects.toMatchObject({ code: 'POSTERN_ARTIFACTS_MISSING', hint: expect.stringContaining('postern agent build') });
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
