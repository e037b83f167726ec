import { Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { listNodeNames, nodeStatus } from '../../../../agent/node/manage.ts';

export default class NodeList extends PosternCommand {
  static override summary = 'List the nodes on this machine.';
  static override examples = ['<%= config.bin %> node list', '<%= config.bin %> node list --json'];
  static override flags = { json: Flags.boolean({ description: 'print JSON' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(NodeList);
    const rows = await Promise.all(listNodeNames().map((n) => nodeStatus(n)));
    if (flags.json) return this.printJson(rows);
    if (rows.length === 0) this.log('No nodes. Create one with `postern node create`.');
    for (const r of rows) {
      if ('identifier' in r) this.log(`${r.name}\t${r.connected ? 'connected' : 'disconnected'}\t${r.identifier}`);
      else this.log(`${r.name}\tstopped`);
    }
  }
}
