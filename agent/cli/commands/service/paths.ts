/** Where the service's binary and state are. */
import { realpathSync } from 'node:fs';
import { isSea } from 'node:sea';
import { PosternError } from '../../../../protocol/errors.ts';
import type { AgentBrand } from '../../brand.ts';

/** The command systemd runs: this single binary, or (from a checkout) node and the entry file. */
export function selfPath(): string {
  const parts = isSea() ? [process.execPath] : [process.execPath, realpathSync(process.argv[1]!)];
  for (const p of parts) {
    if (/\s/.test(p)) {
      throw new PosternError('POSTERN_SERVICE_PATH', `the path ${JSON.stringify(p)} holds white space, which a systemd unit cannot run as is`, 'install the binary under a path without spaces (install.sh --prefix DIR)');
    }
  }
  return parts.join(' ');
}

/** The service's state directory: $HOME_ENV if set here, else the brand's (e.g. /var/lib/initech-agent). */
export function serviceHome(b: AgentBrand, env: NodeJS.ProcessEnv): string {
  const h = env[b.homeEnv];
  return h !== undefined && h !== '' ? h : b.service.stateDir;
}
