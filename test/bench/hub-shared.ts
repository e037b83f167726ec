/**
 * What the hub bench (test/bench/hub.ts) and its worker processes share: the
 * hub as an enrollment ticket describes it, the messages they exchange over
 * the IPC channel, and a way for a worker to say that it failed.
 */
import type { ChildProcess } from 'node:child_process';
import { decodeTicket } from '../../protocol/ticket/ticket.ts';
import { identifierOf } from '../../protocol/identity/identifier.ts';
import { parseTcpRoute, type HubInfo } from '../../agent/node/hub-client.ts';

/** The hub a ticket points at, pinned the way an enrolling node pins it. */
export function hubInfoOf(ticket: string): HubInfo & { host: string; port: number } {
  const t = decodeTicket(ticket);
  return {
    project: t.project,
    routes: t.routes,
    hubIdentifier: identifierOf(t.hubPublicKey),
    authorityPublicKey: t.authorityPublicKey,
    ...parseTcpRoute(t.routes[0]!),
  };
}

/** To the handshake worker: dial until `max` handshakes were started or `ms` passed. */
export interface HandshakeRun {
  type: 'run';
  max: number;
  ms: number;
  /**
   * 'fresh': every handshake presents an attestation the hub has not seen
   * (a node's first connection, as after a hub restart): the hub verifies
   * each. 'known': the node's one attestation every time (a node
   * reconnecting): the hub has verified it before and checks only its times.
   */
  attestation: 'fresh' | 'known';
}

export interface HandshakeDone {
  type: 'done';
  established: number;
  failed: number;
  firstError: string | null;
}

/** To the agents worker: have `target` agents connected and enrolled. */
export interface AgentsGrow {
  type: 'grow';
  target: number;
}

export interface AgentsGrown {
  type: 'grown';
  enrolled: number;
  failed: number;
  /** Enrolled agents whose link later went down (the hub or its idle timeout closed it). */
  dropped: number;
  firstError: string | null;
}

export interface WorkerReady {
  type: 'ready';
}

export interface WorkerFailed {
  type: 'failed';
  message: string;
}

export type FromWorker = WorkerReady | HandshakeDone | AgentsGrown | WorkerFailed;

/** A worker's unexpected error goes to the bench rather than only to its stderr. */
export function reportFailures(): void {
  const fail = (e: unknown) => {
    process.send?.({ type: 'failed', message: e instanceof Error ? e.message : String(e) } satisfies WorkerFailed);
    process.exitCode = 1;
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // Orphaned workers would hold thousands of sockets: go when the bench goes.
  process.on('disconnect', () => process.exit(0));
}

/** The next message of `type` from a worker; rejects if it fails, exits or takes too long. */
export function nextMessage<T extends FromWorker>(child: ChildProcess, type: T['type'], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      fn();
    };
    const onMessage = (m: FromWorker) => {
      if (m.type === type) done(() => resolve(m as T));
      else if (m.type === 'failed') done(() => reject(new Error(`worker ${child.pid}: ${m.message}`)));
    };
    const onExit = (code: number | null, signal: string | null) => done(() => reject(new Error(`worker ${child.pid} exited (${signal ?? code}) before ${type}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`worker ${child.pid}: no ${type} within ${timeoutMs} ms`))), timeoutMs);
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}
