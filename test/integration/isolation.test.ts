/**
 * Tenant isolation: 20 customer nodes (real processes), each with its own
 * ticket, relay and outlet. Every customer tries every other customer's
 * relay; none gets a byte through, none can claim another's relay name,
 * and the vendor still reaches every one of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/processes.ts';
import { echoService } from '../helpers/servers.ts';
import { Project, roundTrip } from '../helpers/walkthrough-env.ts';

const N = 20;
let p: Project;
let echo: Awaited<ReturnType<typeof echoService>>;
const names = Array.from({ length: N }, (_, i) => `c${String(i).padStart(2, '0')}`);

beforeAll(async () => {
  echo = await echoService();
  p = new Project();
  await p.startHub();
  await p.node('vendor', 'vendor', ['--attribute', 'vendor', '--relay', 'vendor-relay']);
  // Enroll in batches of 5 to keep the machine responsive.
  for (let i = 0; i < N; i += 5) {
    await Promise.all(
      names.slice(i, i + 5).map((n) =>
        p.node(n, n, ['--attribute', `customer=${n}`, '--attribute', 'inlet-to-saas', '--relay', `${n}-relay`], { svc: `127.0.0.1:${echo.port}` }, 'vendor'),
      ),
    );
  }
}, 240_000);

afterAll(async () => {
  await p?.close();
  echo?.server.close();
});

describe(`tenant isolation across ${N} customers`, () => {
  it('the vendor reaches every customer', async () => {
    for (const n of names) {
      const port = await p.inlet('vendor', 'vendor', `${n}-relay`, 'svc');
      expect(await roundTrip(port, `to ${n}`)).toBe(`to ${n}`);
    }
  }, 120_000);

  it(`no customer reaches another's outlet (${N * (N - 1)} pairs)`, async () => {
    let tried = 0;
    for (const from of names) {
      const results = await Promise.all(
        names
          .filter((to) => to !== from)
          .map(async (to) => {
            const port = await p.inlet(from, from, `${to}-relay`, 'svc');
            return { to, got: await roundTrip(port, `from ${from}`) };
          }),
      );
      for (const r of results) {
        expect(r.got, `${from} → ${r.to}`).toBe('');
        tried++;
      }
    }
    expect(tried).toBe(N * (N - 1));
  }, 180_000);

  it('no customer can create or take over another\'s relay, or the vendor\'s', async () => {
    for (const from of names.slice(0, 5)) {
      for (const relay of [`${names[(names.indexOf(from) + 1) % N]}-relay`, 'vendor-relay']) {
        const r = await cli(['relay', 'create', relay], p.env(from));
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/POSTERN_RELAY_FORBIDDEN/);
      }
    }
  }, 60_000);

  it('customers cannot list relays or mint tickets', async () => {
    await expect(p.control(names[0]!, names[0]!, 'relays')).rejects.toMatchObject({ code: 'POSTERN_FORBIDDEN' });
  });
});
