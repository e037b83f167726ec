/**
 * Multiplexer errors. Stream-level faults never throw: they reset the one
 * stream with a reason the peer sees (RESET_REASON). What throws is either a
 * session-fatal violation (MuxProtocolError, the caller closes the channel)
 * or a local refusal to open a stream.
 */
import { PosternError } from '../errors.ts';

/** A violation that ends the whole session (the caller closes the channel). */
export class MuxProtocolError extends PosternError {
  constructor(message: string) {
    super('POSTERN_MUX_PROTOCOL', `stream multiplexer: ${message}`, 'the peer runs an incompatible or faulty implementation');
    this.name = 'MuxProtocolError';
  }
}

export function tooManyStreams(max: number): PosternError {
  return new PosternError('POSTERN_MUX_TOO_MANY_STREAMS', `at most ${max} streams per channel`, 'close some connections or raise the limit');
}

export function muxClosed(why: string): PosternError {
  return new PosternError('POSTERN_MUX_CLOSED', why, 'open a new channel');
}
