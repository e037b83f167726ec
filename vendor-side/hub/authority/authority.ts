/**
 * The project's membership authority: mints tickets (keeping only a hash of
 * their secret), redeems them atomically, binds the redeemer's identifier to
 * the ticket's attributes, and issues short-lived credentials.
 */
import type { CryptoProvider } from '../../../protocol/crypto/provider.ts';
import { defaultCrypto } from '../../../protocol/crypto/index.ts';
import { PosternError } from '../../../protocol/errors.ts';
import { issueCredential } from '../../../protocol/credential/credential.ts';
import { identifierOf } from '../../../protocol/identity/identifier.ts';
import { encodeTicket, newTicketSecret, ticketSecretHash } from '../../../protocol/ticket/ticket.ts';
import type { Vault } from '../../../protocol/vault/vault.ts';
import type { HubStore, MemberRecord } from '../store/index.ts';
import { asObject, attributes, identifier, intIn, relayName, secretHex, TICKET_LIMITS } from './requests.ts';

export const AUTHORITY_LABEL = 'authority';

export interface AuthorityOptions {
  store: HubStore;
  vault: Vault;
  project: string;
  hubPublicKey: Uint8Array;
  routes: string[];
  credentialTtl: number;
  now: () => number;
  crypto?: CryptoProvider;
}

export interface CallerInfo {
  identifier: string;
}

const HINTS: Record<string, string> = {
  POSTERN_TICKET_UNKNOWN: 'the ticket was not issued by this hub or was mistyped',
  POSTERN_TICKET_EXPIRED: 'ask the vendor for a new ticket',
  POSTERN_TICKET_USED: 'the ticket has been used up; ask the vendor for a new ticket',
  POSTERN_MEMBER_REVOKED: 'this identity was revoked; ask the vendor',
};

export class Authority {
  readonly publicKey: Uint8Array;
  readonly identifier: string;
  private readonly o: AuthorityOptions;
  private readonly crypto: CryptoProvider;

  constructor(o: AuthorityOptions) {
    this.o = o;
    this.crypto = o.crypto ?? defaultCrypto;
    const key = o.vault.get(AUTHORITY_LABEL);
    if (key === undefined) throw new PosternError('POSTERN_VAULT_NO_KEY', 'the hub vault has no authority key', 'the hub directory is incomplete; run `postern hub init` again in a new directory');
    this.publicKey = key.publicKey;
    this.identifier = identifierOf(key.publicKey, this.crypto);
  }

  private issue(m: MemberRecord): { credential: Uint8Array; expiresAt: number } {
    const now = this.o.now();
    const expiresAt = now + this.o.credentialTtl;
    const attrs: Record<string, string> = { ...m.attributes, 'postern.project': this.o.project, 'postern.role': m.role };
    if (m.relay !== null) attrs['postern.relay'] = m.relay;
    const credential = issueCredential((msg) => this.o.vault.sign(AUTHORITY_LABEL, msg), {
      subject: m.identifier,
      authority: this.identifier,
      project: this.o.project,
      issuedAt: now,
      expiresAt,
      attributes: attrs,
    });
    return { credential, expiresAt };
  }

  private activeMember(caller: CallerInfo): MemberRecord {
    const m = this.o.store.getMember(caller.identifier);
    if (m === undefined) throw new PosternError('POSTERN_NOT_A_MEMBER', 'this identity is not a member of the project', 'enroll with a ticket first');
    if (m.revokedAt !== null) throw new PosternError('POSTERN_MEMBER_REVOKED', 'this identity was revoked', HINTS['POSTERN_MEMBER_REVOKED']);
    return m;
  }

  enroll(caller: CallerInfo, secret: string): { credential: Uint8Array; member: MemberRecord; expiresAt: number; alreadyMember: boolean } {
    const hash = ticketSecretHash(Buffer.from(secretHex(secret), 'hex'), this.crypto);
    const r = this.o.store.redeemTicket(hash, identifier(caller.identifier), this.o.now());
    if (!r.ok) {
      const what = { POSTERN_TICKET_UNKNOWN: 'unknown', POSTERN_TICKET_EXPIRED: 'expired', POSTERN_TICKET_USED: 'already used', POSTERN_MEMBER_REVOKED: 'for a revoked identity' }[r.code];
      throw new PosternError(r.code, `the enrollment ticket is ${what}`, HINTS[r.code]);
    }
    return { ...this.issue(r.member), member: r.member, alreadyMember: r.alreadyMember };
  }

  refresh(caller: CallerInfo): { credential: Uint8Array; member: MemberRecord; expiresAt: number } {
    const m = this.activeMember(caller);
    return { ...this.issue(m), member: m };
  }

