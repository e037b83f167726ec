/**
 * npm run demo — the walk-through of docs/ARCHITECTURE, locally, in one go:
 * a hub, the vendor's node, ACME's agent node, real HTTP/TCP services as
 * "saas", "github" and "jira", and real clients through both inlets.
 * Every machine is a separate POSTERN_HOME under a temporary directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { request } from 'undici';
import { cli, cliOk, freePort, postern } from '../test/helpers/processes.ts';
import { echoService, httpService } from '../test/helpers/servers.ts';

const root = mkdtempSync(join(tmpdir(), 'postern-demo-'));
const vendor = { POSTERN_HOME: join(root, 'vendor') };
const acme = { POSTERN_HOME: join(root, 'acme') };
const globex = { POSTERN_HOME: join(root, 'globex') };
const step = (s: string) => console.log(`\n▶ ${s}`);
const show = (s: string) => console.log(`  ${s.trim().split('\n').join('\n  ')}`);

async function main(): Promise<void> {
  const github = await httpService('github (ACME, private)');
  const saas = await httpService('saas platform (Initech)');
  const jira = await echoService();
  const hubPort = await freePort();
  console.log(`Postern walk-through in ${root}`);
  console.log(`  ACME github.local  → 127.0.0.1:${github.port}   ACME jira.local → 127.0.0.1:${jira.port} (echo)`);
  console.log(`  Initech saas       → 127.0.0.1:${saas.port}`);

  step('vendor admin: postern hub init && postern hub start');
  show(await cliOk(['hub', 'init', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${hubPort}`, '--name', 'initech'], vendor));
  const hub = postern(['hub', 'start', '--dir', join(root, 'hub')], vendor);
  await hub.waitFor(/listening on/);
  show(`hub running, pid ${hub.child.pid}`);

  try {
    step('vendor admin: ticket for the vendor node (enroller, relay saas-relay)');
    const saasTicket = await cliOk(['ticket', 'create', '--expires-in', '24h', '--usage-count', '1', '--attribute', 'outlet-to-saas', '--attribute', 'inlet-from-saas', '--relay', 'saas-relay', '--enroller'], vendor);
    writeFileSync(join(root, 'saas.ticket'), saasTicket);
    show(`${saasTicket.slice(0, 40)}… (${saasTicket.trim().length} characters, one line)`);

    step('vendor node: postern node create saas.yaml --enrollment-ticket saas.ticket');
    writeFileSync(join(root, 'saas.yaml'), `relay: saas-relay\ntcp-outlet:\n  from: saas\n  to: 127.0.0.1:${saas.port}\n  allow: inlet-to-saas\npolicy:\n  resource-type: tcp-inlet\n  allow: outlet-from-saas\n`);
    show(await cliOk(['node', 'create', join(root, 'saas.yaml'), '--enrollment-ticket', join(root, 'saas.ticket'), '--name', 'saas'], vendor));

    step('vendor admin: ticket for ACME (relay acme-relay)');
    const acmeTicket = await cliOk(['ticket', 'create', '--expires-in', '24h', '--usage-count', '1', '--attribute', 'inlet-to-saas', '--attribute', 'outlet-from-saas', '--relay', 'acme-relay'], vendor);
    writeFileSync(join(root, 'acme.ticket'), acmeTicket);

    step('customer: agent up with customer.yaml, --variable RELAY=acme-relay --variable GITHUB_ADDRESS=…');
    const inletPort = await freePort();
    writeFileSync(
      join(root, 'customer.yaml'),
      `relay: $RELAY\ntcp-inlet:\n  from: 127.0.0.1:\${INLET_PORT}\n  via: saas-relay\n  to: saas\n  allow: outlet-to-saas\ntcp-outlet:\n  from: github\n  to: $GITHUB_ADDRESS\n  allow: inlet-from-saas\npolicy:\n  resource-type: tcp-outlet\n  allow: inlet-from-saas\n`,
    );
    show(await cliOk(['node', 'create', join(root, 'customer.yaml'), '--enrollment-ticket', join(root, 'acme.ticket'), '--name', 'acme', '--variable', 'RELAY=acme-relay', '--variable', `GITHUB_ADDRESS=127.0.0.1:${github.port}`, '--variable', `INLET_PORT=${inletPort}`], acme));
    step('customer: tcp-outlet create --from jira --to jira.local');
    show(await cliOk(['tcp-outlet', 'create', '--from', 'jira', '--to', `127.0.0.1:${jira.port}`], acme));

    step('vendor backend: postern tcp-inlet create --via acme-relay --to github (on demand)');
    const gh = JSON.parse(await cliOk(['tcp-inlet', 'create', '--from', '127.0.0.1:0', '--via', 'acme-relay', '--to', 'github', '--json'], vendor)) as { from: string };
    show(`inlet listening on ${gh.from}`);
    const r = await request(`http://${gh.from}/api/v3/repos/acme/app/pulls`);
    show(`GET http://${gh.from}/api/v3/repos/acme/app/pulls → ${r.statusCode} ${await r.body.text()}`);

    step('vendor backend: inlet to ACME jira (a plain TCP echo)');
    const ji = JSON.parse(await cliOk(['tcp-inlet', 'create', '--from', '127.0.0.1:0', '--via', 'acme-relay', '--to', 'jira', '--json'], vendor)) as { from: string };
    const echoed = await new Promise<string>((resolve, reject) => {
      const s = connect(Number(ji.from.split(':').pop()), '127.0.0.1');
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.on('connect', () => s.end('hello jira'));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    show(`sent "hello jira", got back "${echoed}"`);

    step(`customer side: ACME's inlet 127.0.0.1:${inletPort} reaches the vendor's saas outlet`);
    const s = await request(`http://127.0.0.1:${inletPort}/tickets`);
    show(`GET /tickets → ${s.statusCode} ${await s.body.text()}`);

    step('another customer (Globex) with its own ticket tries ACME');
    const gt = await cliOk(['ticket', 'create', '--attribute', 'inlet-to-saas', '--attribute', 'outlet-from-saas', '--relay', 'globex-relay'], vendor);
    await cliOk(['node', 'create', '--enrollment-ticket', gt.trim(), '--name', 'globex'], globex);
    const take = await cli(['relay', 'create', 'acme-relay'], globex);
    show(`relay create acme-relay → exit ${take.code}: ${take.stderr.trim().split('\n')[0]}`);
    const gi = JSON.parse(await cliOk(['tcp-inlet', 'create', '--from', '127.0.0.1:0', '--via', 'acme-relay', '--to', 'github', '--json'], globex)) as { from: string };
    const denied = await request(`http://${gi.from}/`).then(
      (x) => `${x.statusCode} (unexpected!)`,
      (e: Error) => `connection closed (${e.message})`,
    );
    show(`GET through Globex's inlet to acme-relay/github → ${denied}`);

    step('hub log (no secrets, one line per event)');
    show(hub.output.split('\n').slice(-14).join('\n'));
    console.log('\nDone: only the vendor reached ACME\'s outlets; ACME reached only saas; Globex was refused.');
  } finally {
    for (const e of [vendor, acme, globex]) await cli(['node', 'delete', '--all'], e).catch(() => {});
    await hub.stop();
    github.server.close();
    saas.server.close();
    jira.server.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
