import type { CommandDef } from '../../dispatch.ts';
import { checkSystemd, describeStep, runSteps, uninstallSteps } from '../../service.ts';
import { serviceHome } from './paths.ts';

export const serviceUninstall: CommandDef = {
  id: 'service uninstall',
  summary: (b) => `Stop and remove the ${b.service.name} systemd service (its state directory is kept).`,
  flags: { 'dry-run': { type: 'boolean', description: 'print what it would do, change nothing' } },
  examples: (b) => [`sudo ${b.binary} service uninstall`],
  async run(ctx) {
    const b = ctx.brand;
    const steps = uninstallSteps(b);
    if (ctx.flags['dry-run'] === true) {
      ctx.out(`Would remove the ${b.service.name} service:\n${steps.map((s, i) => `${i + 1}. ${describeStep(s)}`).join('\n')}\n`);
      return;
    }
    checkSystemd(b);
    await runSteps(b, steps, { variables: {}, env: ctx.env }, (l) => ctx.out(`${l}\n`));
    ctx.out(`The ${b.service.name} service is removed; its state stays in ${serviceHome(b, ctx.env)}.\n`);
  },
};
