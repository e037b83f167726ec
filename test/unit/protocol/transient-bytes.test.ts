import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { transientBytes } from '../../../protocol/transient-bytes.ts';
import { SecureChannelHandshake } from '../../../protocol/channel/index.ts';
import { makeAuthority, makeParty, trust } from '../../helpers/identities.ts';

describe('transientBytes', () => {
  it('gives zeroed bytes that no other allocation shares: pool views up to 4 KiB, an ArrayBuffer of its own above', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 9000 }), { minLength: 1, maxLength: 60 }), (sizes) => {
        const got = sizes.map((n) => {
          const b = transientBytes(n);
          expect(b.length).toBe(n);
          expect(b.every((x) => x === 0)).toBe(true);
          b.fill(0xa5); // written at once: no later allocation may see or overwrite it
          return b;
        });
        for (const b of got) expect(b.every((x) => x === 0xa5)).toBe(true);
        for (const b of got) {
          if (b.length > 4096) expect(b.byteOffset === 0 && b.byteLength === b.buffer.byteLength).toBe(true);
          else expect(b.byteLength).toBeLessThan(b.buffer.byteLength);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('starts a new pool when one is full, leaving the old one\'s views intact', () => {
    const first = transientBytes(4096);
    first.fill(1);
    const later: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) later.push(transientBytes(4096));
    expect(later.some((b) => b.buffer !== first.buffer)).toBe(true);
    expect(first.every((x) => x === 1)).toBe(true);
    expect(later.every((b) => b.every((x) => x === 0))).toBe(true);
  });

  it('never reaches what a channel hands on: sealed messages and relay records hold no pooled view', () => {
    const auth = makeAuthority();
    const [A, B] = [makeParty(), makeParty()];
    const i = new SecureChannelHandshake({ initiator: true, local: A.local([auth.issue(A.identifier, { x: '1' })]), trust: trust(auth) });
    const r = new SecureChannelHandshake({ initiator: false, local: B.local([auth.issue(B.identifier, { x: '1' })]), trust: trust(auth) });
    const r1 = r.receive(i.start());
    const t = i.receive(r1.reply!).established!.transport;
    const small = (n: number, v: number) => new Uint8Array(n).fill(v);
    const outputs = [
      ...t.sealParts([small(9, 1), small(100, 2), small(3, 3)]), // small parts joined in the pool
      ...t.sealRelay([{ header: small(20, 4), payload: [small(50, 5)], transport: true }]), // headers sealed from the pool
      ...t.sealRelay([{ header: small(20, 6), payload: [small(50, 7)] }, { header: small(30, 8), payload: [small(10, 9)] }]),
    ];
    const current = transientBytes(1).buffer;
    for (const o of outputs) expect(o.buffer).not.toBe(current);
  });
});
