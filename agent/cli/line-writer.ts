/**
 * Log lines written in one event-loop turn leave in one write, at the end
 * of that turn's I/O. On Linux a process's stdout is synchronous when it is
 * a file or a pipe, so a write per line is a system call per line, and a
 * hub writes two lines for every link (established, closed). Lines still
 * waiting when the process exits (process.exit, an uncaught error, the end
 * of the event loop) are written then.
 */
import { endOfTurn } from '../transport/end-of-turn.ts';

export type TextWriter = (text: string) => void;

export function batchedWriter(write: TextWriter): TextWriter {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.length === 1 ? pending[0]! : pending.join('');
    pending = [];
    write(text);
  };
  process.on('exit', flush);
  return (text) => {
    pending.push(text);
    if (!scheduled) {
      scheduled = true;
      endOfTurn.defer(flush);
    }
  };
}

let stdoutLines: TextWriter | undefined;

/** The process's stdout, batched per turn (one writer per process). */
export function batchedStdout(): TextWriter {
  stdoutLines ??= batchedWriter((t) => process.stdout.write(t));
  return stdoutLines;
}
