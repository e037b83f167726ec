import { Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { nodeControl } from '../../../../agent/node/manage.ts';

export default class TcpOutletCreate extends PosternCommand {
  static override summary = 'Expose a TCP service as a named outlet on a running node.';
  static override examples = ['<%= config.bin %> tcp-outlet create --from jira --to jira.local:443 --allow inlet-from-saas'];
  static override flags = {
    from: Flags.string({ description: 'outlet name', required: true }),
    to: Flags.string({ description: 'target HOST:PORT', required: true }),
    allow: Flags.string({ description: 'policy the inlet side must satisfy' }),
    at: Flags.string({ description: 'node name (default: the only node)' }),
    json: Flags.boolean({ description: 'print JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TcpOutletCreate);
    const r = await nodeControl(flags.at, 'create-outlet', { from: flags.from, to: flags.to, allow: flags.allow });
    if (flags.json) this.printJson(r);
    else this.log(`tcp-outlet ${flags.from} → ${flags.to}`);
  }
}
