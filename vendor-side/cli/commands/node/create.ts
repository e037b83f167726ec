import { Args, Flags } from '@oclif/core';
import { PosternCommand, timestamped } from '../../../../agent/cli/base.ts';
import { parseVariableFlags } from '../../../../agent/config/index.ts';
import { createNodeInBackground, prepareNode, readTicketArg } from '../../../../agent/node/manage.ts';
import { runNode } from '../../../../agent/node/run.ts';

export default class NodeCreate extends PosternCommand {
  static override summary = 'Create a node: enroll with a ticket, apply a config file, run it (in the background unless --foreground).';
  static override examples = [
    '<%= config.bin %> node create saas.yaml --enrollment-ticket saas.ticket',
    '<%= config.bin %> node create customer.yaml --enrollment-ticket acme.ticket --variable RELAY=acme-relay --variable GITHUB_ADDRESS=github.local:80',
  ];
  static override args = { config: Args.string({ description: 'config file (YAML)' }) };
  static override flags = {
    'enrollment-ticket': Flags.string({ description: 'ticket text, or a file that holds it (needed the first time)' }),
    variable: Flags.string({ description: 'K=V for $K in the config; repeatable', multiple: true, default: [] }),
    name: Flags.string({ description: 'node name (default: the config\'s name, else "default")' }),
    foreground: Flags.boolean({ description: 'run in this process until interrupted' }),
    json: Flags.boolean({ description: 'print the node status as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeCreate);
    const opts = {
      ...(flags.name ? { name: flags.name } : {}),
      ...(args.config ? { configPath: args.config } : {}),
      ...(flags['enrollment-ticket'] ? { ticket: readTicketArg(flags['enrollment-ticket']) } : {}),
      variables: parseVariableFlags(flags.variable),
    };
    if (flags.foreground) {
      const { name } = await prepareNode(opts);
      await runNode({ name, log: timestamped(`node ${name}`) });
      await new Promise(() => {});
      return;
    }
    const { name, status } = await createNodeInBackground(opts);
    if (flags.json) this.printJson(status);
    else {
      this.log(`Node ${name} is running (${status.identifier}), connected to the hub.`);
      for (const r of status.relays) this.log(`  relay      ${r.name}${r.ready ? '' : ' (pending)'}`);
      for (const o of status.outlets) this.log(`  tcp-outlet ${o.name} → ${o.to}`);
      for (const i of status.inlets) this.log(`  tcp-inlet  ${i.from} → ${i.via}/${i.to}`);
    }
  }
}
