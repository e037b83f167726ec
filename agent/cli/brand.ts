/**
 * The brand the customer agent runs under, as baked into the single binary
 * at build time (vendor-side/provisioning renders it from the vendor's brand
 * file). Everything here is plain data: names, the pinned hub and authority,
 * the rendered default config and service unit. Nothing of vendor-side/.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { identifierOf } from '../../protocol/identity/identifier.ts';
import type { Ticket } from '../../protocol/ticket/ticket.ts';

export interface AgentVariable {
  name: string;
  description: string;
  /** Used when neither --variable nor the environment sets it. */
  default: string | null;
}

export interface AgentBrand {
  /** The command's name, e.g. `initech-agent`. */
  binary: string;
  /** For people: `Initech Agent`. */
  displayName: string;
  vendor: string;
  supportUrl: string;
  /** The agent's version (the Postern version it was built from). */
  version: string;
  hub: {
    /** tcp:HOST:PORT the agent dials; a ticket cannot point it elsewhere. */
    routes: string[];
    /** The hub's identity: a ticket naming another hub is refused. */
    identifier: string;
    /** The authority's identity, the trust anchor: a ticket naming another is refused. */
    authority: string;
  };
  /** Default state directory; `~/` is the user's home. */
  stateDir: string;
  /** The environment variable that overrides the state directory, e.g. INITECH_AGENT_HOME. */
  homeEnv: string;
  service: {
    name: string;
    stateDir: string;
    /** The systemd unit, rendered from templates/systemd; `@@BINARY_PATH@@` is filled in at install. */
    unit: string;
  };
  /** The built-in customer config (YAML with $VARIABLES), rendered from templates/config. */
  config: string;
  variables: AgentVariable[];
}

/** The token in `service.unit` that `service install` replaces with the binary's path. */
export const BINARY_PATH_TOKEN = '@@BINARY_PATH@@';

/** The one node an agent runs, named after the agent. */
export function agentNodeName(brand: AgentBrand): string {
  return brand.binary;
}

/** The state directory: $HOME_ENV if set, else the brand's default (with `~/` expanded). */
export function agentHome(brand: AgentBrand, env: NodeJS.ProcessEnv = process.env): string {
  const h = env[brand.homeEnv];
  if (h !== undefined && h !== '') return h;
  return expandHome(brand.stateDir);
}

export function expandHome(dir: string): string {
  if (dir === '~') return homedir();
  if (dir.startsWith('~/')) return join(homedir(), dir.slice(2));
  return dir;
}

/**
 * The pinned trust anchor: a ticket must name the brand's authority and hub.
 * Returns the ticket with the brand's routes, so that a ticket can never make
 * the agent dial another address.
 */
export function pinTicket(brand: AgentBrand, ticket: Ticket): Ticket {
  const authority = identifierOf(ticket.authorityPublicKey);
  const hub = identifierOf(ticket.hubPublicKey);
  const hint = `ask ${brand.vendor} for a ticket for ${brand.displayName} (${brand.supportUrl})`;
  if (authority !== brand.hub.authority) {
    throw new PosternError(
      'POSTERN_TICKET_UNTRUSTED',
      `this ticket names authority ${authority}, not ${brand.vendor}'s authority ${brand.hub.authority} that ${brand.displayName} trusts`,
      hint,
    );
  }
  if (hub !== brand.hub.identifier) {
    throw new PosternError('POSTERN_TICKET_UNTRUSTED', `this ticket names hub ${hub}, not ${brand.vendor}'s hub ${brand.hub.identifier}`, hint);
  }
  return { ...ticket, routes: [...brand.hub.routes] };
}

/** Defaults for the built-in config's variables that neither the flags nor the environment set. */
export function variablesWithDefaults(brand: AgentBrand, given: Record<string, string>, env: NodeJS.ProcessEnv): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const v of brand.variables) {
    if (v.default !== null && env[v.name] === undefined) out[v.name] = v.default;
  }
  return Object.assign(out, given);
}

/** The brand of an agent run from a checkout (`node agent/cli/main.ts`), not built for a vendor. */
export const DEVELOPMENT_BRAND: AgentBrand = {
  binary: 'postern-agent',
  displayName: 'Postern Agent',
  vendor: 'Postern',
  supportUrl: 'https://postern.invalid/support',
  version: '0.0.0-dev',
  hub: { routes: ['tcp:127.0.0.1:4000'], identifier: `I${'0'.repeat(40)}`, authority: `I${'0'.repeat(40)}` },
  stateDir: '~/.postern-agent',
  homeEnv: 'POSTERN_AGENT_HOME',
  service: { name: 'postern-agent', stateDir: '/var/lib/postern-agent', unit: `[Service]\nExecStart=${BINARY_PATH_TOKEN} up\n` },
  config: 'relay: $RELAY\n',
  variables: [],
};
