import { Args, Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { deleteNode, listNodeNames, assertNodeName } from '../../../../agent/node/manage.ts';
import { PosternError } from '../../../../protocol/errors.ts';

export default class NodeDelete extends PosternCommand {
  static override summary = 'Stop a node and delete its state (identity, credential, config).';
  static override examples = ['<%= config.bin %> node delete default', '<%= config.bin %> node delete --all'];
  static override args = { name: Args.string({ description: 'node name' }) };
  static override flags = { all: Flags.boolean({ description: 'delete every node' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeDelete);
    const names = flags.all ? listNodeNames() : args.name ? [assertNodeName(args.name)] : [];
    if (names.length === 0 && !flags.all) throw new PosternError('POSTERN_USAGE', 'name a node or pass --all');
    for (const n of names) {
      await deleteNode(n);
      this.log(`Deleted node ${n}`);
    }
  }
}
