/**
 * One portal stream as a Node Duplex, resolved once the agent's outlet has
 * connected to its target (OPEN_ACK), rejected with an SDK code otherwise.
 *
 * A stream opened on a channel that turns out to be dead (the agent left and
 * the hub answers PEER_GONE) never reached the outlet, so it is retried once
 * on a fresh channel: the caller then sees the relay's real state
 * (POSTERN_RELAY_OFFLINE, or a working stream if the agent is back).
 */
import type { PosternNode } from '../../agent/node/node.ts';
import { StreamDuplex } from '../../agent/portal/stream-duplex.ts';
import { sdkError } from './errors.ts';
import { Deadline } from './deadline.ts';
import { portalChannel, type PortalTarget } from './channel.ts';

export interface OpenStreamOptions extends PortalTarget {
  /** Channel handshake plus outlet accept, in ms. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function openPortalStream(node: PosternNode, o: OpenStreamOptions): Promise<StreamDuplex> {
  const deadline = new Deadline(o.timeoutMs, `${o.via}/${o.to}`);
  for (let attempt = 0; ; attempt++) {
    const ch = await portalChannel(node, o, deadline, o.signal);
    let duplex: StreamDuplex;
    try {
      duplex = new StreamDuplex(ch.mux.open(o.to), { closedError: () => ch.closeError, mapError: sdkError });
    } catch (e) {
      if (attempt === 0 && ch.closed) continue;
      throw sdkError(e);
    }
    try {
      await deadline.race(accepted(duplex), o.signal, () => duplex.destroy());
      return duplex;
    } catch (e) {
      if (attempt === 0 && ch.closed && !duplex.stream.isAccepted && !o.signal?.aborted) continue;
      throw e;
    }
  }
}

/** Resolves on the outlet's accept; rejects with the reset's code or the channel's reason. */
function accepted(d: StreamDuplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const onConnect = () => {
      d.off('error', onError).off('close', onClose);
      // Until the caller's own listeners are on (after this promise settles), an error must not
      // go unhandled; it stays readable as `d.errored`, which undici checks on connect.
      const guard = () => {};
      d.on('error', guard);
      setImmediate(() => d.off('error', guard));
      resolve();
    };
    const onError = (e: Error) => {
      d.off('connect', onConnect).off('close', onClose);
      reject(e);
    };
    const onClose = () => {
      d.off('connect', onConnect).off('error', onError);
      reject(sdkError(d.errored ?? new Error('the stream closed before the outlet accepted')));
    };
    d.once('connect', onConnect).once('error', onError).once('close', onClose);
  });
}
