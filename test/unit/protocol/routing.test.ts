import { describe, expect, it } from 'vitest';
import { advanceRouteHeader, decodeRouted, encodeRouted, encodeRouteHeader, MAX_ROUTE_LEN } from '../../../protocol/routing/index.ts';
import { PosternError } from '../../../protocol/errors.ts';

describe('routed messages', () => {
  it('round-trips onward and return routes with a payload view', () => {
    const m = { onward: ['relay:acme-relay', 'listener'], ret: ['link:0011223344556677', 'ch-aa'], payload: Uint8Array.of(1, 2, 3) };
    const bytes = encodeRouted(m);
    const d = decodeRouted(bytes);
    expect(d).toEqual(m);
    expect(d.payload.buffer).toBe(bytes.buffer);
  });

  it('refuses bad addresses, long routes and truncated headers', () => {
    expect(() => encodeRouteHeader(['has space'], [])).toThrow(PosternError);
    expect(() => encodeRouteHeader(['x'.repeat(65)], [])).toThrow(PosternError);
    expect(() => encodeRouteHeader(Array(MAX_ROUTE_LEN + 1).fill('a'), [])).toThrow(PosternError);
    expect(() => decodeRouted(new Uint8Array(0))).toThrow(PosternError);
    expect(() => decodeRouted(Uint8Array.of(1, 5, 97))).toThrow(PosternError);
    expect(() => decodeRouted(Uint8Array.of(9))).toThrow(PosternError);
    expect(() => decodeRouted(Uint8Array.of(1, 1, 0x20, 0))).toThrow(/bad address characters/);
    expect(() => decodeRouted(Uint8Array.of(1, 0, 0))).toThrow(/bad address length/);
  });

  it('moves a header one hop on only when there is a hop to drop, room on the return route and a valid address to add', () => {
    expect(advanceRouteHeader(encodeRouteHeader(['relay:r', 'listener'], ['ch-aa']), 'link:7')).toEqual(encodeRouteHeader(['listener'], ['link:7', 'ch-aa']));
    expect(() => advanceRouteHeader(encodeRouteHeader([], ['ch-aa']), 'link:7')).toThrow(/no onward address/);
    expect(() => advanceRouteHeader(encodeRouteHeader(['a'], Array(MAX_ROUTE_LEN).fill('b')), 'link:7')).toThrow(/longer than 8 hops/);
    expect(() => advanceRouteHeader(encodeRouteHeader(['a'], []), 'has space')).toThrow(/invalid address/);
    expect(() => advanceRouteHeader(encodeRouteHeader(['abc'], ['def']).subarray(0, 7), 'link:7')).toThrow(/truncated/);
    // Cut at a length or count byte: still a route error, never a RangeError.
    for (const cut of [1, 2, 5, 6]) {
      expect(() => advanceRouteHeader(encodeRouteHeader(['abc'], ['def']).subarray(0, cut), 'link:7')).toThrow(PosternError);
    }
  });
});
