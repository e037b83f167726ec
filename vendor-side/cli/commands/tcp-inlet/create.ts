import { Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { nodeControl } from '../../../../agent/node/manage.ts';

export default class TcpInletCreate extends PosternCommand {
  static override summary = 'Listen locally; each connection goes through a relay to a named outlet.';
  static override examples = ['<%= config.bin %> tcp-inlet create --from 127.0.0.1:8000 --via acme-relay --to github'];
  static override flags = {
    from: Flags.string({ description: 'local HOST:PORT to listen on (port 0 picks one)', required: true }),
    via: Flags.string({ description: 'relay name', required: true }),
    to: Flags.string({ description: 'outlet name', required: true }),
    allow: Flags.string({ description: 'policy the outlet side must satisfy' }),
    at: Flags.string({ description: 'node name (default: the only node)' }),
    json: Flags.boolean({ description: 'print JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TcpInletCreate);
    const r = (await nodeControl(flags.at, 'create-inlet', { from: flags.from, via: flags.via, to: flags.to, allow: flags.allow })) as { from: string };
    if (flags.json) this.printJson(r);
    else this.log(`tcp-inlet ${r.from} → ${flags.via}/${flags.to}`);
  }
}
