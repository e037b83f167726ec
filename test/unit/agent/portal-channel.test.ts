/**
 * End-to-end channels joined by a relay that behaves like the hub (answers
 * carry the sender's return route), with a misbehaving path in between:
 * transport messages reach a channel unauthenticated by the links, so the
 * channel itself must refuse a changed one, refuse one before its handshake
 * completed, and tell the other end at once that it closed.
 */
import { describe, expect, it } from 'vitest';
import { PortalChannel } from '../../../agent/channel/portal-channel.ts';
import { StreamDuplex } from '../../../agent/portal/stream-duplex.ts';
import type { PosternError } from '../../../protocol/errors.ts';
import { concat } from '../../../protocol/bytes.ts';
import { decodeRouted, encodeRouteHeader } from '../../../protocol/routing/index.ts';
import { makeAuthority, makeParty, trust } from '../../helpers/identities.ts';
import { until } from '../../helpers/until.ts';

interface Sent {
  from: 'a' | 'b';
  length: number;
  transport: boolean;
  /** The first hop, and whether what was handed over as the route header is one, with nothing after it. */
  to: string;
  headerMatches: boolean;
}

/** What the path does to a message: deliver it (possibly changed, possibly with another kind), or drop it. */
type Path = (m: Uint8Array, transport: boolean, from: 'a' | 'b', n: number) => { m: Uint8Array; transport: boolean } | undefined;

function joined(path: Path = (m, transport) => ({ m, transport })) {
  const auth = makeAuthority();
  const parties = { a: makeParty(), b: makeParty() };
  const sent: Sent[] = [];
  const closed: Partial<Record<'a' | 'b', { code: string | undefined; at: number }>> = {};
  const ends: Partial<Record<'a' | 'b', PortalChannel>> = {};
  const established: Partial<Record<'a' | 'b', boolean>> = {};
  const make = (who: 'a' | 'b', remoteRoute: string[]) =>
    new PortalChannel({
      initiator: who === 'a',
      local: parties[who].local([auth.issue(parties[who].identifier, { role: who })]),
      trust: trust(auth),
      remoteRoute,
      keepaliveMs: 60_000,
      send: (header, parts, transport) => {
        const { onward, ret, payload } = decodeRouted(header);
        const m = concat(...parts);
        const headerMatches = payload.length === 0 && Buffer.from(header).equals(encodeRouteHeader(onward, ret));
        const n = sent.push({ from: who, length: m.length, transport, to: onward[0]!, headerMatches });
        const out = path(m, transport, who, n - 1);
        if (out === undefined) return;
        const hop = who === 'a' ? 'link:a' : 'link:b';
        setImmediate(() => {
          if (who === 'a' && onward[0] === 'relay:r') ends.b ??= make('b', [hop, ...ret]);
          ends[who === 'a' ? 'b' : 'a']?.receive(out.m, [hop, ...ret], out.transport);
        });
      },
      onEstablished: () => (established[who] = true),
      onClose: (_ch, err?: PosternError) => (closed[who] = { code: err?.code, at: Date.now() }),
    });
  ends.a = make('a', ['relay:r', 'listener']);
  ends.a.start();
  return { ends, sent, closed, established };
}


