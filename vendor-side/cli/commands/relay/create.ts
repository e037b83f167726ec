import { Args, Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { nodeControl } from '../../../../agent/node/manage.ts';

export default class RelayCreate extends PosternCommand {
  static override summary = 'Register a relay at the hub for a running node (the name must be allowed by its ticket).';
  static override examples = ['<%= config.bin %> relay create acme-relay'];
  static override args = { name: Args.string({ description: 'relay name', required: true }) };
  static override flags = {
    at: Flags.string({ description: 'node name (default: the only node)' }),
    json: Flags.boolean({ description: 'print JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RelayCreate);
    const r = await nodeControl(flags.at, 'create-relay', { name: args.name });
    if (flags.json) this.printJson(r);
    else this.log(`relay ${args.name} ready`);
  }
}
