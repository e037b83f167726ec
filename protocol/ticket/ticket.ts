/**
 * Enrollment tickets: one printable line, "pstn1_" + base64url (no padding) of
 *   version u8 = 1 ‖ project str16 ‖ authority_public_key (32) ‖ hub_public_key (32)
 *   ‖ route_count u8 (1..8) ‖ route_count × route str16 ‖ secret (32) ‖ checksum (4)
 * where checksum = SHA-256(all preceding bytes)[0..4]. Attributes, expiry and
 * uses are NOT in the ticket: they live at the authority, keyed by the
 * secret's hash.
 */
import type { CryptoProvider } from '../crypto/provider.ts';
import { defaultCrypto } from '../crypto/index.ts';
import { concat, equal, Reader, toHex, utf8, Writer } from '../bytes.ts';
import { PosternError } from '../errors.ts';

export const TICKET_PREFIX = 'pstn1_';
const MAX_TICKET_TEXT = 4096;
const ROUTE_RE = /^tcp:(\[[0-9a-fA-F:.]+\]|[^\s:[\]]{1,253}):([0-9]{1,5})$/;
const SECRET_DOMAIN = concat(utf8('postern/v1/ticket-secret'), Uint8Array.of(0));

export interface Ticket {
  project: string;
  authorityPublicKey: Uint8Array;
  hubPublicKey: Uint8Array;
  routes: string[];
  secret: Uint8Array;
}

export function isRoute(r: string): boolean {
  const m = ROUTE_RE.exec(r);
  return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
}

function damaged(why: string): never {
  throw new PosternError('POSTERN_TICKET_DAMAGED', `the enrollment ticket is damaged (${why})`, 'the ticket was altered or cut when copied; copy the whole line again or ask for a new one');
}

export function encodeTicket(t: Ticket, crypto: CryptoProvider = defaultCrypto): string {
  if (t.routes.length < 1 || t.routes.length > 8 || !t.routes.every(isRoute)) {
    throw new PosternError('POSTERN_TICKET_MALFORMED', 'a ticket needs 1 to 8 routes like tcp:HOST:PORT');
  }
  if (t.secret.length !== 32 || t.authorityPublicKey.length !== 32 || t.hubPublicKey.length !== 32) {
    throw new PosternError('POSTERN_TICKET_MALFORMED', 'keys and secret must be 32 bytes');
  }
  const w = new Writer().u8(1).str16(t.project).bytes(t.authorityPublicKey).bytes(t.hubPublicKey).u8(t.routes.length);
  for (const r of t.routes) w.str16(r);
  w.bytes(t.secret);
  const body = w.finish();
  const sum = crypto.hash('SHA256').digest(body).subarray(0, 4);
  return TICKET_PREFIX + Buffer.from(concat(body, sum)).toString('base64url');
}

export function decodeTicket(text: string, crypto: CryptoProvider = defaultCrypto): Ticket {
  if (typeof text !== 'string' || text.length > MAX_TICKET_TEXT) {
    throw new PosternError('POSTERN_TICKET_MALFORMED', 'the enrollment ticket is too long', 'a ticket is one line starting with pstn1_');
  }
  const s = text.trim();
  if (!s.startsWith(TICKET_PREFIX)) {
    throw new PosternError('POSTERN_TICKET_FOREIGN', 'this does not look like a Postern enrollment ticket', 'a ticket is one line starting with pstn1_, as printed by `postern ticket create`');
  }
  const b64 = s.slice(TICKET_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(b64)) damaged('unexpected character');
  const bytes = new Uint8Array(Buffer.from(b64, 'base64url'));
  if (bytes.length < 6) damaged('too short');
  const body = bytes.subarray(0, bytes.length - 4);
  if (!equal(crypto.hash('SHA256').digest(body).subarray(0, 4), bytes.subarray(bytes.length - 4))) damaged('checksum mismatch');
  const r = new Reader(body, 'POSTERN_TICKET_MALFORMED', 'enrollment ticket');
  const version = r.u8();
  if (version !== 1) {
    throw new PosternError('POSTERN_TICKET_VERSION', `enrollment ticket version ${version} is not supported`, 'upgrade this program, or ask for a ticket from a matching hub');
  }
  const project = r.str16(64);
  const authorityPublicKey = r.bytes(32).slice();
  const hubPublicKey = r.bytes(32).slice();
  const n = r.u8();
  if (n < 1 || n > 8) r.fail('route count');
  const routes: string[] = [];
  for (let i = 0; i < n; i++) {
    const route = r.str16(300);
    if (!isRoute(route)) r.fail('bad route');
    routes.push(route);
  }
  const secret = r.bytes(32).slice();
  r.end();
  if (project.length < 1) r.fail('empty project');
  return { project, authorityPublicKey, hubPublicKey, routes, secret };
}

export function ticketSecretHash(secret: Uint8Array, crypto: CryptoProvider = defaultCrypto): string {
  return toHex(crypto.hash('SHA256').digest(SECRET_DOMAIN, secret));
}

export function newTicketSecret(crypto: CryptoProvider = defaultCrypto): Uint8Array {
  return crypto.randomBytes(32);
}
