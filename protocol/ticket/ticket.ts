/**
 * Enrollment tickets (docs/PROTOCOL.md §6.4): one printable line,
 *
 *   text  = "pstn1_" ‖ base64url-without-padding(bytes)
 *   bytes = version u8 (= 1) ‖ project str16 ‖ authority_public_key (32) ‖ hub_public_key (32)
 *           ‖ route_count u8 (1..8) ‖ route_count × route str16 ‖ secret (32) ‖ checksum (4)
 *   checksum = SHA-256(all preceding bytes)[0..4]
 *
 * The checksum catches copy-and-paste damage; it is not a signature. The
 * ticket is a bearer secret: the authority keeps only ticketSecretHash(secret)
 * together with the ticket's attributes, expiry and remaining uses, none of
 * which travel in the ticket.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, equal, Reader, toHex, utf8, Writer } from '../bytes.ts';
import { PosternError } from '../errors.ts';
import { isProjectName, MAX_PROJECT_BYTES } from '../credential/credential.ts';

export const TICKET_PREFIX = 'pstn1_';
export const TICKET_VERSION = 1;
/** Longest ticket text accepted, surrounding whitespace included. */
export const MAX_TICKET_TEXT = 4096;
export const MAX_TICKET_ROUTES = 8;
/** "tcp:" + 253-character host + ":" + 5-digit port. */
export const MAX_TICKET_ROUTE_LEN = 4 + 253 + 1 + 5;
export const TICKET_SECRET_LEN = 32;
const CHECKSUM_LEN = 4;
const KEY_LEN = 32;

/**
 * tcp:HOST:PORT, PORT 1..65535. HOST is at most 253 characters: a DNS name
 * or IPv4 address (letters, digits, '.', '_', '-'), or an IPv6 address in
 * brackets. A subset of /^tcp:[^\s]{1,253}:[0-9]{1,5}$/ with no ambiguous colon.
 */
const ROUTE_RE = /^tcp:(\[[0-9A-Fa-f:.]{2,251}\]|[A-Za-z0-9._-]{1,253}):([0-9]{1,5})$/;
const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;
const OTHER_VERSION_RE = /^pstn([0-9]+)_/;
const SECRET_DOMAIN = concat(utf8('postern/v1/ticket-secret'), Uint8Array.of(0));

const HINT_COPY = 'the ticket was altered or cut when copied: copy the whole line again, or ask the vendor for a new ticket';
const HINT_FOREIGN = 'an enrollment ticket is one line starting with pstn1_, as printed by `postern ticket create`';
const HINT_MALFORMED = 'the ticket is not a valid Postern ticket although it arrived intact: ask the vendor for a new one';
const HINT_VERSION = 'the ticket was made by a different version of Postern: upgrade this program, or ask for a ticket from a matching hub';

export interface Ticket {
  project: string;
  authorityPublicKey: Uint8Array;
  hubPublicKey: Uint8Array;
  routes: string[];
  secret: Uint8Array;
}

export function isRoute(route: unknown): route is string {
  if (typeof route !== 'string') return false;
  const m = ROUTE_RE.exec(route);
  if (m === null) return false;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535;
}

function damaged(why: string): never {
  throw new PosternError('POSTERN_TICKET_DAMAGED', `the enrollment ticket is damaged (${why})`, HINT_COPY);
}

function invalid(why: string): never {
  throw new PosternError('POSTERN_TICKET_MALFORMED', `cannot encode enrollment ticket: ${why}`, 'this is a bug in the ticket issuer');
}

function isKey(k: unknown): k is Uint8Array {
  return k instanceof Uint8Array && k.length === KEY_LEN;
}

export function encodeTicket(t: Ticket, crypto: CryptoProvider = defaultCrypto): string {
  if (!isProjectName(t.project)) invalid('project must be 1..64 characters');
  if (!isKey(t.authorityPublicKey) || !isKey(t.hubPublicKey)) invalid('public keys must be 32 bytes');
  if (!(t.secret instanceof Uint8Array) || t.secret.length !== TICKET_SECRET_LEN) invalid('the secret must be 32 bytes');
  if (!Array.isArray(t.routes) || t.routes.length < 1 || t.routes.length > MAX_TICKET_ROUTES) invalid(`a ticket needs 1..${MAX_TICKET_ROUTES} routes`);
  for (const r of t.routes) if (!isRoute(r)) invalid(`route ${JSON.stringify(String(r).slice(0, 80))} is not tcp:HOST:PORT`);
  const w = new Writer()
    .u8(TICKET_VERSION)
    .str16(t.project)
    .bytes(t.authorityPublicKey)
    .bytes(t.hubPublicKey)
    .u8(t.routes.length);
  for (const r of t.routes) w.str16(r);
  w.bytes(t.secret);
  const body = w.finish();
  const checksum = crypto.hash('SHA256').digest(body).subarray(0, CHECKSUM_LEN);
  return TICKET_PREFIX + Buffer.from(concat(body, checksum)).toString('base64url');
}

