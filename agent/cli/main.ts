/**
 * The entry of the branded customer agent (the single binary). The build
 * (vendor-side/provisioning/build.ts) bundles this file with esbuild and
 * replaces __POSTERN_AGENT_BRAND__ with the vendor's brand; run from a
 * checkout it uses a development brand. CommonJS-safe: no top-level await.
 */
import { DEVELOPMENT_BRAND, type AgentBrand } from './brand.ts';
import { dispatch } from './dispatch.ts';
import { AGENT_COMMANDS } from './commands/index.ts';

declare const __POSTERN_AGENT_BRAND__: AgentBrand | undefined;

const brand: AgentBrand = typeof __POSTERN_AGENT_BRAND__ === 'undefined' ? DEVELOPMENT_BRAND : __POSTERN_AGENT_BRAND__;

dispatch(brand, AGENT_COMMANDS, process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`Error: ${e instanceof Error ? e.message : String(e)}\n(code POSTERN_INTERNAL)\n`);
    process.exitCode = 1;
  },
);
