/**
 * Worker of the hub bench: simulated idle agents. Each has its own identity
 * (in a MemoryVault) and its own HubClient, the link a real node keeps to the
 * hub: it dials, pins the hub, enrolls with a ticket, then stays connected
 * sending the node's keepalive pings.
 *
 *   node hub-agents-worker.ts FIRST_INDEX PER_TICKET KEEPALIVE_MS IN_FLIGHT TICKET...
 *
 * Agent number FIRST_INDEX + i enrolls with ticket (FIRST_INDEX + i) / PER_TICKET,
 * so that workers sharing the tickets never use one more than it allows.
 */
import { HubClient } from '../../agent/node/hub-client.ts';
import { loadOrCreateIdentity } from '../../agent/node/identity.ts';
import { decodeTicket } from '../../protocol/ticket/ticket.ts';
import { MemoryVault } from '../../protocol/vault/index.ts';
import { hubInfoOf, reportFailures, type AgentsGrow, type AgentsGrown } from './hub-shared.ts';

reportFailures();
const [firstArg, perTicketArg, keepaliveArg, inFlightArg, ...tickets] = process.argv.slice(2);
const first = Number(firstArg);
const perTicket = Number(perTicketArg);
const keepaliveMs = Number(keepaliveArg);
const inFlight = Number(inFlightArg);
const hub = hubInfoOf(tickets[0]!);
const secrets = tickets.map((t) => Buffer.from(decodeTicket(t).secret).toString('hex'));

const agents: HubClient[] = [];
const state: Omit<AgentsGrown, 'type'> = { enrolled: 0, failed: 0, dropped: 0, firstError: null };

/** Connect and enroll agent `index`; a failure is counted, not retried, so the figures stay honest. */
async function addAgent(index: number): Promise<void> {
  const identity = loadOrCreateIdentity(new MemoryVault());
  let credential: Uint8Array | undefined;
  let enrolled = false;
  const client = new HubClient({
    hub,
    identity,
    credentials: () => (credential === undefined ? [] : [credential]),
    onRouted: () => {},
    onDisconnected: () => {
      if (enrolled) state.dropped++;
    },
    keepaliveMs,
  });
  client.start();
  try {
    await client.waitConnected(true);
    const r = await client.request('authority', { op: 'enroll', secret: secrets[Math.floor(index / perTicket)]! });
    credential = new Uint8Array(Buffer.from(String(r['credential']), 'base64'));
    enrolled = true;
    agents.push(client);
    state.enrolled++;
  } catch (e) {
    client.stop();
    state.failed++;
    state.firstError ??= e instanceof Error ? e.message : String(e);
  }
}

/** Paced: at most `inFlight` agents between dialling and enrolled, so the hub's per-address limit holds. */
async function grow(m: AgentsGrow): Promise<AgentsGrown> {
  let next = agents.length + state.failed;
  const lane = async () => {
    while (next < m.target) await addAgent(first + next++);
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { type: 'grown', ...state };
}

process.on('message', (m: AgentsGrow) => {
  if (m.type === 'grow') void grow(m).then((r) => process.send!(r));
});
process.send!({ type: 'ready' });
