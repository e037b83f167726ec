/**
 * What a node config holds, and the checks on its values. Pure: strings in,
 * typed values out, PosternError on a bad value. Nothing here knows about
 * YAML or file positions; load.ts walks the document and puts the position
 * on every error raised here.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PosternError } from '../../protocol/errors.ts';

export interface HostPort {
  host: string;
  port: number;
}

export interface OutletSpec {
  /** The outlet's name, which inlets address (`to:` of an inlet). */
  name: string;
  to: HostPort;
  /** Policy expression, uncompiled; the caller compiles it. */
  allow?: string;
}

export interface InletSpec {
  from: HostPort;
  /** Relay name the outlet's node is reached through. */
  via: string;
  /** Outlet name on the other side. */
  to: string;
  allow?: string;
}

export interface PolicySpec {
  resourceType: 'tcp-outlet' | 'tcp-inlet';
  allow: string;
}

export interface NodeConfig {
  name?: string;
  relays: string[];
  outlets: OutletSpec[];
  inlets: InletSpec[];
  policies: PolicySpec[];
}

// ---- Limits (tunables, checked before anything is built) ----

/** Largest config file accepted, in bytes. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Most entries in any one list (relays, outlets, inlets, policies). */
export const MAX_LIST_ENTRIES = 256;
/** Longest policy expression, in characters. */
export const MAX_POLICY_CHARS = 4096;
/**
 * Deepest nesting of YAML collections accepted. A valid config needs three
 * (top mapping, list, entry mapping); the bound keeps the YAML composer's
 * recursion far from the stack limit on hostile input.
 */
export const MAX_NESTING = 32;

// ---- Keys ----

export const TOP_LEVEL_KEYS = ['name', 'relay', 'tcp-outlet', 'tcp-inlet', 'policy'] as const;

export interface SectionKeys {
  readonly allowed: readonly string[];
  readonly required: readonly string[];
}

export const OUTLET_KEYS: SectionKeys = { allowed: ['from', 'to', 'allow'], required: ['from', 'to'] };
export const INLET_KEYS: SectionKeys = { allowed: ['from', 'via', 'to', 'allow'], required: ['from', 'via', 'to'] };
export const POLICY_KEYS: SectionKeys = { allowed: ['resource-type', 'allow'], required: ['resource-type', 'allow'] };

export const RESOURCE_TYPES = ['tcp-outlet', 'tcp-inlet'] as const;

// ---- Values ----

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const NAME_HINT = 'a name is 1 to 63 lowercase letters, digits, ".", "_" or "-", starting with a letter or digit';

/** Short, printable rendering of untrusted text for a message. */
export function quote(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/** A relay, outlet or node name. `what` says which, e.g. "relay name". */
export function checkName(text: string, what: string): string {
  if (!NAME_RE.test(text)) throw new PosternError('POSTERN_CONFIG_INVALID', `${quote(text)} is not a valid ${what}`, NAME_HINT);
  return text;
}

/**
 * A policy expression is only bounded here, not parsed: the policy module
 * compiles it when the resource is created. Surrounding whitespace (from a
 * YAML block scalar, say) is dropped.
 */
export function checkPolicy(text: string): string {
  const t = text.trim();
  if (t === '') throw new PosternError('POSTERN_CONFIG_INVALID', 'the policy expression is empty', 'write an expression such as inlet-from-saas, or true');
  if (t.length > MAX_POLICY_CHARS) {
    throw new PosternError('POSTERN_CONFIG_INVALID', `the policy expression is ${t.length} characters long, more than ${MAX_POLICY_CHARS}`, 'shorten the expression');
  }
  return t;
}

export function checkResourceType(text: string): PolicySpec['resourceType'] {
  const found = RESOURCE_TYPES.find((t) => t === text);
  if (found !== undefined) return found;
  throw new PosternError('POSTERN_CONFIG_INVALID', `${quote(text)} is not a resource type`, `resource-type is ${RESOURCE_TYPES.join(' or ')}`);
}

// ---- HOST:PORT ----

const ADDRESS_HINT = 'write HOST:PORT, e.g. github.local:80, 127.0.0.1:8000 or [::1]:8000';
const DNS_LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
const DNS_RE = new RegExp(`^(?=.{1,253}$)${DNS_LABEL}(?:\\.${DNS_LABEL})*\\.?$`);

function badAddress(text: string, why: string): never {
  throw new PosternError('POSTERN_BAD_ADDRESS', `invalid address ${quote(text)}: ${why}`, ADDRESS_HINT);
}

/**
 * HOST:PORT, where HOST is a DNS name, a dotted IPv4 address or an IPv6
 * address in brackets, and PORT is decimal 1-65535 (0 too with
 * allowZeroPort, for a listener that takes any free port).
 */
export function parseHostPort(text: string, opts: { allowZeroPort?: boolean } = {}): HostPort {
  if (typeof text !== 'string') return badAddress(String(text), 'not a string');
  const colon = text.lastIndexOf(':');
  if (colon < 0) return badAddress(text, 'no port');
  const hostPart = text.slice(0, colon);
  const portPart = text.slice(colon + 1);

  let host: string;
  if (hostPart.startsWith('[')) {
    if (!hostPart.endsWith(']')) return badAddress(text, 'unclosed "[" around the IPv6 address');
    host = hostPart.slice(1, -1);
    if (!isIPv6(host)) return badAddress(text, `${quote(host)} is not an IPv6 address`);
  } else {
    host = hostPart;
    if (host === '') return badAddress(text, 'no host');
    if (host.includes(':')) return badAddress(text, 'an IPv6 address must be in brackets, e.g. [::1]:8000');
    if (/^[0-9.]+$/.test(host)) {
      if (!isIPv4(host)) return badAddress(text, `${quote(host)} is not an IPv4 address`);
    } else if (!DNS_RE.test(host)) {
      return badAddress(text, `${quote(host)} is not a DNS name or IP address`);
    }
  }

  if (!/^(?:0|[1-9][0-9]{0,4})$/.test(portPart)) return badAddress(text, `port ${quote(portPart)} is not a decimal number 0-65535`);
  const port = Number(portPart);
  if (port > 65535) return badAddress(text, `port ${port} is above 65535`);
  if (port === 0 && opts.allowZeroPort !== true) return badAddress(text, 'port 0 is only allowed where Postern listens (an inlet\'s from)');
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
