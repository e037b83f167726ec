/**
 * Every template in templates/<artifact>/*.hbs renders with the sample brand
 * under strict Handlebars, and each output is what its consumer accepts:
 * install.sh parses as POSIX sh, the config as a node config, the unit has
 * its ExecStart.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadBrandFile } from '../../../vendor-side/provisioning/brand.ts';
import { renderAll, renderTemplate, shQuote, templateFiles, TEMPLATES_DIR } from '../../../vendor-side/provisioning/templates.ts';
import { agentBrand } from '../../../vendor-side/provisioning/build.ts';
import { installCommand } from '../../../vendor-side/provisioning/install-command.ts';
import { parseConfig } from '../../../agent/config/index.ts';
import { BINARY_PATH_TOKEN } from '../../../agent/cli/brand.ts';

const brand = loadBrandFile(fileURLToPath(new URL('../../../templates/brand.sample.yaml', import.meta.url)));
const targets = [
  { target: 'linux-x64', file: 'initech-agent-linux-x64', sha256: 'a'.repeat(64), size: 127_000_000, sizeMiB: '121.1' },
  { target: 'linux-arm64', file: 'initech-agent-linux-arm64', sha256: 'b'.repeat(64), size: 120_000_000, sizeMiB: '114.4' },
];
const rendered = renderAll(brand, { version: '1.2.3', targets, binaryPath: '/usr/local/bin/initech-agent' });
const out = (name: string) => rendered.find((r) => r.output === name)!.content;

describe('templates', () => {
  it('renders every template in templates/<artifact>/ with the sample brand', () => {
    const onDisk = readdirSync(TEMPLATES_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(join(TEMPLATES_DIR, d.name)).filter((f) => f.endsWith('.hbs')).map((f) => `${d.name}/${f}`));
    expect(rendered.map((r) => r.template).sort()).toEqual(onDisk.sort());
    expect(rendered.map((r) => r.output).sort()).toEqual(['README.md', 'customer.yaml', 'initech-agent.service', 'install.sh']);
    for (const r of rendered) {
      expect(r.content.length).toBeGreaterThan(100);
      expect(r.content).not.toMatch(/undefined|\[object Object\]|\{\{|\}\}/);
      expect(r.content).toContain('Initech');
    }
  });

  it('renders an install.sh that parses as POSIX sh and carries each build\'s SHA-256', () => {
    const sh = out('install.sh');
    const dir = mkdtempSync(join(tmpdir(), 'tpl-'));
    try {
      writeFileSync(join(dir, 'install.sh'), sh);
      const r = spawnSync('sh', ['-n', join(dir, 'install.sh')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const help = spawnSync('sh', [join(dir, 'install.sh'), '--help'], { encoding: 'utf8' });
      expect(help.stdout).toMatch(/^Installs Initech Agent 1\.2\.3\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(sh).toContain(`linux-x64) printf '%s' '${'a'.repeat(64)}' ;;`);
    expect(sh).toContain(`linux-arm64) printf '%s' '${'b'.repeat(64)}' ;;`);
    expect(sh).toContain("BASE_URL='https://get.initech.example'");
    expect(rendered.find((r) => r.output === 'install.sh')!.mode).toBe(0o755);
  });

  it('renders the walk-through\'s customer.yaml as a valid node config', () => {
    const c = parseConfig(out('customer.yaml'), 'customer.yaml', { variables: { RELAY: 'acme-relay', SAAS_LISTEN: '127.0.0.1:7000', GITHUB_ADDRESS: 'github.local:80', JIRA_ADDRESS: 'jira.local:443' } });
    expect(c).toEqual({
      relays: ['acme-relay'],
      inlets: [{ from: { host: '127.0.0.1', port: 7000 }, via: 'saas-relay', to: 'saas', allow: 'outlet-to-saas' }],
      outlets: [
        { name: 'github', to: { host: 'github.local', port: 80 }, allow: 'inlet-from-saas' },
        { name: 'jira', to: { host: 'jira.local', port: 443 }, allow: 'inlet-from-saas' },
      ],
      policies: [{ resourceType: 'tcp-outlet', allow: 'inlet-from-saas' }],
    });
  });

  it('renders the systemd unit and the README', () => {
    expect(out('initech-agent.service')).toMatch(/^ExecStart=\/usr\/local\/bin\/initech-agent up$/m);
    expect(out('initech-agent.service')).toMatch(/^Environment=INITECH_AGENT_HOME=\/var\/lib\/initech-agent$/m);
    expect(out('initech-agent.service')).toMatch(/^StateDirectory=initech-agent$/m);
    expect(out('README.md')).toContain('curl -fsSL https://get.initech.example/install.sh | sh -s -- \\');
    expect(out('README.md')).toContain('| linux-arm64 | `initech-agent-linux-arm64` | 114.4 MiB |');
  });

  it('bakes the rendered config and unit into the agent\'s brand', () => {
    const ab = agentBrand(brand, '1.2.3');
    expect(ab.config).toBe(out('customer.yaml'));
    expect(ab.service.unit).toContain(`ExecStart=${BINARY_PATH_TOKEN} up`);
    expect(ab.variables.map((v) => v.name)).toEqual(['SAAS_LISTEN', 'GITHUB_ADDRESS', 'JIRA_ADDRESS']);
    expect(ab.hub).toEqual(brand.hub);
  });

  it('is strict: a field the brand does not have is an error, not an empty string', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpl-'));
    try {
      mkdirSync(join(dir, 'x'));
      writeFileSync(join(dir, 'x', 'agent.conf.hbs'), 'name={{binary}} colour={{colour}}\n');
      expect(templateFiles(brand, dir)).toEqual([{ template: 'x/agent.conf.hbs', output: 'initech-agent.conf', mode: 0o644 }]);
      expect(() => renderTemplate('x/agent.conf.hbs', { binary: 'initech-agent' }, dir)).toThrow(/cannot render templates\/x\/agent\.conf\.hbs: "colour" not defined/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('install command', () => {
  it('is one line a customer pastes', () => {
    expect(installCommand('https://get.initech.example', 'pstn1_AbC-_9')).toBe('curl -fsSL https://get.initech.example/install.sh | sh -s -- --ticket pstn1_AbC-_9');
    expect(installCommand('http://127.0.0.1:8080', 'pstn1_x')).toBe('curl -fsSL http://127.0.0.1:8080/install.sh | sh -s -- --ticket pstn1_x');
  });

  it('quotes for the shell whatever is not plainly safe', () => {
    expect(shQuote("it's")).toBe(`'it'\\''s'`);
    expect(installCommand('https://x.example/a b', 'pstn1_x')).toBe(`curl -fsSL 'https://x.example/a b/install.sh' | sh -s -- --ticket pstn1_x`);
  });
});
