import { PosternError } from '../errors.ts';

/** A violation that ends the whole session (the caller closes the channel). */
export class MuxProtocolError extends PosternError {
  constructor(message: string) {
    super('POSTERN_MUX_PROTOCOL', `stream multiplexer: ${message}`, 'the peer runs an incompatible or faulty implementation');
  }
}
