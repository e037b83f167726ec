/**
 * A routed message: an onward route (where it goes, first hop first), a
 * return route (how to answer) and an opaque payload. Each hop pops its own
 * address from the onward route; a hop that forwards for someone else may
 * push an address onto the return route so replies find their way back.
 *
 *   onward_count u8 ‖ onward_count × (len u8 ‖ address)
 *   return_count u8 ‖ return_count × (len u8 ‖ address)
 *   payload (the rest)
 */
import { PosternError } from '../errors.ts';

export const MAX_ROUTE_LEN = 8;
export const MAX_ADDRESS_LEN = 64;
/** Header budget: what a routed message may add around its payload. */
export const MAX_ROUTE_HEADER = 2 + 2 * MAX_ROUTE_LEN * (1 + MAX_ADDRESS_LEN);
/** Bytes allowed in an address: A-Z a-z 0-9 : . _ - (a table, not a regex: this runs per message). */
const ADDRESS_BYTE = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:._-') ADDRESS_BYTE[c.charCodeAt(0)] = 1;

export interface RoutedMessage {
  onward: string[];
  ret: string[];
  payload: Uint8Array;
}

export class RouteError extends PosternError {}

/** A node's address for new end-to-end channels. */
export const LISTENER_ADDRESS = 'listener';
/** Prefix of a node's end-to-end channel addresses. */
export const CHANNEL_PREFIX = 'ch-';
/** Prefix of the hub's address for one node's link (`link:ID`). */
export const LINK_PREFIX = 'link:';
/** Prefix of the hub's address for a relay by name (`relay:NAME`). */
export const RELAY_NAME_PREFIX = 'relay:';

/** A node's addresses that other nodes reach through the hub: its listener and its channels. */
export function isChannelAddress(a: string): boolean {
  return a === LISTENER_ADDRESS || a.startsWith(CHANNEL_PREFIX);
}

export function isAddress(a: string): boolean {
  if (a.length === 0 || a.length > MAX_ADDRESS_LEN) return false;
  for (let i = 0; i < a.length; i++) {
    const c = a.charCodeAt(i);
    if (c > 0xff || ADDRESS_BYTE[c] !== 1) return false;
  }
  return true;
}

function checkRoute(route: string[]): void {
  if (route.length > MAX_ROUTE_LEN) throw new RouteError('POSTERN_ROUTE_INVALID', `route longer than ${MAX_ROUTE_LEN} hops`);
  for (const a of route) {
    if (!isAddress(a)) throw new RouteError('POSTERN_ROUTE_INVALID', `invalid address ${JSON.stringify(a.slice(0, 80))}`);
  }
}

/** Encode the route header; the payload is sent after it without a copy. */
export function encodeRouteHeader(onward: string[], ret: string[]): Uint8Array {
  checkRoute(onward);
  checkRoute(ret);
  let n = 2;
  for (const a of onward) n += 1 + a.length;
  for (const a of ret) n += 1 + a.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const route of [onward, ret]) {
    out[o++] = route.length;
    for (const a of route) {
      out[o++] = a.length;
      for (let i = 0; i < a.length; i++) out[o++] = a.charCodeAt(i);
    }
  }
  return out;
}

/**
 * The route header one hop on, as a forwarding hop sends it: the first
 * onward address dropped and `hop` put first on the return route. Works on
 * the bytes, without decoding the addresses again: `header` is the route part
 * of a message `decodeRouted` accepted (anything after it is ignored), `hop`
 * a valid address. Equal to `encodeRouteHeader(onward.slice(1), [hop, ...ret])`.
 */
export function advanceRouteHeader(header: Uint8Array, hop: string): Uint8Array {
  if (!isAddress(hop)) throw new RouteError('POSTERN_ROUTE_INVALID', `invalid address ${JSON.stringify(hop.slice(0, 80))}`);
  // Lengths and counts are checked against the bytes there are; the addresses' characters are not
  // (decodeRouted checked them).
  const at = (i: number): number => {
    if (i >= header.length) throw new RouteError('POSTERN_ROUTE_INVALID', 'malformed routed message: truncated');
    return header[i]!;
  };
  const onward = at(0);
  if (onward === 0) throw new RouteError('POSTERN_ROUTE_INVALID', 'no onward address to drop');
  const rest = 2 + at(1);
  let o = 1;
  for (let i = 0; i < onward; i++) o += 1 + at(o);
  const retAt = o;
  const ret = at(retAt);
  if (ret >= MAX_ROUTE_LEN) throw new RouteError('POSTERN_ROUTE_INVALID', `route longer than ${MAX_ROUTE_LEN} hops`);
  o++;
  for (let i = 0; i < ret; i++) o += 1 + at(o);
  if (o > header.length) throw new RouteError('POSTERN_ROUTE_INVALID', 'malformed routed message: truncated');
  const out = new Uint8Array(1 + (retAt - rest) + 2 + hop.length + (o - retAt - 1));
  out[0] = onward - 1;
  out.set(header.subarray(rest, retAt), 1);
  let w = 1 + retAt - rest;
  out[w++] = ret + 1;
  out[w++] = hop.length;
  for (let i = 0; i < hop.length; i++) out[w++] = hop.charCodeAt(i);
  out.set(header.subarray(retAt + 1, o), w);
  return out;
}

export function encodeRouted(m: RoutedMessage): Uint8Array {
  const h = encodeRouteHeader(m.onward, m.ret);
  const out = new Uint8Array(h.length + m.payload.length);
  out.set(h);
  out.set(m.payload, h.length);
  return out;
}

/** Decode; the payload is a view into `bytes`. */
export function decodeRouted(bytes: Uint8Array): RoutedMessage {
  let o = 0;
  const fail = (why: string): never => {
    throw new RouteError('POSTERN_ROUTE_INVALID', `malformed routed message: ${why}`);
  };
  const routes: string[][] = [];
  for (let r = 0; r < 2; r++) {
    if (o >= bytes.length) fail('truncated');
    const count = bytes[o++]!;
    if (count > MAX_ROUTE_LEN) fail(`route of ${count} hops`);
    const route: string[] = [];
    for (let i = 0; i < count; i++) {
      if (o >= bytes.length) fail('truncated');
      const len = bytes[o++]!;
      if (len === 0 || len > MAX_ADDRESS_LEN || o + len > bytes.length) fail('bad address length');
      for (let j = 0; j < len; j++) if (ADDRESS_BYTE[bytes[o + j]!] !== 1) fail('bad address characters');
      // One flat string at once (the bytes are checked ASCII), not one concatenation per character.
      route.push(String.fromCharCode.apply(null, bytes.subarray(o, o + len) as unknown as number[]));
      o += len;
    }
    routes.push(route);
  }
  return { onward: routes[0]!, ret: routes[1]!, payload: bytes.subarray(o) };
}
