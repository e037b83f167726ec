export { Authority, AUTHORITY_LABEL, type AuthorityOptions, type CallerInfo } from './authority.ts';
export { parseDuration } from './duration.ts';
export { TICKET_LIMITS, RESERVED_PREFIX } from './requests.ts';
