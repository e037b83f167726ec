import { Flags } from '@oclif/core';
import { PosternCommand, timestamped } from '../../../../agent/cli/base.ts';
import { defaultHubDir } from '../../../hub/init.ts';
import { Hub, parseListen } from '../../../hub/server.ts';
import { startHubInstall } from '../../../provisioning/hub-install.ts';

export default class HubStart extends PosternCommand {
  static override summary = 'Run the hub in the foreground: secure-channel listener, membership authority, relay service.';
  static override examples = ['<%= config.bin %> hub start --dir ./hub', '<%= config.bin %> hub start --dir ./hub --listen 0.0.0.0:4000', '<%= config.bin %> hub start --dir ./hub --install-listen 0.0.0.0:8080 --artifacts dist/initech-agent'];
  static override flags = {
    dir: Flags.string({ description: 'hub directory (default $POSTERN_HOME/hub)' }),
    listen: Flags.string({ description: 'override the listen address, HOST:PORT' }),
    'credential-ttl': Flags.integer({ description: 'lifetime of issued credentials, seconds', default: 3600, min: 10 }),
    'install-listen': Flags.string({ description: 'also serve install.sh and the agent binaries over HTTP on HOST:PORT (with --artifacts)', dependsOn: ['artifacts'] }),
    artifacts: Flags.string({ description: 'a `postern agent build` output directory to serve on --install-listen', dependsOn: ['install-listen'] }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HubStart);
    const log = timestamped('hub');
    const hub = new Hub({
      dir: flags.dir ?? defaultHubDir(),
      ...(flags.listen ? { listen: parseListen(flags.listen) } : {}),
      log,
      limits: { credentialTtl: flags['credential-ttl'] },
    });
    await hub.start();
    const install = flags['install-listen'] && flags.artifacts ? await startHubInstall(hub.dir, flags['install-listen'], flags.artifacts, log) : undefined;
    await new Promise<void>((resolve) => {
      const stop = () => {
        log('stopping');
        void Promise.all([hub.close(), install?.close()]).then(() => resolve());
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    log('stopped');
  }
}
