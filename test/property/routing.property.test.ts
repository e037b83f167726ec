import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { advanceRouteHeader, decodeRouted, encodeRouted, encodeRouteHeader, MAX_ROUTE_LEN } from '../../protocol/routing/index.ts';
import { PosternError } from '../../protocol/errors.ts';
import { FrameDecoder } from '../../agent/transport/frame-decoder.ts';

const address = fc.stringMatching(/^[A-Za-z0-9:._-]{1,64}$/);
const route = fc.array(address, { maxLength: MAX_ROUTE_LEN });

describe('routing codec properties', () => {
  it('decode(encode(m)) = m', () => {
    fc.assert(
      fc.property(route, route, fc.uint8Array({ maxLength: 512 }), (onward, ret, payload) => {
        expect(decodeRouted(encodeRouted({ onward, ret, payload }))).toEqual({ onward, ret, payload });
      }),
      { numRuns: 300 },
    );
  });

  it('a route header one hop on, from its bytes, is the one encoded from the addresses (the payload after it ignored)', () => {
    fc.assert(
      fc.property(
        fc.array(address, { minLength: 1, maxLength: MAX_ROUTE_LEN }),
        fc.array(address, { maxLength: MAX_ROUTE_LEN - 1 }),
        address,
        fc.uint8Array({ maxLength: 64 }),
        (onward, ret, hop, payload) => {
          const bytes = encodeRouted({ onward, ret, payload });
          const next = advanceRouteHeader(bytes.subarray(0, bytes.length - payload.length), hop);
          expect(next).toEqual(encodeRouteHeader(onward.slice(1), [hop, ...ret]));
          expect(decodeRouted(next)).toEqual({ onward: onward.slice(1), ret: [hop, ...ret], payload: new Uint8Array(0) });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes decode or fail with a PosternError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        try {
          decodeRouted(b);
        } catch (e) {
          expect(e).toBeInstanceOf(PosternError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('the frame decoder never throws anything but a PosternError and never holds more than one frame', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const d = new FrameDecoder(1024);
        try {
          for (const c of chunks) {
            d.push(c, () => {});
            expect(d.bufferedBytes).toBeLessThanOrEqual(1024 + 4 + 300);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(PosternError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
