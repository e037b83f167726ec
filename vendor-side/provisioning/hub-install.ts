/** `hub start --install-listen … --artifacts …`: serve the build and record its install URL for `ticket create --install-command`. */
import { parseListen } from '../hub/server.ts';
import { saveInstallInfo } from './install-command.ts';
import { startInstallServer, type InstallServer } from './install-server.ts';

export async function startHubInstall(hubDir: string, listen: string, artifacts: string, log: (line: string) => void): Promise<InstallServer> {
  const s = await startInstallServer({ artifacts, listen: parseListen(listen), log });
  saveInstallInfo(hubDir, { url: s.manifest.installUrl, binary: s.manifest.binary, displayName: s.manifest.displayName });
  log(`install: customers run: curl -fsSL ${s.manifest.installUrl}/install.sh | sh -s -- --ticket TICKET`);
  return s;
}