describe('end-to-end channel over an unauthenticated path', () => {
  it('sends handshake messages for the links to authenticate and only transport messages without', async () => {
    const j = joined();
    await until(() => j.established.a === true && j.established.b === true, 3000, 2);
    j.ends.a!.mux.ping(7);
    await until(() => j.sent.length === 5, 3000, 2);
    expect(j.sent.map((s) => [s.from, s.transport])).toEqual([
      ['a', false],
      ['b', false],
      ['a', false],
      ['a', true],
      ['b', true],
    ]);
    // The kept route header is always the route's, and a new one once the initiator learned the responder's address.
    expect(j.sent.every((s) => s.headerMatches)).toBe(true);
    expect(j.sent.filter((s) => s.from === 'a').map((s) => s.to)).toEqual(['relay:r', 'link:b', 'link:b']);
  });

  it('sends what separate callbacks of one event-loop turn queue as one message', async () => {
    const j = joined();
    await until(() => j.established.a === true && j.established.b === true && j.sent.length === 3, 3000, 2);
    // Two callbacks of the same turn, as two connections read in one turn would be.
    await new Promise<void>((done) => {
      setImmediate(() => j.ends.a!.mux.ping(1));
      setImmediate(() => j.ends.a!.mux.ping(2));
      setImmediate(() => setImmediate(done));
    });
    expect(j.sent.slice(3).map((s) => [s.from, s.transport])).toEqual([['a', true]]);
    // Both pings arrived in it: their two answers leave together too.
    await until(() => j.sent.length === 5, 3000, 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(j.sent.slice(3).map((s) => s.from)).toEqual(['a', 'b']);
  });

  it('a writer\'s buffered writes all leave in the turn they were written, not one turn each', async () => {
    const j = joined();
    await until(() => j.established.a === true && j.established.b === true && j.sent.length === 3, 3000, 2);
    const d = new StreamDuplex(j.ends.a!.mux.open('x'));
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    // Each write waits for the one before it to be sealed: the channel must release the next in the same pass.
    for (let i = 0; i < 50; i++) d.write(Buffer.alloc(100, i));
    const start = turns;
    await new Promise<void>((done) => d.write(Buffer.alloc(1), () => done()));
    counting = false;
    expect(turns - start).toBeLessThanOrEqual(2);
    expect(j.sent.slice(3).filter((m) => m.from === 'a').length).toBeGreaterThanOrEqual(1);
  });

  it('a transport message changed on the way closes the receiving end, which tells the sender at once', async () => {
    const j = joined((m, transport, from) => {
      if (transport && from === 'a') m[m.length - 1]! ^= 1;
      return { m, transport };
    });
    await until(() => j.established.a === true && j.established.b === true, 3000, 2);
    const t0 = Date.now();
    j.ends.a!.mux.ping(7);
    await until(() => j.closed.a !== undefined && j.closed.b !== undefined, 3000, 2);
    expect(j.closed.b!.code).toBe('POSTERN_MESSAGE_TAMPERED');
    expect(j.closed.a!.code).toBe('POSTERN_PEER_CLOSED');
    // Through the notice, not the keepalive (60 s here).
    expect(j.closed.a!.at - t0).toBeLessThan(2000);
    const notice = j.sent.filter((s) => s.from === 'b').at(-1)!;
    expect(notice).toMatchObject({ from: 'b', length: 0, transport: false, to: 'link:a', headerMatches: true });
    // The end that was told does not answer the notice.
    expect(j.sent.filter((s) => s.from === 'a' && s.length === 0)).toEqual([]);
  });

  it('a handshake message arriving as a transport message is refused, and the sender told', async () => {
    // The responder's answer, passed on as if no link had to authenticate it.
    const j = joined((m, transport, from, n) => ({ m, transport: transport || (from === 'b' && n === 1) }));
    await until(() => j.closed.a !== undefined && j.closed.b !== undefined, 3000, 2);
    expect(j.established.a).toBeUndefined();
    expect(j.closed.a!.code).toBe('POSTERN_MESSAGE_UNEXPECTED');
    expect(j.closed.b!.code).toBe('POSTERN_PEER_CLOSED');
  });

  it('a notice arriving as a transport message is not a notice: it is a truncated transport message', async () => {
    const j = joined();
    await until(() => j.established.a === true && j.established.b === true, 3000, 2);
    j.ends.a!.receive(new Uint8Array(0), ['link:b', j.ends.b!.address], true);
    expect(j.closed.a!.code).toBe('POSTERN_MESSAGE_TRUNCATED');
    await until(() => j.closed.b !== undefined, 3000, 2);
    expect(j.closed.b!.code).toBe('POSTERN_PEER_CLOSED');
  });

  it('a notice from any other address is ignored', async () => {
    const j = joined();
    await until(() => j.established.a === true && j.established.b === true, 3000, 2);
    j.ends.a!.receive(new Uint8Array(0), ['link:x', j.ends.b!.address], false);
    j.ends.a!.receive(new Uint8Array(0), ['link:b', 'ch-0000000000000000'], false);
    j.ends.b!.receive(new Uint8Array(0), ['link:a'], false);
    j.ends.a!.mux.ping(1);
    await until(() => j.sent.filter((s) => s.from === 'b' && s.transport).length === 1, 3000, 2);
    expect(j.closed).toEqual({});
  });

  it('closing one end closes the other at once, with no notice back', async () => {
    const j = joined();
    await until(() => j.established.a === true && j.established.b === true, 3000, 2);
    j.ends.b!.close();
    await until(() => j.closed.a !== undefined, 3000, 2);
    expect(j.closed.a!.code).toBe('POSTERN_PEER_CLOSED');
    await new Promise((r) => setTimeout(r, 20));
    expect(j.sent.filter((s) => s.length === 0).map((s) => s.from)).toEqual(['b']);
  });
});
