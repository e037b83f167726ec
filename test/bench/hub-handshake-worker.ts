/**
 * Worker of the hub bench: complete Noise XX link handshakes with the hub as
 * fast as it answers, `IN_FLIGHT` at a time, from one source address.
 *
 *   node hub-handshake-worker.ts TICKET LOCAL_ADDRESS IN_FLIGHT
 *
 * Each handshake is a new TCP connection, the full XX exchange as an
 * enrolled node's link does it (attestation and credential, hub pinned), then
 * a clean close. The worker enrolls once with TICKET; that identity and
 * credential serve every connection. The hub ignores the credential, as it
 * takes membership from its store. With `attestation: 'fresh'` each
 * connection presents an attestation signed for it (the hub verifies every
 * one, as for nodes it has not seen since it started); with 'known', the
 * node's one attestation (the hub has verified it before, as for a node
 * reconnecting, and checks only its times).
 */
import { connect } from 'node:net';
import { TcpLink } from '../../agent/transport/tcp-link.ts';
import { HubClient } from '../../agent/node/hub-client.ts';
import { decodeTicket } from '../../protocol/ticket/ticket.ts';
import { loadOrCreateIdentity } from '../../agent/node/identity.ts';
import { PURPOSE_SECURE_CHANNEL, signAttestation } from '../../protocol/identity/attestation.ts';
import { MemoryVault } from '../../protocol/vault/index.ts';
import { hubInfoOf, reportFailures, type HandshakeDone, type HandshakeRun } from './hub-shared.ts';

reportFailures();
const [ticket, localAddress, inFlightArg] = process.argv.slice(2);
const hub = hubInfoOf(ticket!);
const inFlight = Number(inFlightArg);
const identity = loadOrCreateIdentity(new MemoryVault());
const local = identity.local([await enroll()]);
let signed = 0;

/** The node's identity with an attestation no earlier handshake presented (its expiry differs). */
function freshLocal(): typeof local {
  const now = Math.floor(Date.now() / 1000);
  const attestation = signAttestation(identity.sign, {
    purpose: PURPOSE_SECURE_CHANNEL,
    identityPublicKey: identity.publicKey,
    staticPublicKey: local.staticKey.publicKey,
    createdAt: now,
    expiresAt: now + 86_400 + ++signed,
  });
  return { ...local, attestation };
}
const trust = {
  authorities: [hub.authorityPublicKey],
  project: hub.project,
  requireCredential: false,
  expectedPeer: hub.hubIdentifier,
  now: () => Math.floor(Date.now() / 1000),
};

/** Enroll this worker's identity once, through a real node's hub client. */
async function enroll(): Promise<Uint8Array> {
  const client = new HubClient({ hub, identity, credentials: () => [], onRouted: () => {} });
  client.start();
  try {
    await client.waitConnected(true);
    const r = await client.request('authority', { op: 'enroll', secret: Buffer.from(decodeTicket(ticket!).secret).toString('hex') });
    return new Uint8Array(Buffer.from(String(r['credential']), 'base64'));
  } finally {
    client.stop();
  }
}

interface Tally {
  established: number;
  failed: number;
  firstError: string | null;
}

/** One connection: resolves when the socket is gone, so in-flight work stays bounded. */
function handshake(t: Tally, fresh: boolean): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: hub.host, port: hub.port, localAddress });
    let ok = false;
    new TcpLink({
      socket,
      initiator: true,
      local: fresh ? freshLocal() : local,
      trust,
      onEstablished: (link) => {
        ok = true;
        t.established++;
        // end() rather than close(): message 3 is still corked and the hub must get it.
        link.socket.end();
      },
      onClose: (err) => {
        if (!ok) {
          t.failed++;
          t.firstError ??= err?.message ?? 'closed before the handshake completed';
        }
        resolve();
      },
    });
  });
}

async function run(o: HandshakeRun): Promise<HandshakeDone> {
  const t: Tally = { established: 0, failed: 0, firstError: null };
  const until = performance.now() + o.ms;
  let started = 0;
  const lane = async () => {
    while (started < o.max && performance.now() < until) {
      started++;
      await handshake(t, o.attestation === 'fresh');
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { type: 'done', ...t };
}

process.on('message', (m: HandshakeRun) => {
  if (m.type === 'run') void run(m).then((r) => process.send!(r));
});
process.send!({ type: 'ready' });
