/**
 * The customer's binary holds agent/ and protocol/ only: bundle the agent as
 * `postern agent build` does and walk esbuild's metafile. Anything from
 * vendor-side/ (or the vendor's tooling) in it fails this test, and the build.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBrandFile } from '../../../vendor-side/provisioning/brand.ts';
import { agentBrand, bundleAgent, forbiddenInputs, posternVersion } from '../../../vendor-side/provisioning/build.ts';

const dir = mkdtempSync(join(tmpdir(), 'agent-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('agent bundle', () => {
  it('holds agent/ and protocol/ and their few dependencies, nothing of vendor-side/', async () => {
    const brand = agentBrand(loadBrandFile(fileURLToPath(new URL('../../../templates/brand.sample.yaml', import.meta.url))), posternVersion());
    const out = join(dir, 'agent.cjs');
    const { metafile } = await bundleAgent(brand, out);
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('agent/cli/main.ts');
    expect(forbiddenInputs(metafile)).toEqual([]);
    const top = new Set(inputs.map((i) => (i.startsWith('node_modules/') ? i.split('/').slice(0, i.split('/')[1]!.startsWith('@') ? 3 : 2).join('/') : i.split('/')[0])));
    expect([...top].sort()).toEqual(['<define:__POSTERN_AGENT_BRAND__>', 'agent', 'node_modules/@noble/ciphers', 'node_modules/@noble/curves', 'node_modules/@noble/hashes', 'node_modules/yaml', 'protocol']);
    // The brand is baked in: the bundle names it and needs nothing at run time to find it.
    const code = readFileSync(out, 'utf8');
    expect(code).toContain('displayName: "Initech Agent"');
    expect(code).not.toMatch(/typeof __POSTERN_AGENT_BRAND__/);
  });

  it('would fail on a vendor-side input', () => {
    expect(forbiddenInputs({ inputs: { 'agent/cli/main.ts': {}, 'vendor-side/hub/server.ts': {} } })).toEqual(['vendor-side/hub/server.ts']);
  });
});
