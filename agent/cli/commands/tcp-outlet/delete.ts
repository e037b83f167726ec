import { PosternError } from '../../../../protocol/errors.ts';
import { nodeControl } from '../../../node/manage.ts';
import { agentHome, agentNodeName } from '../../brand.ts';
import type { CommandDef } from '../../dispatch.ts';

export const tcpOutletDelete: CommandDef = {
  id: 'tcp-outlet delete',
  summary: (b) => `Stop ${b.vendor} reaching an outlet (new connections are refused at once).`,
  args: [{ name: 'NAME', description: 'the outlet name', required: true }],
  flags: {},
  examples: (b) => [`${b.binary} tcp-outlet delete jira`],
  async run(ctx) {
    const b = ctx.brand;
    const name = ctx.args['NAME']!;
    const r = (await nodeControl(agentNodeName(b), 'delete-outlet', { name }, agentHome(b, ctx.env))) as { deleted: boolean };
    if (!r.deleted) throw new PosternError('POSTERN_OUTLET_UNKNOWN', `there is no outlet named ${name}`, `see \`${b.binary} tcp-outlet list\``);
    ctx.out(`tcp-outlet ${name} deleted\n`);
  },
};
