import { parseVariableFlags } from '../../config/index.ts';
import { readTicketArg } from '../../node/manage.ts';
import { agentHome } from '../brand.ts';
import { listFlag, stringFlag, type CommandDef } from '../dispatch.ts';
import { agentLog } from '../log.ts';
import { connectedLine, runUp, stopOnSignals } from '../up.ts';

export const up: CommandDef = {
  id: 'up',
  summary: (b) => `Enroll with ${b.vendor}'s ticket (once), apply the built-in config and run ${b.displayName} in the foreground.`,
  description: (b) =>
    [
      `The first run redeems the ticket; later runs use the identity stored in ${b.stateDir}`,
      'and never redeem a ticket again. The built-in config takes these variables',
      '(--variable K=V, else the environment, else the default):',
      '',
      ...b.variables.map((v) => `  ${v.name.padEnd(16)} ${v.description}${v.default !== null ? ` (default ${v.default})` : ' (required)'}`),
      `  ${'RELAY'.padEnd(16)} the relay name (default: the one your ticket allows)`,
      '',
      'It prints one "connected" line when the relay is ready, then logs events until stopped (Ctrl-C, SIGTERM).',
    ].join('\n'),
  flags: {
    ticket: { type: 'string', value: 'FILE|TICKET', description: `the enrollment ticket, or a file holding it (needed the first time)` },
    variable: { type: 'string', multiple: true, value: 'K=V', description: 'a value for $K in the config; repeatable' },
    config: { type: 'string', value: 'FILE', description: 'use this config file instead of the built-in one' },
  },
  examples: (b) => [
    `${b.binary} up --ticket acme.ticket --variable GITHUB_ADDRESS=github.local:80`,
    `${b.binary} up`,
  ],
  async run(ctx) {
    const b = ctx.brand;
    const home = agentHome(b, ctx.env);
    const log = agentLog(b, ctx.out);
    const ticketArg = stringFlag(ctx, 'ticket');
    const configPath = stringFlag(ctx, 'config');
    log(`${b.displayName} ${b.version} starting (state in ${home})`);
    const agent = await runUp({
      brand: b,
      home,
      ...(ticketArg !== undefined ? { ticket: readTicketArg(ticketArg) } : {}),
      variables: parseVariableFlags(listFlag(ctx, 'variable')),
      ...(configPath !== undefined ? { configPath } : {}),
      env: ctx.env,
      log,
    });
    ctx.out(`${connectedLine(b, agent.status)}\n`);
    log(`ready in ${Math.round(agent.readyMs)} ms`);
    stopOnSignals(agent, log);
    await new Promise(() => {});
  },
};
