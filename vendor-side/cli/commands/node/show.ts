import { Args, Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { nodeStatus, resolveNode } from '../../../../agent/node/manage.ts';

export default class NodeShow extends PosternCommand {
  static override summary = 'Show a node: identity, hub link, relays, outlets, inlets, policies.';
  static override examples = ['<%= config.bin %> node show default --json'];
  static override args = { name: Args.string({ description: 'node name (default: the only node)' }) };
  static override flags = { json: Flags.boolean({ description: 'print JSON' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(NodeShow);
    const s = await nodeStatus(resolveNode(args.name));
    if (flags.json || !('identifier' in s)) return this.printJson(s);
    this.log(`Node ${s.name}  ${s.identifier}`);
    this.log(`  hub link    ${s.connected ? `connected since ${s.connectedSince}` : 'disconnected'}`);
    this.log(`  credential  valid until ${s.credentialExpiresAt ?? '-'}`);
    this.log(`  attributes  ${Object.entries(s.attributes).map(([k, v]) => (v === 'true' ? k : `${k}=${v}`)).join(', ') || '-'}`);
    for (const r of s.relays) this.log(`  relay       ${r.name} ${r.ready ? 'ready' : 'pending'}`);
    for (const o of s.outlets) this.log(`  tcp-outlet  ${o.name} → ${o.to}${o.allow ? `  allow: ${o.allow}` : ''}`);
    for (const i of s.inlets) this.log(`  tcp-inlet   ${i.from} → ${i.via}/${i.to}${i.allow ? `  allow: ${i.allow}` : ''}`);
    for (const p of s.policies) this.log(`  policy      ${p.resourceType}: ${p.allow}`);
    if (s.lastError) this.log(`  last error  ${s.lastError}`);
  }
}
