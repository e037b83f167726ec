/**
 * Two multiplexer sessions back to back in memory; A is the channel
 * initiator. Frames cross on setImmediate, like a network turn. With
 * `copy: 'now'` each frame is copied as it is sent; with `'end-of-turn'` the
 * frames stay views of the writer's buffers until the end of the turn, as the
 * portal channel keeps them until it seals its batch (and, like it, the
 * session's `afterSend` waits for that copy).
 */
import { concat } from '../../protocol/bytes.ts';
import { MuxSession, type MuxStream } from '../../protocol/mux/index.ts';

export interface MuxPairOptions {
  onOpen?: (s: MuxStream, target: string) => void;
  initialWindow?: number;
  copy?: 'now' | 'end-of-turn';
}

export function muxPair(o: MuxPairOptions = {}): { a: MuxSession; b: MuxSession; frames: number[] } {
  let a!: MuxSession;
  let b!: MuxSession;
  /** The size of every frame sent, both ways. */
  const frames: number[] = [];
  const deliver = (to: () => MuxSession): { send: (parts: Uint8Array[]) => void; afterSend?: (done: () => void) => void } => {
    let batch: Uint8Array[][] = [];
    let after: (() => void)[] = [];
    const cross = (parts: Uint8Array[]) => {
      const bytes = concat(...parts);
      frames.push(bytes.length);
      setImmediate(() => to().receive(bytes));
    };
    if (o.copy !== 'end-of-turn') return { send: cross };
    return {
      send: (parts) => {
        if (batch.length === 0) {
          process.nextTick(() => {
            const turn = batch;
            const done = after;
            batch = [];
            after = [];
            for (const f of turn) cross(f);
            for (const f of done) f();
          });
        }
        batch.push(parts);
      },
      afterSend: (done) => {
        if (batch.length === 0) done();
        else after.push(done);
      },
    };
  };
  a = new MuxSession({ initiator: true, ...deliver(() => b), initialWindow: o.initialWindow });
  b = new MuxSession({ initiator: false, ...deliver(() => a), onOpen: o.onOpen, initialWindow: o.initialWindow });
  return { a, b, frames };
}
