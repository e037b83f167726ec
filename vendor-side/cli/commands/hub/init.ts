import { Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { defaultHubDir, initHub } from '../../../hub/init.ts';

export default class HubInit extends PosternCommand {
  static override summary = 'Create a project: the hub identity, the authority, the store, and this machine as administrator.';
  static override examples = ['<%= config.bin %> hub init --dir ./hub --listen 127.0.0.1:4000 --name initech'];
  static override flags = {
    dir: Flags.string({ description: 'hub directory (default $POSTERN_HOME/hub)' }),
    listen: Flags.string({ description: 'address the hub listens on, HOST:PORT', default: '127.0.0.1:4000' }),
    'public-address': Flags.string({ description: 'HOST:PORT that nodes dial, put in tickets (default: --listen)' }),
    name: Flags.string({ description: 'a name for the hub', default: 'hub' }),
    json: Flags.boolean({ description: 'print JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HubInit);
    const r = initHub({ dir: flags.dir ?? defaultHubDir(), listen: flags.listen, name: flags.name, ...(flags['public-address'] ? { publicAddress: flags['public-address'] } : {}) });
    if (flags.json) this.printJson(r);
    else {
      this.log(`Created project ${r.project}`);
      this.log(`  hub        ${r.hubIdentifier} (listens on ${r.listen}; nodes dial ${r.publicAddress})`);
      this.log(`  authority  ${r.authorityIdentifier}`);
      this.log(`  admin      ${r.adminIdentifier} (this machine)`);
    }
  }
}
