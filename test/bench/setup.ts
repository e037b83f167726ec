/**
 * Bench fixtures: a hub, a vendor node and a customer node as real processes
 * (through the CLI), with outlets to the given local targets. Everything on
 * loopback, torn down by `close()`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliOk, freePort, postern, type LongRunning } from '../helpers/processes.ts';

export interface PosternPath {
  /** tcp-inlet on the vendor node for an outlet of the customer node. */
  inlet(outlet: string): Promise<number>;
  pids(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startPostern(outlets: Record<string, number>): Promise<PosternPath> {
  const root = mkdtempSync(join(tmpdir(), 'postern-bench-'));
  const vendor = { POSTERN_HOME: join(root, 'vendor') };
  const customer = { POSTERN_HOME: join(root, 'customer') };
  const hubPort = await freePort();
  await cliOk(['hub', 'init', '--dir', join(root, 'hub'), '--listen', `127.0.0.1:${hubPort}`], vendor);
  const hub: LongRunning = postern(['hub', 'start', '--dir', join(root, 'hub')], vendor);
  await hub.waitFor(/listening on/);
  const vt = (await cliOk(['ticket', 'create', '--attribute', 'vendor', '--relay', 'vendor-relay'], vendor)).trim();
  await cliOk(['node', 'create', '--enrollment-ticket', vt, '--name', 'vendor'], vendor);
  const ct = (await cliOk(['ticket', 'create', '--attribute', 'customer', '--relay', 'customer-relay'], vendor)).trim();
  await cliOk(['node', 'create', '--enrollment-ticket', ct, '--name', 'customer'], customer);
  await cliOk(['relay', 'create', 'customer-relay'], customer);
  for (const [name, port] of Object.entries(outlets)) {
    await cliOk(['tcp-outlet', 'create', '--from', name, '--to', `127.0.0.1:${port}`, '--allow', 'vendor'], customer);
  }
  const pidOf = async (env: typeof vendor, name: string) => {
    const { readFileSync } = await import('node:fs');
    return Number(readFileSync(join(env.POSTERN_HOME, 'nodes', name, 'node.pid'), 'utf8'));
  };
  return {
    async inlet(outlet) {
      const out = await cliOk(['tcp-inlet', 'create', '--from', '127.0.0.1:0', '--via', 'customer-relay', '--to', outlet, '--json'], vendor);
      return Number((JSON.parse(out) as { from: string }).from.split(':').pop());
    },
    async pids() {
      return { hub: hub.child.pid!, 'inlet node': await pidOf(vendor, 'vendor'), 'outlet node': await pidOf(customer, 'customer') };
    },
    async close() {
      await cli(['node', 'delete', '--all'], vendor);
      await cli(['node', 'delete', '--all'], customer);
      await hub.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
