import { parseVariableFlags } from '../../../config/index.ts';
import { readTicketArg } from '../../../node/manage.ts';
import { listFlag, stringFlag, type CommandDef } from '../../dispatch.ts';
import { checkInstallInput, checkSystemd, describeStep, installSteps, runSteps, SYSTEMD_UNIT_DIR, type InstallInput } from '../../service.ts';
import { selfPath, serviceHome } from './paths.ts';

export const serviceInstall: CommandDef = {
  id: 'service install',
  summary: (b) => `Run ${b.displayName} as the systemd service ${b.service.name} (started now and at boot).`,
  description: (b) =>
    [
      `Writes ${SYSTEMD_UNIT_DIR}/${b.service.name}.service, records the ticket and variables in`,
      `${b.service.stateDir} (0600), then runs systemctl daemon-reload and enable --now.`,
      'The service enrolls on its first start. Needs root and a running systemd.',
    ].join('\n'),
  flags: {
    ticket: { type: 'string', value: 'FILE|TICKET', description: 'the enrollment ticket, or a file holding it' },
    variable: { type: 'string', multiple: true, value: 'K=V', description: 'a value for $K in the config; repeatable' },
    config: { type: 'string', value: 'FILE', description: 'use this config file instead of the built-in one' },
    'dry-run': { type: 'boolean', description: 'print what it would do, change nothing' },
  },
  examples: (b) => [`sudo ${b.binary} service install --ticket acme.ticket --variable GITHUB_ADDRESS=github.local:80`, `${b.binary} service install --dry-run`],
  async run(ctx) {
    const b = ctx.brand;
    const ticket = stringFlag(ctx, 'ticket');
    const configPath = stringFlag(ctx, 'config');
    const input: InstallInput = {
      ...(ticket !== undefined ? { ticket: readTicketArg(ticket) } : {}),
      variables: parseVariableFlags(listFlag(ctx, 'variable')),
      ...(configPath !== undefined ? { configPath } : {}),
      env: ctx.env,
    };
    const steps = installSteps(b, selfPath(), serviceHome(b, ctx.env));
    if (ctx.flags['dry-run'] === true) {
      checkInstallInput(b, input);
      ctx.out(`Would install the ${b.service.name} service:\n${steps.map((s, i) => `${i + 1}. ${describeStep(s)}`).join('\n')}\n`);
      return;
    }
    checkSystemd(b);
    await runSteps(b, steps, input, (l) => ctx.out(`${l}\n`));
    ctx.out(`${b.displayName} runs as the ${b.service.name} service; see \`systemctl status ${b.service.name}\` and \`${b.binary} status\`.\n`);
  },
};
