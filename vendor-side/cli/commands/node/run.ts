import { Args } from '@oclif/core';
import { PosternCommand, timestamped } from '../../../../agent/cli/base.ts';
import { assertNodeName } from '../../../../agent/node/manage.ts';
import { runNode } from '../../../../agent/node/run.ts';

export default class NodeRun extends PosternCommand {
  static override hidden = true;
  static override summary = 'Run an existing node in the foreground (used by `node create`).';
  static override examples = ['<%= config.bin %> node run default'];
  static override args = { name: Args.string({ required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(NodeRun);
    const name = assertNodeName(args.name);
    await runNode({ name, log: timestamped(`node ${name}`) });
    await new Promise(() => {});
  }
}
