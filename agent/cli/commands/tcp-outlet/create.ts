import { nodeControl } from '../../../node/manage.ts';
import { agentHome, agentNodeName } from '../../brand.ts';
import { stringFlag, type CommandDef } from '../../dispatch.ts';
import { printJson } from '../../log.ts';

export const tcpOutletCreate: CommandDef = {
  id: 'tcp-outlet create',
  summary: (b) => `Let ${b.vendor} reach a TCP service in your network under a name.`,
  flags: {
    from: { type: 'string', value: 'NAME', description: 'the outlet name', required: true },
    to: { type: 'string', value: 'HOST:PORT', description: 'the service it connects to', required: true },
    allow: { type: 'string', value: 'EXPR', description: 'policy the other side must satisfy (default: the config\'s tcp-outlet policy)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  examples: (b) => [`${b.binary} tcp-outlet create --from jira --to jira.local:443`],
  async run(ctx) {
    const b = ctx.brand;
    const from = stringFlag(ctx, 'from')!;
    const to = stringFlag(ctx, 'to')!;
    const allow = stringFlag(ctx, 'allow');
    const r = await nodeControl(agentNodeName(b), 'create-outlet', { from, to, ...(allow !== undefined ? { allow } : {}) }, agentHome(b, ctx.env));
    if (ctx.flags['json'] === true) printJson(ctx.out, r);
    else ctx.out(`tcp-outlet ${from} → ${to}\n`);
  },
};
