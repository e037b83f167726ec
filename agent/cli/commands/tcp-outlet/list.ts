import { nodeControl } from '../../../node/manage.ts';
import type { NodeStatus } from '../../../node/node.ts';
import { agentHome, agentNodeName } from '../../brand.ts';
import type { CommandDef } from '../../dispatch.ts';
import { printJson } from '../../log.ts';

export const tcpOutletList: CommandDef = {
  id: 'tcp-outlet list',
  summary: (b) => `The outlets ${b.vendor} can reach through this agent.`,
  flags: { json: { type: 'boolean', description: 'print JSON' } },
  examples: (b) => [`${b.binary} tcp-outlet list`],
  async run(ctx) {
    const b = ctx.brand;
    const s = (await nodeControl(agentNodeName(b), 'status', {}, agentHome(b, ctx.env))) as NodeStatus;
    if (ctx.flags['json'] === true) return printJson(ctx.out, s.outlets);
    if (s.outlets.length === 0) ctx.out('No outlets.\n');
    for (const o of s.outlets) ctx.out(`${o.name} → ${o.to}${o.allow !== null ? ` (allow ${o.allow})` : ''}\n`);
  },
};
