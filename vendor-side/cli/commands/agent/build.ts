import { Flags } from '@oclif/core';
import { relative } from 'node:path';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { PosternError } from '../../../../protocol/errors.ts';
import { loadBrandFile } from '../../../provisioning/brand.ts';
import { buildAgent, hostTarget, SUPPORTED_TARGETS } from '../../../provisioning/build.ts';

export default class AgentBuild extends PosternCommand {
  static override summary = 'Build the branded customer agent: one executable per target (no Node.js needed), install.sh, systemd unit, README, default config, SHA256SUMS.';
  static override examples = [
    '<%= config.bin %> agent build --brand brand.yaml --out dist/initech-agent',
    '<%= config.bin %> agent build --brand brand.yaml --out dist/initech-agent --target linux-x64 --target linux-arm64 --node-binary linux-arm64=./node-linux-arm64/bin/node',
  ];
  static override flags = {
    brand: Flags.string({ description: 'the brand file (YAML; see templates/brand.sample.yaml)', required: true }),
    out: Flags.string({ description: 'output directory', required: true }),
    target: Flags.string({ description: `platform to build for, repeatable (${SUPPORTED_TARGETS.join(', ')}); default this machine's`, multiple: true }),
    'node-binary': Flags.string({ description: 'TARGET=PATH: the Node.js 24 binary to build TARGET from (for targets other than this machine\'s)', multiple: true, default: [] }),
    json: Flags.boolean({ description: 'print the manifest as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(AgentBuild);
    const nodeBinaries: Record<string, string> = {};
    for (const nb of flags['node-binary']) {
      const i = nb.indexOf('=');
      if (i <= 0) throw new PosternError('POSTERN_USAGE', `--node-binary ${JSON.stringify(nb)} is not TARGET=PATH`, 'e.g. --node-binary linux-arm64=./node/bin/node');
      nodeBinaries[nb.slice(0, i)] = nb.slice(i + 1);
    }
    const brand = loadBrandFile(flags.brand);
    const r = await buildAgent({
      brand,
      out: flags.out,
      targets: flags.target ?? [hostTarget()],
      nodeBinaries,
      log: flags.json ? () => {} : (l) => this.log(l),
    });
    if (flags.json) return this.printJson(r.manifest);
    this.log(`${brand.displayName} ${r.manifest.agentVersion} in ${relative(process.cwd(), flags.out) || '.'}:`);
    for (const f of r.manifest.files) this.log(`  ${f.name.padEnd(32)} ${f.kind === 'binary' ? `${(f.size / 2 ** 20).toFixed(1)} MiB` : `${f.size} B`}`);
    this.log(`Serve it with: postern hub start --install-listen HOST:PORT --artifacts ${flags.out}  (brand install.url: ${brand.install.url})`);
  }
}
