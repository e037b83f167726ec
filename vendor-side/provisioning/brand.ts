/**
 * The vendor's brand file (YAML): what the customer agent is called, whom it
 * trusts, where it is installed from, and its default config. Read into one
 * validated Brand object; every error is a ConfigError that names the file,
 * line and column, like a node config. The format is in docs/branding.md and
 * a complete sample is templates/brand.sample.yaml.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type YAMLMap } from 'yaml';
import { PosternError } from '../../protocol/errors.ts';
import { isIdentifier } from '../../protocol/identity/identifier.ts';
import { isRoute, MAX_TICKET_ROUTES } from '../../protocol/ticket/ticket.ts';
import { compilePolicy } from '../../protocol/policy/index.ts';
import { ConfigError, parseHostPort } from '../../agent/config/index.ts';

export interface BrandVariableSpec {
  variable: string;
  default: string | null;
  description: string;
}

export interface BrandOutlet extends BrandVariableSpec {
  name: string;
  allow: string;
}

export interface BrandInlet extends BrandVariableSpec {
  via: string;
  to: string;
  allow: string;
}

export interface Brand {
  binary: string;
  displayName: string;
  vendor: string;
  supportUrl: string;
  hub: { routes: string[]; identifier: string; authority: string };
  install: { url: string; prefix: string };
  stateDir: string;
  homeEnv: string;
  service: { name: string; stateDir: string };
  customerConfig: { allow: string; inlet: BrandInlet | null; outlets: BrandOutlet[] };
}

const MAX_BRAND_BYTES = 64 * 1024;
const BINARY_RE = /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/;
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const PEOPLE_RE = /^[A-Za-z0-9][A-Za-z0-9 .,&()+-]{0,59}$/;
const ENV_RE = /^[A-Z_][A-Z0-9_]{0,63}$/;
const PATH_RE = /^(~|~\/[A-Za-z0-9._/-]*|\/[A-Za-z0-9._/-]*)$/;
const VAR_RE = /^[A-Z_][A-Z0-9_]{0,63}$/;
/** $RELAY is the agent's own: the relay its ticket allows. */
const RESERVED_VARIABLES = ['RELAY'];

class BrandReader {
  readonly file: string;
  readonly lines: LineCounter;
  constructor(file: string, lines: LineCounter) {
    this.file = file;
    this.lines = lines;
  }

  fail(node: Node | null | undefined, reason: string, hint: string, code = 'POSTERN_BRAND_INVALID'): never {
    const { line, col } = this.lines.linePos(node?.range?.[0] ?? 0);
    throw new ConfigError(code, this.file, Math.max(1, line), Math.max(1, col), reason, hint);
  }

  /** The keys of a mapping: unknown keys and missing required ones are errors at their place. */
  map(node: unknown, where: string, allowed: string[], required: string[], parent?: Node): Map<string, Node> {
    if (!isMap(node)) this.fail((node as Node | null) ?? parent, `${where} must be a mapping`, `give ${where} the keys ${allowed.join(', ')}`);
    const out = new Map<string, Node>();
    for (const pair of (node as YAMLMap<unknown, unknown>).items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.includes(key)) this.fail(pair.key as Node, `unknown key ${JSON.stringify(key)} in ${where}`, `the keys of ${where} are: ${allowed.join(', ')}`);
      out.set(key, (pair.value ?? pair.key) as Node);
    }
    const missing = required.filter((k) => !out.has(k));
    if (missing.length > 0) this.fail(node as Node, `${where} has no ${missing.join(', ')}`, `add ${missing.map((m) => `${m}:`).join(' and ')} to ${where}`);
    return out;
  }

  str(node: Node | undefined, label: string, re: RegExp | ((s: string) => string | null), hint: string): string {
    if (!isScalar(node) || typeof node.value !== 'string') this.fail(node, `${label} must be a string`, hint);
    const s = (node.value as string).trim();
    const why = typeof re === 'function' ? re(s) : re.test(s) ? null : `${JSON.stringify(s.slice(0, 80))} is not valid`;
    if (why !== null) this.fail(node, `${label}: ${why}`, hint);
    return s;
  }

  optStr(m: Map<string, Node>, key: string, label: string, re: RegExp | ((s: string) => string | null), hint: string, fallback: string): string {
    const n = m.get(key);
    return n === undefined ? fallback : this.str(n, label, re, hint);
  }

  list(node: Node | undefined, label: string, min: number, max: number): Node[] {
    if (!isSeq(node)) this.fail(node, `${label} must be a list`, `write each entry on its own "- " line`);
    if (node.items.length < min || node.items.length > max) this.fail(node, `${label} has ${node.items.length} entries; ${min} to ${max} are allowed`, 'adjust the list');
    return node.items as Node[];
  }
}

