/**
 * The node config file: `relay`, `tcp-outlet`, `tcp-inlet`, `policy` and
 * `name` in YAML, with `$VAR` interpolation. The format is in docs/config.md.
 */
export type { HostPort, OutletSpec, InletSpec, PolicySpec, NodeConfig } from './schema.ts';
export { parseHostPort, formatHostPort, MAX_CONFIG_BYTES, MAX_LIST_ENTRIES, MAX_POLICY_CHARS } from './schema.ts';
export { parseVariableFlags } from './interpolate.ts';
export { parseConfig, loadConfigFile, ConfigError, type LoadOptions } from './load.ts';
