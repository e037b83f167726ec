export { parseHostPort, formatHostPort, type HostPort } from './address.ts';
export { interpolate, parseVariableFlags } from './interpolate.ts';
export {
  parseConfig,
  loadConfigFile,
  ConfigError,
  MAX_CONFIG_BYTES,
  type NodeConfig,
  type OutletSpec,
  type InletSpec,
  type PolicySpec,
  type LoadOptions,
} from './load.ts';
