export { CipherState } from './cipher-state.ts';
export { SymmetricState, hkdf } from './symmetric-state.ts';
export { HandshakeState, HandshakeAuthError, type HandshakeOptions, type KeyPair, type StaticKey, type SplitResult } from './handshake-state.ts';
export { PATTERNS, type HandshakePattern, type Token } from './patterns.ts';
export { parseProtocolName, requireProtocolName, type ProtocolName } from './protocol-name.ts';
export { encodeNonce } from './nonce.ts';
export * from './constants.ts';
