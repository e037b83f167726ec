/**
 * The hub's store: the project's membership authority state — metadata,
 * enrollment tickets (by the hash of their secret, never the secret), members
 * and relay names. Times are integer unix seconds.
 *
 * Implementations: `SqliteStore` (one file, one or more hub processes on one
 * machine). Several hubs sharing state would put PostgreSQL behind this same
 * interface; see docs/hub-store.md.
 */

export type Role = 'admin' | 'enroller' | 'member';

export interface TicketRecord {
  /** Hex SHA-256 of the ticket secret, computed by the caller. */
  secretHash: string;
  project: string;
  createdAt: number;
  /** The ticket is valid while now < expiresAt. */
  expiresAt: number;
  usesRemaining: number;
  attributes: Record<string, string>;
  /** The relay name a node enrolled with this ticket may create. */
  relay: string | null;
  /** Members enrolled with it become enrollers (may mint member tickets). */
  enroller: boolean;
  /** Identifier of the member or administrator who minted it. */
  createdBy: string;
}

export interface MemberRecord {
  identifier: string;
  project: string;
  attributes: Record<string, string>;
  /** Relay name this member may create (from its ticket). */
  relay: string | null;
  role: Role;
  enrolledAt: number;
  revokedAt: number | null;
  /** Hash of the ticket it enrolled with; null for the administrator. */
  ticketHash: string | null;
}

export interface RelayRecord {
  name: string;
  owner: string;
  createdAt: number;
  updatedAt: number;
}

export type RedeemFailure = 'POSTERN_TICKET_UNKNOWN' | 'POSTERN_TICKET_EXPIRED' | 'POSTERN_TICKET_USED' | 'POSTERN_MEMBER_REVOKED';

export type RedeemResult =
  | { ok: true; member: MemberRecord; alreadyMember: boolean }
  | { ok: false; code: RedeemFailure };

export type ClaimResult = { ok: true } | { ok: false; owner: string };

export interface HubStore {
  /** Project metadata, key/value (project id, hub name, …). */
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;

  /** Throws PosternError POSTERN_STORE_CONFLICT if a ticket with this hash exists. */
  createTicket(t: TicketRecord): void;
  getTicket(secretHash: string): TicketRecord | undefined;
  /**
   * One atomic step: the ticket must exist, be unexpired (now < expiresAt)
   * and have a use left; one use is consumed and the member is upserted with
   * the ticket's attributes, relay and role ('enroller' if ticket.enroller,
   * else 'member'; an administrator stays one). An identifier that is already
   * an active member enrolled with this same ticket gets its record back with
   * alreadyMember=true and no use is consumed (idempotent re-enrollment). A
   * revoked identifier gets POSTERN_MEMBER_REVOKED.
   */
  redeemTicket(secretHash: string, identifier: string, now: number): RedeemResult;

  /** Insert or replace a member (the administrator, at `hub init`). */
  addMember(m: MemberRecord): void;
  getMember(identifier: string): MemberRecord | undefined;
  listMembers(): MemberRecord[];
  /** Mark revoked (idempotent) and delete the relays it owns, atomically. True if it was active. */
  revokeMember(identifier: string, now: number): boolean;

  /**
   * A name belongs to the identity that holds it: inserted if free; ok if
   * already owned by `owner` (updatedAt is touched); else { ok: false, owner }.
   * The owner must be an active member (PosternError otherwise).
   */
  claimRelay(name: string, owner: string, now: number): ClaimResult;
  getRelay(name: string): RelayRecord | undefined;
  listRelays(): RelayRecord[];
  /** Delete the relay if `owner` holds it. True if deleted. */
  releaseRelay(name: string, owner: string): boolean;
  countRelaysOwnedBy(owner: string): number;

  close(): void;
}
