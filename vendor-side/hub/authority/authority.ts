/**
 * The project's membership authority. It mints enrollment tickets (keeping
 * only a hash of each secret), redeems them atomically through the store,
 * binds the redeemer's identifier to the ticket's attributes, relay name and
 * role, and signs short-lived credentials with the key labelled `authority`
 * in the hub's vault.
 *
 * Roles: the administrator (made by `hub init`) may do everything; an
 * enroller (a node enrolled with an `enroller` ticket, such as the vendor's
 * own node) may mint ordinary tickets with any attributes; a member may only
 * refresh its credential.
 *
 * Every credential carries, besides the ticket's attributes, the reserved
 * `postern.project`, `postern.role` and (when the member has a relay name)
 * `postern.relay`; see requests.ts.
 */
import type { CryptoProvider } from '../../../protocol/crypto/provider.ts';
import { defaultCrypto } from '../../../protocol/crypto/index.ts';
import { fromHex, wipe } from '../../../protocol/bytes.ts';
import { isPosternError, PosternError } from '../../../protocol/errors.ts';
import { issueCredential } from '../../../protocol/credential/index.ts';
import { identifierOf } from '../../../protocol/identity/index.ts';
import { encodeTicket, isRoute, newTicketSecret, ticketSecretHash } from '../../../protocol/ticket/index.ts';
import type { Vault } from '../../../protocol/vault/index.ts';
import type { HubStore, MemberRecord, Role } from '../store/index.ts';
import {
  ATTR_PROJECT,
  ATTR_RELAY,
  ATTR_ROLE,
  checkIdentifier,
  checkRevokeTarget,
  checkSecretHex,
  checkTicketOptions,
  isReservedAttribute,
  parseAuthorityRequest,
  type RevokeTarget,
  type TicketOptions,
} from './requests.ts';

/** The vault label of the authority's Ed25519 signing key. */
export const AUTHORITY_LABEL = 'authority';
/** Bounds on the credential lifetime a hub may be configured with. */
const MAX_CREDENTIAL_TTL = 30 * 86400;

export interface AuthorityOptions {
  store: HubStore;
  /** Holds the authority's Ed25519 key under the label 'authority'. */
  vault: Vault;
  project: string;
  /** Pinned in every ticket: enrolling nodes accept only this hub. */
  hubPublicKey: Uint8Array;
  /** Hub routes put in tickets, e.g. ['tcp:127.0.0.1:4000']. */
  routes: string[];
  /** Seconds a credential stays valid. */
  credentialTtl: number;
  /** Unix seconds. */
  now: () => number;
  crypto?: CryptoProvider;
}

export interface CallerInfo {
  identifier: string;
}

export interface IssuedCredential {
  credential: Uint8Array;
  expiresAt: number;
}

/** What a response may show of a member: no ticket hash. */
export interface MemberSummary {
  identifier: string;
  role: Role;
  relay: string | null;
  attributes: Record<string, string>;
  enrolledAt: number;
  revokedAt: number | null;
}

type RedeemFailure = 'POSTERN_TICKET_UNKNOWN' | 'POSTERN_TICKET_EXPIRED' | 'POSTERN_TICKET_USED' | 'POSTERN_MEMBER_REVOKED';

const REDEEM_ERRORS: Record<RedeemFailure, [message: string, hint: string]> = {
  POSTERN_TICKET_UNKNOWN: ['the enrollment ticket is not known to this hub', 'the ticket was not issued by this hub or was mistyped'],
  POSTERN_TICKET_EXPIRED: ['the enrollment ticket has expired', 'ask the vendor for a new ticket'],
  POSTERN_TICKET_USED: ['the enrollment ticket has already been used', 'ask the vendor for a new ticket'],
  POSTERN_MEMBER_REVOKED: [
    'this identity\'s membership was revoked',
    'a revoked identity cannot enroll again; ask the vendor for a new ticket and enroll a new node',
  ],
};

