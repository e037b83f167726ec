/** The brand file: the sample is valid, and every mistake is reported with its file, line and column. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadBrandFile, parseBrand } from '../../../vendor-side/provisioning/brand.ts';

const SAMPLE_PATH = fileURLToPath(new URL('../../../templates/brand.sample.yaml', import.meta.url));
const SAMPLE = readFileSync(SAMPLE_PATH, 'utf8');

/** The sample with one line replaced. */
function withLine(from: string, to: string): string {
  expect(SAMPLE).toContain(from);
  return SAMPLE.replace(from, to);
}

function errorOf(text: string): { message: string; code: string; hint: string } {
  try {
    parseBrand(text, 'brand.yaml');
  } catch (e) {
    return e as { message: string; code: string; hint: string };
  }
  throw new Error('the brand was accepted');
}

describe('brand file', () => {
  it('reads the sample brand', () => {
    const b = loadBrandFile(SAMPLE_PATH);
    expect(b).toMatchObject({
      binary: 'initech-agent',
      displayName: 'Initech Agent',
      vendor: 'Initech',
      hub: { routes: ['tcp:hub.initech.example:4000'] },
      install: { url: 'https://get.initech.example', prefix: '/usr/local' },
      stateDir: '~/.initech-agent',
      homeEnv: 'INITECH_AGENT_HOME',
      service: { name: 'initech-agent', stateDir: '/var/lib/initech-agent' },
    });
    expect(b.customerConfig.outlets.map((o) => [o.name, o.variable, o.allow])).toEqual([
      ['github', 'GITHUB_ADDRESS', 'inlet-from-saas'],
      ['jira', 'JIRA_ADDRESS', 'inlet-from-saas'],
    ]);
    expect(b.customerConfig.inlet).toMatchObject({ via: 'saas-relay', to: 'saas', variable: 'SAAS_LISTEN', default: '127.0.0.1:7000' });
  });

  it('derives the optional keys from the binary name', () => {
    const minimal = SAMPLE.replace(/^state-dir:.*\n|^home-env:.*\n|^service:\n(  .*\n)+/gm, '');
    const b = parseBrand(minimal, 'brand.yaml');
    expect(b).toMatchObject({ stateDir: '~/.initech-agent', homeEnv: 'INITECH_AGENT_HOME', service: { name: 'initech-agent', stateDir: '/var/lib/initech-agent' } });
  });

  const cases: [string, string, string, RegExp][] = [
    ['binary: initech-agent ', 'binary: Initech_Agent ', 'bad binary name', /^brand\.yaml:5:9: binary: "Initech_Agent" is not valid/],
    ['vendor: Initech', 'vendor: "Ini`tech`"', 'shell characters in a name', /^brand\.yaml:7:9: vendor:/],
    ['support-url: https://support.initech.example/agent', 'support-url: ftp://x', 'not http(s)', /^brand\.yaml:8:14: support-url: "ftp:\/\/x" is not an http\(s\) URL/],
    ['    - tcp:hub.initech.example:4000', '    - hub.initech.example:4000', 'route without tcp:', /^brand\.yaml:15:7: hub\.routes: "hub\.initech\.example:4000" is not tcp:HOST:PORT/],
    ['  identifier: I00112233445566778899aabbccddeeff00112233', '  identifier: I0011', 'short identifier', /^brand\.yaml:16:15: hub\.identifier: "I0011" is not an identifier/],
    ['  url: https://get.initech.example', '  url: https://get.initech.example/$(id)', 'shell in the URL', /^brand\.yaml:22:8: install\.url: a URL cannot hold/],
    ['home-env: INITECH_AGENT_HOME', 'home-env: initech home', 'bad env name', /^brand\.yaml:26:11: home-env:/],
    ['  state-dir: /var/lib/initech-agent', '  state-dir: /opt/initech', 'service state outside /var/lib', /^brand\.yaml:29:14: service\.state-dir:/],
    ['  allow: inlet-from-saas               # who', '  allow: "inlet-from-saas and ("               # who', 'policy syntax', /^brand\.yaml:36:10: customer-config\.allow: the policy "inlet-from-saas and \(" does not parse/],
    ['      variable: JIRA_ADDRESS', '      variable: GITHUB_ADDRESS', 'variable used twice', /^brand\.yaml:50:17: customer-config\.outlets\[1\]\.variable: GITHUB_ADDRESS is used twice/],
    ['      variable: JIRA_ADDRESS', '      variable: RELAY', 'reserved variable', /^brand\.yaml:50:17: .*RELAY is the agent's own/],
    ['    - name: jira', '    - name: github', 'outlet listed twice', /^brand\.yaml:49:13: customer-config\.outlets\[1\]\.name: outlet github is listed twice/],
    ['      default: jira.local:443', '      default: jira.local', 'default without port', /^brand\.yaml:51:16: customer-config\.outlets\[1\]\.default: invalid address "jira\.local": no port/],
    ['vendor: Initech', 'vendor: Initech\ncolour: blue', 'unknown key', /^brand\.yaml:8:1: unknown key "colour" in the brand/],
    ['display-name: Initech Agent ', 'display-name: [Initech ', 'YAML syntax', /^brand\.yaml:[67]:\d+: YAML error/],
  ];
  for (const [from, to, what, re] of cases) {
    it(`reports ${what} at its line and column`, () => {
      const e = errorOf(withLine(from, to));
      expect(e.message).toMatch(re);
      expect(e.code).toMatch(/^POSTERN_BRAND_(INVALID|YAML)$/);
      expect(e.hint).toBeTruthy();
    });
  }

  it('names what is missing', () => {
    const e = errorOf('binary: initech-agent\n');
    expect(e.message).toBe('brand.yaml:1:1: the brand has no display-name, vendor, support-url, hub, install, customer-config');
  });

  it('names an unreadable file', () => {
    expect(() => loadBrandFile('/nonexistent/brand.yaml')).toThrow(/^\/nonexistent\/brand\.yaml:1:1: cannot read the brand file: ENOENT/);
  });
});
