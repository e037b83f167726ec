/**
 * The one line a vendor hands to a customer:
 *
 *   curl -fsSL https://get.initech.example/install.sh | sh -s -- --ticket pstn1_…
 *
 * Its URL is the brand's install.url, which `hub start --install-listen`
 * records in the hub's directory (install.json) when it serves a build, so
 * `ticket create --install-command` on the administrator's machine finds it.
 */
import { join } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { readJsonFile, writeJsonFile } from '../../agent/node/files.ts';
import { loadAdminProject } from '../admin/project.ts';
import { shQuote } from './templates.ts';

export interface InstallInfo {
  version: 1;
  url: string;
  binary: string;
  displayName: string;
}

export function installInfoPath(hubDir: string): string {
  return join(hubDir, 'install.json');
}

export function saveInstallInfo(hubDir: string, info: Omit<InstallInfo, 'version'>): void {
  writeJsonFile(installInfoPath(hubDir), { version: 1, ...info });
}

/** The install URL: the flag, else what the hub serving the build recorded. */
export function resolveInstallUrl(flag: string | undefined, home: string): string {
  const url = flag ?? readJsonFile<InstallInfo>(installInfoPath(loadAdminProject(home).hubDir), 'install record')?.url;
  if (url === undefined) {
    throw new PosternError(
      'POSTERN_NO_INSTALL_URL',
      'this hub does not serve an agent build, so there is no install command to print',
      'start the hub with --install-listen HOST:PORT --artifacts DIR (a `postern agent build` output), or pass --install-url URL',
    );
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PosternError('POSTERN_BAD_URL', `${JSON.stringify(url)} is not a URL`, 'pass --install-url https://HOST[:PORT]');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new PosternError('POSTERN_BAD_URL', `${url} is not http(s)`, 'pass --install-url https://HOST[:PORT]');
  return url.replace(/\/+$/, '');
}

export function installCommand(url: string, ticket: string): string {
  const u = `${url}/install.sh`;
  const safe = /^[A-Za-z0-9:/._~%-]+$/;
  return `curl -fsSL ${safe.test(u) ? u : shQuote(u)} | sh -s -- --ticket ${safe.test(ticket) ? ticket : shQuote(ticket)}`;
}