  createTicket(
    caller: CallerInfo,
    o: { expiresIn: number; usageCount: number; attributes: Record<string, string>; relay: string | null; enroller: boolean },
  ): { ticket: string; expiresAt: number } {
    const m = this.activeMember(caller);
    if (m.role !== 'admin' && m.role !== 'enroller') {
      throw new PosternError('POSTERN_FORBIDDEN', 'only the administrator or an enroller may mint tickets');
    }
    if (o.enroller && m.role !== 'admin') {
      throw new PosternError('POSTERN_FORBIDDEN', 'only the administrator may mint enroller tickets', 'ask the project administrator');
    }
    const expiresIn = intIn(o.expiresIn, 'expiresIn', TICKET_LIMITS.minExpiresIn, TICKET_LIMITS.maxExpiresIn);
    const uses = intIn(o.usageCount, 'usageCount', 1, TICKET_LIMITS.maxUses);
    const attrs = attributes(o.attributes);
    const relay = relayName(o.relay);
    const secret = newTicketSecret(this.crypto);
    const now = this.o.now();
    const expiresAt = now + expiresIn;
    this.o.store.createTicket({
      secretHash: ticketSecretHash(secret, this.crypto),
      project: this.o.project,
      createdAt: now,
      expiresAt,
      usesRemaining: uses,
      attributes: attrs,
      relay,
      enroller: o.enroller === true,
      createdBy: m.identifier,
    });
    const ticket = encodeTicket({ project: this.o.project, authorityPublicKey: this.publicKey, hubPublicKey: this.o.hubPublicKey, routes: this.o.routes, secret }, this.crypto);
    secret.fill(0);
    return { ticket, expiresAt };
  }

  revoke(caller: CallerInfo, target: { identifier?: string; relay?: string }): string[] {
    const m = this.activeMember(caller);
    if (m.role !== 'admin') throw new PosternError('POSTERN_FORBIDDEN', 'only the administrator may revoke members');
    let id: string | undefined;
    if (target.identifier !== undefined) id = identifier(target.identifier);
    else if (target.relay !== undefined) id = this.o.store.getRelay(relayName(target.relay) ?? '')?.owner;
    if (id === undefined) throw new PosternError('POSTERN_NOT_A_MEMBER', 'no member matches', 'give a member identifier or a relay name in use');
    if (id === m.identifier) throw new PosternError('POSTERN_FORBIDDEN', 'the administrator cannot revoke itself');
    if (this.o.store.getMember(id) === undefined) throw new PosternError('POSTERN_NOT_A_MEMBER', `${id} is not a member`);
    this.o.store.revokeMember(id, this.o.now());
    return [id];
  }

  members(caller: CallerInfo): MemberRecord[] {
    const m = this.activeMember(caller);
    if (m.role !== 'admin') throw new PosternError('POSTERN_FORBIDDEN', 'only the administrator may list members');
    return this.o.store.listMembers();
  }

  bootstrapAdmin(id: string): { credential: Uint8Array; expiresAt: number } {
    const m: MemberRecord = {
      identifier: identifier(id),
      project: this.o.project,
      attributes: {},
      relay: null,
      role: 'admin',
      enrolledAt: this.o.now(),
      revokedAt: null,
      ticketHash: null,
    };
    this.o.store.addMember(m);
    return this.issue(m);
  }

  handle(caller: CallerInfo, request: unknown): Record<string, unknown> {
    try {
      const req = asObject(request);
      const b64 = (c: Uint8Array) => Buffer.from(c).toString('base64');
      switch (req['op']) {
        case 'enroll': {
          const r = this.enroll(caller, req['secret'] as string);
          return { ok: true, credential: b64(r.credential), expiresAt: r.expiresAt, alreadyMember: r.alreadyMember };
        }
        case 'refresh': {
          const r = this.refresh(caller);
          return { ok: true, credential: b64(r.credential), expiresAt: r.expiresAt };
        }
        case 'create-ticket':
          return {
            ok: true,
            ...this.createTicket(caller, {
              expiresIn: req['expiresIn'] as number,
              usageCount: req['usageCount'] as number,
              attributes: attributes(req['attributes']),
              relay: relayName(req['relay']),
              enroller: req['enroller'] === true,
            }),
          };
        case 'revoke':
          return {
            ok: true,
            revoked: this.revoke(caller, {
              ...(req['identifier'] !== undefined ? { identifier: req['identifier'] as string } : {}),
              ...(req['relay'] !== undefined ? { relay: req['relay'] as string } : {}),
            }),
          };
        case 'members':
          return { ok: true, members: this.members(caller) };
        default:
          throw new PosternError('POSTERN_BAD_REQUEST', 'unknown operation');
      }
    } catch (e) {
      if (e instanceof PosternError) return { ok: false, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      return { ok: false, code: 'POSTERN_INTERNAL', message: 'internal error' };
    }
  }
}
