export type { HubStore, MemberRecord, RelayRecord, RedeemResult, Role, TicketRecord } from './types.ts';
export { SqliteStore, openSqliteStore } from './sqlite.ts';
export { MIGRATIONS } from './schema.ts';
