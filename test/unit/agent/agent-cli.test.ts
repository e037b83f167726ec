/**
 * The branded agent's CLI in-process: help and errors carry the brand, the
 * dispatcher's usage errors, the pinned trust anchor, variables and state
 * directory, and the checks `up` makes before it redeems anything.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir, homedir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { dispatch } from '../../../agent/cli/dispatch.ts';
import { AGENT_COMMANDS } from '../../../agent/cli/commands/index.ts';
import { agentHome, BINARY_PATH_TOKEN, DEVELOPMENT_BRAND, pinTicket, variablesWithDefaults, type AgentBrand } from '../../../agent/cli/brand.ts';
import { describeStep, installSteps, serviceUnit } from '../../../agent/cli/service.ts';
import { identifierOf } from '../../../protocol/identity/identifier.ts';
import { encodeTicket, type Ticket } from '../../../protocol/ticket/ticket.ts';

const authorityKey = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
const hubKey = ed25519.getPublicKey(ed25519.utils.randomSecretKey());

const BRAND: AgentBrand = {
  ...DEVELOPMENT_BRAND,
  binary: 'initech-agent',
  displayName: 'Initech Agent',
  vendor: 'Initech',
  supportUrl: 'https://support.initech.example/agent',
  version: '9.9.9',
  hub: { routes: ['tcp:hub.initech.example:4000'], identifier: identifierOf(hubKey), authority: identifierOf(authorityKey) },
  stateDir: '~/.initech-agent',
  homeEnv: 'INITECH_AGENT_HOME',
  service: { name: 'initech-agent', stateDir: '/var/lib/initech-agent', unit: `[Service]\nExecStart=${BINARY_PATH_TOKEN} up\n` },
  config: 'relay: $RELAY\ntcp-outlet:\n  - from: github\n    to: $GITHUB_ADDRESS\n',
  variables: [{ name: 'GITHUB_ADDRESS', description: 'your GitHub server', default: null }],
};

const ticket = (o: Partial<Ticket> = {}): Ticket => ({
  project: 'Pabc',
  authorityPublicKey: authorityKey,
  hubPublicKey: hubKey,
  routes: ['tcp:elsewhere.example:1'],
  secret: randomBytes(32),
  ...o,
});

async function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await dispatch(BRAND, AGENT_COMMANDS, argv, { out: (t) => (out += t), err: (t) => (err += t) }, env);
  return { code, out, err };
}

describe('agent CLI: help and usage', () => {
  it('names the brand in the root help and lists every command', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Initech Agent 9\.9\.9: connects Initech/);
    for (const c of AGENT_COMMANDS) expect(r.out).toContain(c.id);
    expect(r.out).toContain('INITECH_AGENT_HOME');
    expect(r.out).toContain('https://support.initech.example/agent');
    expect((await run([])).out).toBe(r.out);
  });

  it('gives each command its own --help with usage, flags and examples', async () => {
    for (const c of AGENT_COMMANDS) {
      const r = await run([...c.id.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`$ initech-agent ${c.id}`);
      expect(r.out).toMatch(/FLAGS\n/);
    }
    const up = await run(['up', '--help']);
    expect(up.out).toMatch(/GITHUB_ADDRESS\s+your GitHub server \(required\)/);
    expect((await run(['help', 'tcp-outlet', 'create'])).out).toMatch(/--from NAME/);
  });

  it('refuses unknown commands, unknown flags and missing values with POSTERN_USAGE and exit 2', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown).toMatchObject({ code: 2 });
    expect(unknown.err).toMatch(/unknown command "frobnicate"[\s\S]*\(code POSTERN_USAGE\)/);
    const flag = await run(['status', '--colour']);
    expect(flag.code).toBe(2);
    expect(flag.err).toMatch(/Unknown option '--colour'\nHint: see `initech-agent status --help`/);
    const missing = await run(['tcp-outlet', 'create', '--from', 'jira']);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/missing --to/);
    const arg = await run(['relay', 'create']);
    expect(arg.err).toMatch(/missing argument NAME/);
    const topic = await run(['service']);
    expect(topic.code).toBe(2);
    expect(topic.err).toMatch(/service install[\s\S]*service uninstall/);
  });

  it('prints its version', async () => {
    expect((await run(['version'])).out).toMatch(/^initech-agent 9\.9\.9 \(Initech Agent by Initech; Postern agent on Node v\d+/);
    expect(JSON.parse((await run(['--version', '--json'])).out)).toMatchObject({ name: 'initech-agent', version: '9.9.9' });
  });
});

describe('agent CLI: trust anchor, variables, state directory', () => {
  it('accepts a ticket for the pinned authority and hub, and dials the brand\'s routes only', () => {
    expect(pinTicket(BRAND, ticket()).routes).toEqual(['tcp:hub.initech.example:4000']);
  });

  it('refuses a ticket naming another authority or another hub', () => {
    const other = ed25519.getPublicKey(ed25519.utils.randomSecretKey());
    expect(() => pinTicket(BRAND, ticket({ authorityPublicKey: other }))).toThrow(/names authority I[0-9a-f]{40}, not Initech's authority/);
    expect(() => pinTicket(BRAND, ticket({ hubPublicKey: other }))).toThrow(/names hub I[0-9a-f]{40}, not Initech's hub/);
    try {
      pinTicket(BRAND, ticket({ hubPublicKey: other }));
    } catch (e) {
      expect(e).toMatchObject({ code: 'POSTERN_TICKET_UNTRUSTED', hint: expect.stringContaining('https://support.initech.example/agent') });
    }
  });

  it('takes a variable from the flags, else the environment, else the default', () => {
    const b = { ...BRAND, variables: [{ name: 'A', description: 'a', default: 'a.local:1' }, { name: 'B', description: 'b', default: 'b.local:1' }, { name: 'C', description: 'c', default: null }] };
    expect(variablesWithDefaults(b, { A: 'flag:1' }, { B: 'env:1' })).toEqual({ A: 'flag:1' });
    expect(variablesWithDefaults(b, {}, {})).toEqual({ A: 'a.local:1', B: 'b.local:1' });
  });

  it('keeps its state in the brand\'s directory unless its environment variable says otherwise', () => {
    expect(agentHome(BRAND, {})).toBe(join(homedir(), '.initech-agent'));
    expect(agentHome(BRAND, { INITECH_AGENT_HOME: '/srv/agent', POSTERN_HOME: '/elsewhere' })).toBe('/srv/agent');
  });
});

describe('agent CLI: up checks before redeeming', () => {
  it('asks for a ticket when not enrolled', async () => {
    const home = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    try {
      const r = await run(['up'], { INITECH_AGENT_HOME: home });
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/Initech Agent is not enrolled yet\nHint: pass the ticket Initech gave you: initech-agent up --ticket FILE\|TICKET\n\(code POSTERN_NOT_ENROLLED\)/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses a foreign ticket and a bad config value without keeping the ticket', async () => {
    const home = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    try {
      const foreign = encodeTicket(ticket({ authorityPublicKey: ed25519.getPublicKey(ed25519.utils.randomSecretKey()) }));
      const f = await run(['up', '--ticket', foreign], { INITECH_AGENT_HOME: home });
      expect(f.err).toMatch(/POSTERN_TICKET_UNTRUSTED/);
      const missing = await run(['up', '--ticket', encodeTicket(ticket())], { INITECH_AGENT_HOME: home });
      expect(missing.err).toMatch(/built-in config\):4:9: tcp-outlet\.to: variable GITHUB_ADDRESS is not set[\s\S]*POSTERN_CONFIG_VARIABLE/);
      const bad = await run(['up', '--ticket', encodeTicket(ticket()), '--variable', 'GITHUB_ADDRESS=no-port'], { INITECH_AGENT_HOME: home });
      expect(bad.err).toMatch(/invalid address "no-port"/);
      const damaged = await run(['up', '--ticket', 'pstn1_AAAA'], { INITECH_AGENT_HOME: home });
      expect(damaged.err).toMatch(/POSTERN_TICKET_DAMAGED/);
      expect(damaged.err).not.toMatch(/\n\s+at /);
      expect(existsSync(join(home, 'nodes', 'initech-agent', 'enrollment.ticket'))).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('agent CLI: systemd service', () => {
  it('fills the binary\'s path into the brand\'s unit and lists its steps', () => {
    expect(serviceUnit(BRAND, '/usr/local/bin/initech-agent')).toBe('[Service]\nExecStart=/usr/local/bin/initech-agent up\n');
    const steps = installSteps(BRAND, '/usr/local/bin/initech-agent', '/var/lib/initech-agent', '/tmp/units').map(describeStep);
    expect(steps[0]).toMatch(/record the ticket and variables in \/var\/lib\/initech-agent/);
    expect(steps[1]).toMatch(/^write \/tmp\/units\/initech-agent\.service \(mode 644\)/);
    expect(steps.slice(2)).toEqual(['run systemctl daemon-reload', 'run systemctl enable --now initech-agent.service']);
  });

  it('prints what it would do with --dry-run and changes nothing', async () => {
    const home = mkdtempSync(join(tmpdir(), 'agent-cli-'));
    try {
      const r = await run(['service', 'install', '--dry-run', '--ticket', encodeTicket(ticket())], { INITECH_AGENT_HOME: home });
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Would install the initech-agent service:\n1\. record the ticket/);
      expect(r.out).toContain('/etc/systemd/system/initech-agent.service');
      expect(existsSync(join(home, 'nodes'))).toBe(false);
      expect((await run(['service', 'uninstall', '--dry-run'])).out).toMatch(/run systemctl disable --now initech-agent\.service/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
