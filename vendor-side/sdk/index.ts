/** The vendor backend SDK: an embedded node with on-demand inlets, an undici dispatcher and Duplex connections. */
export { startNode, SdkNode, DEFAULT_CONNECT_TIMEOUT_MS, type StartNodeOptions, type ConnectOptions } from './node.ts';
export { SDK_ERROR_CODES, posternCode, type SdkErrorCode } from './errors.ts';
export type { AgentInfo } from './agents.ts';
export type { DispatcherOptions } from './dispatcher.ts';
export type { InletOptions, PortalInlet } from './inlet.ts';
export type { PortalTarget } from './channel.ts';
