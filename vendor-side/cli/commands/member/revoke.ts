import { Args, Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { posternHome } from '../../../../agent/node/files.ts';
import { adminRequest } from '../../../admin/project.ts';
import { PosternError } from '../../../../protocol/errors.ts';

export default class MemberRevoke extends PosternCommand {
  static override summary = 'Revoke a member: its links close, its credential is refused, its relay name is freed.';
  static override examples = ['<%= config.bin %> member revoke I3f2a…', '<%= config.bin %> member revoke --relay acme-relay'];
  static override args = { identifier: Args.string({ description: 'member identifier' }) };
  static override flags = {
    relay: Flags.string({ description: 'revoke the member that owns this relay' }),
    json: Flags.boolean({ description: 'print JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(MemberRevoke);
    if (!args.identifier && !flags.relay) throw new PosternError('POSTERN_USAGE', 'give an identifier or --relay NAME');
    const r = await adminRequest(posternHome(), { op: 'revoke', ...(args.identifier ? { identifier: args.identifier } : {}), ...(flags.relay ? { relay: flags.relay } : {}) });
    if (flags.json) this.printJson(r);
    else for (const id of (r['revoked'] as string[]) ?? []) this.log(`Revoked ${id}`);
  }
}
