export * from './constants.ts';
export { encodePayload, decodePayload, type HandshakePayload } from './payload.ts';
export { TransportState, ChannelError, relayRecordEnd, relayRecordSize, type OpenedMessage, type RelayEntry, type RelayedMessage } from './transport.ts';
export {
  SecureChannelHandshake,
  verifyPeer,
  type LocalIdentity,
  type TrustOptions,
  type PeerInfo,
  type EstablishedChannel,
  type HandshakeResult,
  type SecureChannelOptions,
} from './handshake.ts';
