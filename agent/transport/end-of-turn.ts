/**
 * Work deferred to the end of this event-loop turn's I/O, run in one pass.
 *
 * Sending is batched twice: a secure channel gathers the frames of all its
 * streams into one end-to-end message, and a link gathers relay messages
 * into as few records as fit. Both wait for the I/O of the turn to be read,
 * so that the requests of every connection read in that turn travel
 * together (one seal, one route header, one write instead of one each).
 * Both must also leave in the same turn: a link's flush queued while the
 * channels flush runs in the same pass, after them, not one turn later.
 *
 * One pass per turn (a single `setImmediate`), callbacks in the order they
 * were queued, those queued during the pass included. A callback that
 * throws does not keep the others from running; the first error is thrown
 * again once the pass is over.
 */
/** Node's own, as it was when this module loaded (a test's fake timers must not lose a pass). */
const realSetImmediate = setImmediate;

export class EndOfTurnQueue {
  private pending: Array<() => void> = [];
  private scheduled = false;
  private readonly schedule: (run: () => void) => void;

  constructor(schedule: (run: () => void) => void = (run) => void realSetImmediate(run)) {
    this.schedule = schedule;
  }

  /** Run `fn` at the end of this turn's I/O. */
  defer(fn: () => void): void {
    this.pending.push(fn);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.run());
    }
  }

  /** Run everything queued, including what the callbacks queue meanwhile. */
  run(): void {
    let failed = false;
    let first: unknown;
    const queue = this.pending;
    // Callbacks queued from here on join this pass: the loop sees them appended.
    for (let i = 0; i < queue.length; i++) {
      try {
        queue[i]!();
      } catch (e) {
        if (!failed) {
          failed = true;
          first = e;
        }
      }
    }
    this.pending = [];
    this.scheduled = false;
    if (failed) throw first;
  }
}

/** The process's queue: channels and links share it, so that their flushes run in one pass. */
export const endOfTurn = new EndOfTurnQueue();
