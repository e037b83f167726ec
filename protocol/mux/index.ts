/** The stream multiplexer (docs/formats-mux.md): one session per secure channel, one stream per TCP connection. */
export * from './constants.ts';
export { MuxProtocolError } from './errors.ts';
export { decodeFrame, encodeDataHeader, encodeFrame, isSessionFrame, type Frame } from './frame.ts';
export { MuxStream } from './stream.ts';
export { MuxSession, type MuxOptions } from './session.ts';
