import type { CommandDef } from '../dispatch.ts';
import { printJson } from '../log.ts';

export const version: CommandDef = {
  id: 'version',
  summary: (b) => `Print ${b.displayName}'s version.`,
  flags: { json: { type: 'boolean', description: 'print JSON' } },
  examples: (b) => [`${b.binary} version`],
  async run(ctx) {
    const b = ctx.brand;
    const v = { name: b.binary, displayName: b.displayName, vendor: b.vendor, version: b.version, node: process.version, platform: `${process.platform}-${process.arch}` };
    if (ctx.flags['json'] === true) printJson(ctx.out, v);
    else ctx.out(`${b.binary} ${b.version} (${b.displayName} by ${b.vendor}; Postern agent on Node ${v.node}, ${v.platform})\n`);
  },
};
