export type { ClaimResult, HubStore, MemberRecord, RedeemFailure, RedeemResult, RelayRecord, Role, TicketRecord } from './types.ts';
export { DEFAULT_BUSY_TIMEOUT_MS, SqliteStore, openSqliteStore, parseAttributes, type SqliteStoreOptions } from './sqlite.ts';
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './schema.ts';
