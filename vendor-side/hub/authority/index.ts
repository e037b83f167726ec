/**
 * The hub's membership authority: tickets → members → credentials.
 *
 * Error codes it answers with (each with a hint where one helps):
 *   POSTERN_BAD_REQUEST        wrong request shape, unknown op, ticket secret not 64 hex digits
 *   POSTERN_BAD_IDENTIFIER     an identifier that is not "I" + 40 hex digits
 *   POSTERN_BAD_DURATION       a duration that does not parse, or expiresIn outside 60 s..30 d
 *   POSTERN_BAD_USAGE_COUNT    usageCount outside 1..1000
 *   POSTERN_BAD_ATTRIBUTE      too many attributes, a bad name or value, or a reserved `postern.*` name
 *   POSTERN_BAD_NAME           a relay name outside ^[a-z0-9][a-z0-9._-]{0,62}$
 *   POSTERN_TICKET_UNKNOWN     no ticket with that secret (not from this hub, or mistyped)
 *   POSTERN_TICKET_EXPIRED     the ticket's time is up
 *   POSTERN_TICKET_USED        every use of the ticket has been taken
 *   POSTERN_NOT_A_MEMBER       the caller (or a revoke target) is not a member
 *   POSTERN_MEMBER_REVOKED     the caller's membership was revoked
 *   POSTERN_FORBIDDEN          the caller's role does not allow the operation
 *   POSTERN_INTERNAL           anything else; no detail leaves the hub
 *
 * Reserved credential attributes, always set by the authority and never by a
 * ticket: `postern.project` (project id), `postern.role` (admin | enroller |
 * member), `postern.relay` (the member's relay name, when it has one).
 */
export { Authority, AUTHORITY_LABEL, memberSummary, type AuthorityOptions, type CallerInfo, type IssuedCredential, type MemberSummary } from './authority.ts';
export { parseDuration, formatDuration } from './duration.ts';
export {
  ATTR_PROJECT,
  ATTR_RELAY,
  ATTR_ROLE,
  RELAY_NAME_RE,
  RESERVED_PREFIX,
  TICKET_LIMITS,
  attributesFromArgs,
  checkAttributes,
  checkRelayName,
  checkTicketOptions,
  isReservedAttribute,
  parseAuthorityRequest,
  type AuthorityRequest,
  type RevokeTarget,
  type TicketOptions,
} from './requests.ts';
