export * from './constants.ts';
export { MuxProtocolError } from './errors.ts';
export { encodeFrame, decodeFrame, encodeDataHeader, type Frame } from './frame.ts';
export { MuxStream } from './stream.ts';
export { MuxSession, type MuxOptions } from './session.ts';
