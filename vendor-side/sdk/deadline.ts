/** A connect deadline shared by the steps of one connection (channel, then stream). */
import { timeoutError } from './errors.ts';

export class Deadline {
  private readonly start = Date.now();
  readonly ms: number;
  readonly what: string;

  constructor(ms: number, what: string) {
    this.ms = ms;
    this.what = what;
  }

  get left(): number {
    return this.ms - (Date.now() - this.start);
  }

  /** `p`, or POSTERN_TIMEOUT once the deadline passes (or the signal's reason on abort). */
  race<T>(p: Promise<T>, signal?: AbortSignal, onGiveUp?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const finish = (fn: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const giveUp = (e: unknown) =>
        finish(() => {
          onGiveUp?.();
          reject(e);
        });
      const onAbort = () => giveUp(signal!.reason);
      const timer = setTimeout(() => giveUp(timeoutError(this.what, this.ms)), Math.max(0, this.left));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => finish(() => resolve(v)),
        (e: unknown) => finish(() => reject(e)),
      );
    });
  }
}