function url(s: string): string | null {
  if (/[\s"'`\\$]/.test(s)) return 'a URL cannot hold spaces, quotes, "\\" or "$"';
  try {
    const u = new URL(s);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return `${JSON.stringify(s)} is not an http(s) URL`;
  } catch {
    return `${JSON.stringify(s)} is not a URL`;
  }
  return null;
}

function policy(s: string): string | null {
  const c = compilePolicy(s);
  return c.ok ? null : `the policy ${JSON.stringify(s)} does not parse: ${c.error.message}`;
}

function address(allowZeroPort: boolean): (s: string) => string | null {
  return (s) => {
    try {
      parseHostPort(s, { allowZeroPort });
      return null;
    } catch (e) {
      return e instanceof PosternError ? e.message : String(e);
    }
  };
}

function variableSpec(r: BrandReader, m: Map<string, Node>, where: string, allowZeroPort: boolean, seen: Set<string>): BrandVariableSpec {
  const vNode = m.get('variable');
  const variable = r.str(vNode, `${where}.variable`, VAR_RE, 'a variable name is upper-case letters, digits and "_", e.g. GITHUB_ADDRESS');
  if (RESERVED_VARIABLES.includes(variable)) r.fail(vNode, `${where}.variable: ${variable} is the agent's own (the relay its ticket allows)`, 'choose another name');
  if (seen.has(variable)) r.fail(vNode, `${where}.variable: ${variable} is used twice`, 'give each address its own variable');
  seen.add(variable);
  const d = m.get('default');
  return {
    variable,
    default: d === undefined ? null : r.str(d, `${where}.default`, address(allowZeroPort), 'write HOST:PORT, e.g. github.local:80'),
    description: r.optStr(m, 'description', `${where}.description`, /^[^\n\r`$\\"]{1,120}$/, 'one line of at most 120 characters, without `, $, \\ or "', `address of ${variable}`),
  };
}

function build(r: BrandReader, top: unknown): Brand {
  const idHint = '`postern hub init` prints it: "I" and 40 hex digits';
  const t = r.map(top, 'the brand', ['binary', 'display-name', 'vendor', 'support-url', 'hub', 'install', 'state-dir', 'home-env', 'service', 'customer-config'], [
    'binary', 'display-name', 'vendor', 'support-url', 'hub', 'install', 'customer-config',
  ]);
  const binary = r.str(t.get('binary'), 'binary', BINARY_RE, 'lower-case letters, digits and "-", 2 to 40 characters, e.g. initech-agent');
  const peopleHint = 'letters, digits, spaces and . , & ( ) + -, at most 60 characters';
  const displayName = r.str(t.get('display-name'), 'display-name', PEOPLE_RE, peopleHint);
  const vendor = r.str(t.get('vendor'), 'vendor', PEOPLE_RE, peopleHint);
  const supportUrl = r.str(t.get('support-url'), 'support-url', url, 'an http(s) URL, e.g. https://support.initech.example/agent');

  const h = r.map(t.get('hub'), 'hub', ['routes', 'identifier', 'authority'], ['routes', 'identifier', 'authority'], t.get('hub'));
  const routes = r.list(h.get('routes'), 'hub.routes', 1, MAX_TICKET_ROUTES).map((n) => r.str(n, 'hub.routes', (s) => (isRoute(s) ? null : `${JSON.stringify(s)} is not tcp:HOST:PORT`), 'write tcp:HOST:PORT, the address agents dial, e.g. tcp:hub.initech.example:4000'));
  const identifier = r.str(h.get('identifier'), 'hub.identifier', (s) => (isIdentifier(s) ? null : `${JSON.stringify(String(s).slice(0, 60))} is not an identifier`), `the hub's identity; ${idHint}`);
  const authority = r.str(h.get('authority'), 'hub.authority', (s) => (isIdentifier(s) ? null : `${JSON.stringify(String(s).slice(0, 60))} is not an identifier`), `the authority's identity; ${idHint}`);

  const i = r.map(t.get('install'), 'install', ['url', 'prefix'], ['url'], t.get('install'));
  const installUrl = r.str(i.get('url'), 'install.url', url, 'the http(s) URL that serves install.sh and the binaries (postern hub start --install-listen)').replace(/\/+$/, '');
  const pathHint = 'an absolute path, or one under ~/, of letters, digits, ".", "_", "-" and "/"';
  const prefix = r.optStr(i, 'prefix', 'install.prefix', /^\/[A-Za-z0-9._/-]*$/, 'an absolute path, e.g. /usr/local', '/usr/local');

  const stateDir = r.optStr(t, 'state-dir', 'state-dir', PATH_RE, pathHint, `~/.${binary}`);
  const homeEnv = r.optStr(t, 'home-env', 'home-env', ENV_RE, 'an environment variable name, e.g. INITECH_AGENT_HOME', `${binary.toUpperCase().replaceAll('-', '_')}_HOME`);
  const s = t.has('service') ? r.map(t.get('service'), 'service', ['name', 'state-dir'], [], t.get('service')) : new Map<string, Node>();
  const serviceName = r.optStr(s, 'name', 'service.name', BINARY_RE, 'a systemd unit name: lower-case letters, digits and "-"', binary);
  const serviceStateDir = r.optStr(s, 'state-dir', 'service.state-dir', /^\/var\/lib\/[a-z0-9][a-z0-9._-]{0,62}$/, 'a directory /var/lib/NAME (systemd creates it, 0700)', `/var/lib/${serviceName}`);

  const cNode = t.get('customer-config');
  const c = r.map(cNode, 'customer-config', ['allow', 'inlet', 'outlets'], ['allow', 'outlets'], cNode);
  const policyHint = 'a policy expression over the other side\'s attributes, e.g. inlet-from-saas';
  const allow = r.str(c.get('allow'), 'customer-config.allow', policy, policyHint);
  const seen = new Set<string>();
  let inlet: BrandInlet | null = null;
  if (c.has('inlet')) {
    const n = r.map(c.get('inlet'), 'customer-config.inlet', ['via', 'to', 'allow', 'variable', 'default', 'description'], ['via', 'to', 'allow', 'variable'], c.get('inlet'));
    inlet = {
      via: r.str(n.get('via'), 'customer-config.inlet.via', NAME_RE, 'the vendor node\'s relay name, e.g. saas-relay'),
      to: r.str(n.get('to'), 'customer-config.inlet.to', NAME_RE, 'the vendor\'s outlet name, e.g. saas'),
      allow: r.str(n.get('allow'), 'customer-config.inlet.allow', policy, policyHint),
      ...variableSpec(r, n, 'customer-config.inlet', true, seen),
    };
  }
  const names = new Set<string>();
  const outlets = r.list(c.get('outlets'), 'customer-config.outlets', 1, 32).map((node, k): BrandOutlet => {
    const where = `customer-config.outlets[${k}]`;
    const o = r.map(node, where, ['name', 'variable', 'default', 'description', 'allow'], ['name', 'variable'], node);
    const name = r.str(o.get('name'), `${where}.name`, NAME_RE, 'an outlet name: lower-case letters, digits, ".", "_" and "-", e.g. github');
    if (names.has(name)) r.fail(o.get('name'), `${where}.name: outlet ${name} is listed twice`, 'give each outlet its own name');
    names.add(name);
    return { name, allow: r.optStr(o, 'allow', `${where}.allow`, policy, policyHint, allow), ...variableSpec(r, o, where, false, seen) };
  });

  return {
    binary,
    displayName,
    vendor,
    supportUrl,
    hub: { routes, identifier, authority },
    install: { url: installUrl, prefix: prefix.replace(/(.)\/+$/, '$1') },
    stateDir,
    homeEnv,
    service: { name: serviceName, stateDir: serviceStateDir },
    customerConfig: { allow, inlet, outlets },
  };
}

/** Parse brand text; `file` is only used in messages. Throws ConfigError. */
export function parseBrand(text: string, file: string): Brand {
  const lines = new LineCounter();
  const r = new BrandReader(file, lines);
  if (Buffer.byteLength(text, 'utf8') > MAX_BRAND_BYTES) r.fail(null, `the brand file is larger than ${MAX_BRAND_BYTES} bytes`, 'check that this is the right file');
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, strict: true, merge: false, prettyErrors: false });
  const err = doc.errors[0];
  if (err !== undefined) {
    const { line, col } = lines.linePos(err.pos[0]);
    throw new ConfigError('POSTERN_BRAND_YAML', file, Math.max(1, line), Math.max(1, col), `YAML error: ${err.message.split('\n', 1)[0]}`, 'check the indentation, and quote values that hold ": " or " #"');
  }
  return build(r, doc.contents);
}

export function loadBrandFile(path: string): Brand {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('POSTERN_BRAND_READ', path, 1, 1, `cannot read the brand file: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'check the path (see templates/brand.sample.yaml)', { cause: e });
  }
  return parseBrand(text, path);
}
