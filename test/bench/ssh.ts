/**
 * `ssh -L` as a reference path: a private sshd on a loopback port with
 * throwaway keys, and an ssh client forwarding a local port to a target.
 * Used only when sshd and ssh are installed (apt-get install openssh-server).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from '../helpers/processes.ts';

export function sshAvailable(): boolean {
  return ['/usr/sbin/sshd', '/usr/bin/ssh', '/usr/bin/ssh-keygen'].every((p) => existsSync(p));
}

export interface SshTunnels {
  forward(targetPort: number, cipher?: string): Promise<number>;
  close(): Promise<void>;
}

async function waitPort(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1');
      s.on('connect', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} did not open`);
}

export async function startSsh(): Promise<SshTunnels> {
  const dir = mkdtempSync(join(tmpdir(), 'postern-ssh-'));
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'user')]);
  writeFileSync(join(dir, 'authorized_keys'), execFileSync('cat', [join(dir, 'user.pub')]));
  mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'sshd_config');
  writeFileSync(
    conf,
    [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PasswordAuthentication no', 'PermitRootLogin prohibit-password', 'StrictModes no', 'UsePAM no', `PidFile ${join(dir, 'sshd.pid')}`, ''].join('\n'),
  );
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', conf], { stdio: 'ignore' });
  await waitPort(port, 5000);
  const clients: ChildProcess[] = [];
  return {
    async forward(targetPort, cipher) {
      const local = await freePort();
      const args = ['-N', '-p', String(port), '-i', join(dir, 'user'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-L', `127.0.0.1:${local}:127.0.0.1:${targetPort}`];
      if (cipher) args.push('-c', cipher);
      const c = spawn('/usr/bin/ssh', [...args, 'root@127.0.0.1'], { stdio: 'ignore' });
      clients.push(c);
      await waitPort(local, 10_000);
      return local;
    },
    async close() {
      for (const c of clients) c.kill();
      sshd.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
