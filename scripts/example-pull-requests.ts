/**
 * node scripts/example-pull-requests.ts
 *
 * A vendor backend listing the open pull requests of a customer's
 * self-hosted Git server, through Postern, with no port opened on either
 * side and no localhost listener in the backend. Everything runs locally:
 *
 *   1. stand-ins: a small HTTP server playing ACME's GitHub Enterprise
 *      (GET /api/v3/repos/acme/app/pulls), a hub, and ACME's agent node
 *      (started with the CLI, outlet "github" → the stand-in);
 *   2. the backend (the part a vendor writes): an embedded node from an
 *      enrollment ticket, an undici dispatcher to acme-relay/github, and
 *      one ordinary `request()`; then what the backend sees when ACME's
 *      agent is offline.
 */
import { createServer, type Server } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startNode, posternCode, type SdkNode } from 'postern/vendor-side';
import { cli, cliOk, freePort, listen, postern } from '../test/helpers/processes.ts';

// ---- 2. the backend --------------------------------------------------------

interface PullRequest {
  number: number;
  title: string;
  user: { login: string };
}

/** Open pull requests of `repo` on the Git server behind `relay`'s "github" outlet. */
async function listPullRequests(sdk: SdkNode, relay: string, repo: string): Promise<PullRequest[]> {
  // One dispatcher per customer service, kept for the life of the backend: connections are pooled.
  const github = sdk.dispatcher({ via: relay, to: 'github' });
  try {
    // The host name is only the Host header the customer's server expects; the portal decides where bytes go.
    const r = await request(`http://github.acme.internal/api/v3/repos/${repo}/pulls?state=open`, {
      dispatcher: github,
      headers: { accept: 'application/vnd.github+json' },
      headersTimeout: 10_000,
    });
    if (r.statusCode !== 200) throw new Error(`GitHub answered ${r.statusCode}`);
    return (await r.body.json()) as PullRequest[];
  } finally {
    await github.close();
  }
}

async function backend(home: string, ticket: string): Promise<void> {
  const sdk = await startNode({ home, name: 'backend', ticket });
  try {
    const online = await sdk.agents();
    console.log(`agents online: ${online.map((a) => `${a.relay} (since ${a.onlineSince.toISOString()})`).join(', ')}`);
    const pulls = await listPullRequests(sdk, 'acme-relay', 'acme/app');
    console.log('open pull requests on ACME\'s GitHub Enterprise:');
    for (const p of pulls) console.log(`  #${p.number} ${p.title} (${p.user.login})`);
  } finally {
    await sdk.close();
  }
}

/** What a backend does with the stable codes when a customer's agent is not there. */
async function backendWhenOffline(home: string): Promise<void> {
  const sdk = await startNode({ home, name: 'backend' }); // enrolled already: no ticket the second time
  try {
    await listPullRequests(sdk, 'acme-relay', 'acme/app');
  } catch (e) {
    switch (posternCode(e)) {
      case 'POSTERN_RELAY_OFFLINE':
        console.log('ACME\'s agent is offline: showing cached pull requests and a banner instead');
        break;
      case 'POSTERN_POLICY_DENIED':
      case 'POSTERN_OUTLET_UNKNOWN':
        console.log('ACME has not shared its GitHub with us');
        break;
      default:
        throw e;
    }
  } finally {
    await sdk.close();
  }
}

// ---- 1. stand-ins ------------------------------------------------------------

function gitServer(): Server {
  const pulls: PullRequest[] = [
    { number: 42, title: 'Fix the flaky deploy step', user: { login: 'wile' } },
    { number: 41, title: 'Single sign-on with the corporate IdP', user: { login: 'roadrunner' } },
  ];
  return createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/api/v3/repos/acme/app/pulls')) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(pulls));
    } else {
      res.statusCode = 404;
      res.end('{"message":"Not Found"}');
    }
  });
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'postern-example-'));
  const vendor = { POSTERN_HOME: join(root, 'vendor') };
  const acme = { POSTERN_HOME: join(root, 'acme') };
  const ghe = gitServer();
  const ghePort = await listen(ghe as unknown as NetServer);
  const hubPort = await freePort();
  await cliOk(['hub', 'init', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${hubPort}`, '--name', 'initech'], vendor);
  const hub = postern(['hub', 'start', '--dir', join(root, 'hub')], vendor);
  try {
    await hub.waitFor(/listening on/);
    const acmeTicket = (await cliOk(['ticket', 'create', '--attribute', 'customer=acme', '--relay', 'acme-relay'], vendor)).trim();
    await cliOk(['node', 'create', '--enrollment-ticket', acmeTicket, '--name', 'acme'], acme);
    await cliOk(['relay', 'create', 'acme-relay'], acme);
    await cliOk(['tcp-outlet', 'create', '--from', 'github', '--to', `127.0.0.1:${ghePort}`, '--allow', 'inlet-from-saas'], acme);
    console.log(`ACME's agent is up; its GitHub stand-in listens on 127.0.0.1:${ghePort}, reachable only from ACME's side`);
    const backendTicket = (await cliOk(['ticket', 'create', '--attribute', 'inlet-from-saas', '--enroller'], vendor)).trim();

    await backend(join(root, 'backend'), backendTicket);
    await cli(['node', 'delete', '--all'], acme);
    await backendWhenOffline(join(root, 'backend'));
  } finally {
    await cli(['node', 'delete', '--all'], acme);
    await hub.stop();
    ghe.close();
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
