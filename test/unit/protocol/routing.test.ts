import { describe, expect, it } from 'vitest';
import { decodeRouted, encodeRouted, encodeRouteHeader, MAX_ROUTE_LEN } from '../../../protocol/routing/index.ts';
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
});
