import { nodeControl } from '../../../node/manage.ts';
import { agentHome, agentNodeName } from '../../brand.ts';
import type { CommandDef } from '../../dispatch.ts';
import { printJson } from '../../log.ts';

export const relayCreate: CommandDef = {
  id: 'relay create',
  summary: (b) => `Register a relay at ${b.vendor}'s hub (only the name your ticket allows).`,
  args: [{ name: 'NAME', description: 'relay name', required: true }],
  flags: { json: { type: 'boolean', description: 'print JSON' } },
  examples: (b) => [`${b.binary} relay create acme-relay`],
  async run(ctx) {
    const b = ctx.brand;
    const name = ctx.args['NAME']!;
    const r = await nodeControl(agentNodeName(b), 'create-relay', { name }, agentHome(b, ctx.env));
    if (ctx.flags['json'] === true) printJson(ctx.out, r);
    else ctx.out(`relay ${name} ready\n`);
  },
};
