import { existsSync } from 'node:fs';
import { loadHubInfo, nodePaths } from '../../node/state.ts';
import { nodeStatus } from '../../node/manage.ts';
import { agentHome, agentNodeName } from '../brand.ts';
import type { CommandDef } from '../dispatch.ts';
import { printJson } from '../log.ts';
import { pidOf } from '../up.ts';

export const status: CommandDef = {
  id: 'status',
  summary: (b) => `Is ${b.displayName} running and connected? Its relay, outlets and last error.`,
  flags: { json: { type: 'boolean', description: 'print JSON' } },
  examples: (b) => [`${b.binary} status`, `${b.binary} status --json`],
  async run(ctx) {
    const b = ctx.brand;
    const home = agentHome(b, ctx.env);
    const name = agentNodeName(b);
    const p = nodePaths(name, home);
    const s = await nodeStatus(name, home);
    const enrolled = existsSync(p.node) && loadHubInfo(p) !== undefined;
    if (!('identifier' in s)) {
      if (ctx.flags['json'] === true) printJson(ctx.out, { running: false, enrolled, home });
      else ctx.out(`${b.displayName}: not running (${enrolled ? 'enrolled' : 'not enrolled'}; state in ${home})\n`);
      return;
    }
    if (ctx.flags['json'] === true) {
      printJson(ctx.out, { running: true, enrolled, home, pid: pidOf(p), ...s });
      return;
    }
    const lines = [
      `${b.displayName}: running (pid ${pidOf(p) ?? '?'}), ${s.connected ? `connected to ${b.vendor} since ${s.connectedSince}` : 'not connected'}`,
      `  identity    ${s.identifier}`,
      `  relay       ${s.relays.map((r) => `${r.name} (${r.ready ? 'ready' : 'pending'})`).join(', ') || '-'}`,
      `  outlets     ${s.outlets.map((o) => `${o.name} → ${o.to}`).join(', ') || '-'}`,
      `  inlets      ${s.inlets.map((i) => `${i.from} → ${i.via}/${i.to}`).join(', ') || '-'}`,
      `  last error  ${s.lastError ?? '-'}`,
    ];
    ctx.out(`${lines.join('\n')}\n`);
  },
};
