import { Flags } from '@oclif/core';
import { PosternCommand } from '../../../agent/cli/base.ts';
import { listNodeNames, nodeStatus } from '../../../agent/node/manage.ts';

export default class Status extends PosternCommand {
  static override summary = 'Summary of every node on this machine: hub link, relays, outlets, inlets.';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json'];
  static override flags = { json: Flags.boolean({ description: 'print JSON' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Status);
    const rows = await Promise.all(listNodeNames().map((n) => nodeStatus(n)));
    if (flags.json) return this.printJson({ nodes: rows });
    if (rows.length === 0) this.log('No nodes.');
    for (const s of rows) {
      if (!('identifier' in s)) {
        this.log(`${s.name}: stopped`);
        continue;
      }
      this.log(`${s.name}: ${s.connected ? 'connected' : 'disconnected'}; relays ${s.relays.map((r) => `${r.name}${r.ready ? '' : '(pending)'}`).join(', ') || '-'}; outlets ${s.outlets.map((o) => o.name).join(', ') || '-'}; inlets ${s.inlets.map((i) => `${i.from}→${i.via}/${i.to}`).join(', ') || '-'}`);
    }
  }
}
