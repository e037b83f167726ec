/** The hub's store: tickets (by secret hash), members, relay names, metadata. */
export interface TicketRecord {
  secretHash: string;
  project: string;
  createdAt: number;
  expiresAt: number;
  usesRemaining: number;
  attributes: Record<string, string>;
  relay: string | null;
  enroller: boolean;
  createdBy: string;
}

export type Role = 'admin' | 'enroller' | 'member';

export interface MemberRecord {
  identifier: string;
  project: string;
  attributes: Record<string, string>;
  relay: string | null;
  role: Role;
  enrolledAt: number;
  revokedAt: number | null;
  ticketHash: string | null;
}

export interface RelayRecord {
  name: string;
  owner: string;
  createdAt: number;
  updatedAt: number;
}

export type RedeemResult =
  | { ok: true; member: MemberRecord; alreadyMember: boolean }
  | { ok: false; code: 'POSTERN_TICKET_UNKNOWN' | 'POSTERN_TICKET_EXPIRED' | 'POSTERN_TICKET_USED' | 'POSTERN_MEMBER_REVOKED' };

export interface HubStore {
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  createTicket(t: TicketRecord): void;
  getTicket(secretHash: string): TicketRecord | undefined;
  redeemTicket(secretHash: string, identifier: string, now: number): RedeemResult;
  addMember(m: MemberRecord): void;
  getMember(identifier: string): MemberRecord | undefined;
  listMembers(): MemberRecord[];
  revokeMember(identifier: string, now: number): boolean;
  claimRelay(name: string, owner: string, now: number): { ok: true } | { ok: false; owner: string };
  getRelay(name: string): RelayRecord | undefined;
  listRelays(): RelayRecord[];
  releaseRelay(name: string, owner: string): boolean;
  countRelaysOwnedBy(owner: string): number;
  close(): void;
}