/**
 * Decode the printable ticket. Surrounding whitespace (spaces, newlines, a
 * byte-order mark) is ignored. Every failure is a PosternError:
 * POSTERN_TICKET_FOREIGN, _VERSION, _DAMAGED or _MALFORMED.
 */
export function decodeTicket(text: string, crypto: CryptoProvider = defaultCrypto): Ticket {
  if (typeof text !== 'string') {
    throw new PosternError('POSTERN_TICKET_FOREIGN', 'this does not look like a Postern enrollment ticket', HINT_FOREIGN);
  }
  const s = text.trim();
  if (!s.startsWith(TICKET_PREFIX)) {
    const other = OTHER_VERSION_RE.exec(s);
    if (other !== null) {
      throw new PosternError('POSTERN_TICKET_VERSION', `enrollment ticket format ${other[1]} is not supported (this program reads format 1)`, HINT_VERSION);
    }
    throw new PosternError('POSTERN_TICKET_FOREIGN', 'this does not look like a Postern enrollment ticket', HINT_FOREIGN);
  }
  if (text.length > MAX_TICKET_TEXT) {
    throw new PosternError('POSTERN_TICKET_MALFORMED', `the enrollment ticket is longer than ${MAX_TICKET_TEXT} characters`, 'paste only the ticket: one line starting with pstn1_');
  }
  const b64 = s.slice(TICKET_PREFIX.length);
  if (!BASE64URL_RE.test(b64)) damaged('it contains a character that cannot be in a ticket');
  if (b64.length % 4 === 1) damaged('its length is impossible');
  const bytes = new Uint8Array(Buffer.from(b64, 'base64url'));
  // Node's decoder ignores the unused low bits of the last character; insist on the one canonical text.
  if (Buffer.from(bytes).toString('base64url') !== b64) damaged('it is not canonical base64url');
  if (bytes.length < 1 + CHECKSUM_LEN) damaged('it is too short');
  const body = bytes.subarray(0, bytes.length - CHECKSUM_LEN);
  const checksum = crypto.hash('SHA256').digest(body).subarray(0, CHECKSUM_LEN);
  if (!equal(checksum, bytes.subarray(bytes.length - CHECKSUM_LEN))) damaged('checksum mismatch');

  return decodeFields(body);
}

/** The checksummed bytes, field by field (the version byte first). */
function decodeFields(body: Uint8Array): Ticket {
  const r = new Reader(body, 'POSTERN_TICKET_MALFORMED', 'enrollment ticket');
  try {
    return fieldsOf(r);
  } catch (e) {
    // Reader errors carry no hint; give the person one.
    if (e instanceof PosternError && e.hint === undefined) throw new PosternError(e.code, e.message, HINT_MALFORMED);
    throw e;
  }
}

function fieldsOf(r: Reader): Ticket {
  const version = r.u8();
  if (version !== TICKET_VERSION) {
    throw new PosternError('POSTERN_TICKET_VERSION', `enrollment ticket version ${version} is not supported (this program reads version 1)`, HINT_VERSION);
  }
  const project = r.str16(MAX_PROJECT_BYTES);
  if (!isProjectName(project)) r.fail('project must be 1..64 characters');
  const authorityPublicKey = r.bytes(KEY_LEN).slice();
  const hubPublicKey = r.bytes(KEY_LEN).slice();
  const n = r.u8();
  if (n < 1 || n > MAX_TICKET_ROUTES) r.fail(`${n} routes (1..${MAX_TICKET_ROUTES} allowed)`);
  const routes: string[] = [];
  for (let i = 0; i < n; i++) {
    const route = r.str16(MAX_TICKET_ROUTE_LEN);
    if (!isRoute(route)) r.fail('a route is not tcp:HOST:PORT');
    routes.push(route);
  }
  const secret = r.bytes(TICKET_SECRET_LEN).slice();
  r.end();
  return { project, authorityPublicKey, hubPublicKey, routes, secret };
}

/** What the authority stores instead of the secret: lowercase hex SHA-256("postern/v1/ticket-secret" ‖ 0x00 ‖ secret). */
export function ticketSecretHash(secret: Uint8Array, crypto: CryptoProvider = defaultCrypto): string {
  return toHex(crypto.hash('SHA256').digest(SECRET_DOMAIN, secret));
}

export function newTicketSecret(crypto: CryptoProvider = defaultCrypto): Uint8Array {
  return crypto.randomBytes(TICKET_SECRET_LEN);
}