function configError(message: string): never {
  throw new PosternError('POSTERN_CONFIG_INVALID', `authority: ${message}`);
}

export function memberSummary(m: MemberRecord): MemberSummary {
  return {
    identifier: m.identifier,
    role: m.role,
    relay: m.relay,
    attributes: Object.fromEntries(Object.entries(m.attributes)),
    enrolledAt: m.enrolledAt,
    revokedAt: m.revokedAt,
  };
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** A failure as a response body; nothing but our own errors' text leaves the hub. */
function failure(e: unknown): Record<string, unknown> {
  try {
    if (isPosternError(e)) {
      return e.hint === undefined ? { ok: false, code: e.code, message: e.message } : { ok: false, code: e.code, message: e.message, hint: e.hint };
    }
  } catch {
    /* fall through: whatever was thrown is not ours to describe */
  }
  return { ok: false, code: 'POSTERN_INTERNAL', message: 'the authority could not handle the request' };
}

export class Authority {
  readonly publicKey: Uint8Array;
  readonly identifier: string;
  private readonly store: HubStore;
  private readonly vault: Vault;
  private readonly project: string;
  private readonly hubPublicKey: Uint8Array;
  private readonly routes: string[];
  private readonly credentialTtl: number;
  private readonly clock: () => number;
  private readonly crypto: CryptoProvider;

  constructor(o: AuthorityOptions) {
    this.crypto = o.crypto ?? defaultCrypto;
    const key = o.vault.get(AUTHORITY_LABEL);
    if (key === undefined) {
      throw new PosternError('POSTERN_VAULT_NO_KEY', 'the hub vault has no authority key', 'the hub directory is incomplete; create the project again with `postern hub init`');
    }
    if (key.kind !== 'ed25519') throw new PosternError('POSTERN_VAULT_KIND', `the authority key is ${key.kind}, not ed25519`);
    if (typeof o.project !== 'string' || o.project.length < 1 || o.project.length > 64) configError('project must be 1 to 64 characters');
    if (!(o.hubPublicKey instanceof Uint8Array) || o.hubPublicKey.length !== 32) configError('the hub public key must be 32 bytes');
    if (o.routes.length < 1 || o.routes.length > 8 || !o.routes.every(isRoute)) configError('tickets need 1 to 8 hub routes like tcp:HOST:PORT');
    if (!Number.isSafeInteger(o.credentialTtl) || o.credentialTtl < 1 || o.credentialTtl > MAX_CREDENTIAL_TTL) {
      configError(`credentialTtl must be 1 to ${MAX_CREDENTIAL_TTL} seconds`);
    }
    this.store = o.store;
    this.vault = o.vault;
    this.project = o.project;
    this.hubPublicKey = o.hubPublicKey.slice();
    this.routes = [...o.routes];
    this.credentialTtl = o.credentialTtl;
    this.clock = o.now;
    this.publicKey = key.publicKey.slice();
    this.identifier = identifierOf(this.publicKey, this.crypto);
  }

  private now(): number {
    const t = this.clock();
    if (!Number.isFinite(t) || t < 0) throw new PosternError('POSTERN_INTERNAL', 'the hub clock returned an invalid time');
    return Math.floor(t);
  }

  /** A member of this project, whatever its state. */
  private member(identifier: string): MemberRecord | undefined {
    const m = this.store.getMember(identifier);
    return m !== undefined && m.project === this.project ? m : undefined;
  }

  private activeMember(caller: CallerInfo): MemberRecord {
    const id = checkIdentifier(caller?.identifier, 'the caller');
    const m = this.member(id);
    if (m === undefined) throw new PosternError('POSTERN_NOT_A_MEMBER', 'this identity is not a member of the project', 'enroll with a ticket first');
    if (m.revokedAt !== null) throw new PosternError('POSTERN_MEMBER_REVOKED', 'this identity\'s membership was revoked', REDEEM_ERRORS.POSTERN_MEMBER_REVOKED[1]);
    return m;
  }

  private requireRole(caller: CallerInfo, roles: readonly Role[], message: string, hint: string): MemberRecord {
    const m = this.activeMember(caller);
    if (!roles.includes(m.role)) throw new PosternError('POSTERN_FORBIDDEN', message, hint);
    return m;
  }

  /** The member's attributes with the reserved ones set by the authority (any stored `postern.*` is overridden). */
  private credentialAttributes(m: MemberRecord): Record<string, string> {
    const attrs = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(m.attributes)) if (!isReservedAttribute(k)) attrs[k] = v;
    attrs[ATTR_PROJECT] = this.project;
    attrs[ATTR_ROLE] = m.role;
    if (m.relay !== null) attrs[ATTR_RELAY] = m.relay;
    return attrs;
  }

  private issue(m: MemberRecord): IssuedCredential {
    const issuedAt = this.now();
    const expiresAt = issuedAt + this.credentialTtl;
    const credential = issueCredential((msg) => this.vault.sign(AUTHORITY_LABEL, msg), {
      subject: m.identifier,
      authority: this.identifier,
      project: this.project,
      issuedAt,
      expiresAt,
      attributes: this.credentialAttributes(m),
    });
    return { credential, expiresAt };
  }

  /**
   * Redeem a ticket secret (64 hex digits) for the caller's identifier and
   * issue its first credential. Redeeming is one atomic store operation;
   * enrolling again with the same ticket by the same identity consumes no use
   * and returns `alreadyMember: true`.
   */
  enroll(caller: CallerInfo, secretHex: string): { credential: Uint8Array; member: MemberRecord; expiresAt: number; alreadyMember: boolean } {
    const id = checkIdentifier(caller?.identifier, 'the caller');
    const secret = fromHex(checkSecretHex(secretHex));
    const hash = ticketSecretHash(secret, this.crypto);
    wipe(secret);
    const r = this.store.redeemTicket(hash, id, this.now());
    if (!r.ok) {
      const [message, hint] = REDEEM_ERRORS[r.code];
      throw new PosternError(r.code, message, hint);
    }
    return { ...this.issue(r.member), member: r.member, alreadyMember: r.alreadyMember };
  }

  /** A fresh credential for an active member. */
  refresh(caller: CallerInfo): { credential: Uint8Array; member: MemberRecord; expiresAt: number } {
    const m = this.activeMember(caller);
    return { ...this.issue(m), member: m };
  }

  /**
   * Mint a ticket. The caller must be the administrator or an enroller; only
   * the administrator may mint enroller tickets. The store keeps the secret's
   * hash; the secret exists only in the returned ticket text.
   */
  createTicket(caller: CallerInfo, options: TicketOptions): { ticket: string; expiresAt: number } {
    const m = this.requireRole(caller, ['admin', 'enroller'], 'only the project administrator or an enroller may mint tickets', 'ask the vendor for a ticket');
    const o = checkTicketOptions(options);
    if (o.enroller && m.role !== 'admin') {
      throw new PosternError('POSTERN_FORBIDDEN', 'only the project administrator may mint enroller tickets', 'mint the ticket without --enroller, or ask the project administrator');
    }
    const now = this.now();
    const expiresAt = now + o.expiresIn;
    const secret = newTicketSecret(this.crypto);
    try {
      this.store.createTicket({
        secretHash: ticketSecretHash(secret, this.crypto),
        project: this.project,
        createdAt: now,
        expiresAt,
        usesRemaining: o.usageCount,
        attributes: o.attributes,
        relay: o.relay,
        enroller: o.enroller,
        createdBy: m.identifier,
      });
      const ticket = encodeTicket({ project: this.project, authorityPublicKey: this.publicKey, hubPublicKey: this.hubPublicKey, routes: this.routes, secret }, this.crypto);
      return { ticket, expiresAt };
    } finally {
      wipe(secret);
    }
  }

  /**
   * Administrator only: revoke a member by identifier, or every active member
   * that holds a relay name (the relay's current owner and any member whose
   * ticket allowed that name). Revoking is idempotent. Returns the identifiers
   * now revoked, so the hub can close their links.
   */
  revoke(caller: CallerInfo, target: RevokeTarget): string[] {
    const admin = this.requireRole(caller, ['admin'], 'only the project administrator may revoke members', 'run `member revoke` on the administrator\'s machine');
    const t = checkRevokeTarget(target);
    const ids = new Set<string>();
    if (t.identifier !== undefined) {
      if (this.member(t.identifier) === undefined) {
        throw new PosternError('POSTERN_NOT_A_MEMBER', `${t.identifier} is not a member of the project`, 'check the identifier');
      }
      ids.add(t.identifier);
    } else {
      const name = t.relay!;
      const owner = this.store.getRelay(name)?.owner;
      if (owner !== undefined && this.member(owner) !== undefined) ids.add(owner);
      for (const m of this.store.listMembers()) {
        if (m.project === this.project && m.relay === name && m.revokedAt === null) ids.add(m.identifier);
      }
      if (ids.size === 0) throw new PosternError('POSTERN_NOT_A_MEMBER', `no member holds relay ${name}`, 'check the relay name');
    }
    if (ids.has(admin.identifier)) {
      throw new PosternError('POSTERN_FORBIDDEN', 'the administrator cannot revoke itself', 'the project would be left without an administrator');
    }
    const now = this.now();
    for (const id of ids) this.store.revokeMember(id, now);
    return [...ids];
  }

  /** Administrator only: every member of the project, revoked ones included. */
  members(caller: CallerInfo): MemberRecord[] {
    this.requireRole(caller, ['admin'], 'only the project administrator may list members', 'run the command on the administrator\'s machine');
    return this.store.listMembers().filter((m) => m.project === this.project);
  }

  /**
   * Make `identifier` the project administrator (used by `hub init`) and
   * return its first credential. An existing record for it is replaced.
   */
  bootstrapAdmin(identifier: string): IssuedCredential {
    const m: MemberRecord = {
      identifier: checkIdentifier(identifier, 'the administrator'),
      project: this.project,
      attributes: {},
      relay: null,
      role: 'admin',
      enrolledAt: this.now(),
      revokedAt: null,
      ticketHash: null,
    };
    this.store.addMember(m);
    return this.issue(m);
  }

  /**
   * Dispatch one untrusted request (already JSON-parsed; may be anything).
   * Never throws: `{ ok: true, ...result }` or `{ ok: false, code, message, hint? }`.
   *   enroll {secret}            → credential (base64), expiresAt, alreadyMember, member
   *   refresh                    → credential (base64), expiresAt, member
   *   create-ticket {expiresIn, usageCount, attributes?, relay?, enroller?} → ticket, expiresAt
   *   revoke {identifier | relay} → revoked: string[]
   *   members                    → members: MemberSummary[]
   */
  handle(caller: CallerInfo, request: unknown): Record<string, unknown> {
    try {
      const req = parseAuthorityRequest(request);
      switch (req.op) {
        case 'enroll': {
          const r = this.enroll(caller, req.secret);
          return { ok: true, credential: base64(r.credential), expiresAt: r.expiresAt, alreadyMember: r.alreadyMember, member: memberSummary(r.member) };
        }
        case 'refresh': {
          const r = this.refresh(caller);
          return { ok: true, credential: base64(r.credential), expiresAt: r.expiresAt, member: memberSummary(r.member) };
        }
        case 'create-ticket': {
          const r = this.createTicket(caller, req.options);
          return { ok: true, ticket: r.ticket, expiresAt: r.expiresAt };
        }
        case 'revoke':
          return { ok: true, revoked: this.revoke(caller, req.target) };
        case 'members':
          return { ok: true, members: this.members(caller).map(memberSummary) };
      }
    } catch (e) {
      return failure(e);
    }
  }
}
