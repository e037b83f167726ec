import { Flags } from '@oclif/core';
import { PosternCommand } from '../../../../agent/cli/base.ts';
import { posternHome } from '../../../../agent/node/files.ts';
import { adminRequest } from '../../../admin/project.ts';
import { parseDuration } from '../../../hub/authority/index.ts';
import { PosternError } from '../../../../protocol/errors.ts';
import { installCommand, resolveInstallUrl } from '../../../provisioning/install-command.ts';

export default class TicketCreate extends PosternCommand {
  static override summary = 'Mint an enrollment ticket; prints it on stdout.';
  static override examples = [
    '<%= config.bin %> ticket create --expires-in 24h --usage-count 1 --attribute inlet-to-saas --attribute outlet-from-saas --relay acme-relay > acme.ticket',
    '<%= config.bin %> ticket create --attribute customer=acme --relay acme-relay',
    '<%= config.bin %> ticket create --attribute inlet-to-saas --attribute outlet-from-saas --relay acme-relay --install-command',
  ];
  static override flags = {
    'expires-in': Flags.string({ description: 'how long the ticket stays valid (e.g. 10m, 24h, 7d)', default: '24h' }),
    'usage-count': Flags.integer({ description: 'how many enrollments it allows', default: 1, min: 1, max: 1000 }),
    attribute: Flags.string({ description: 'attribute K[=V] given to the enrolled node (V defaults to "true"); repeatable', multiple: true, default: [] }),
    relay: Flags.string({ description: 'the relay name the enrolled node may create' }),
    enroller: Flags.boolean({ description: 'the enrolled node may mint tickets itself (administrator only)' }),
    json: Flags.boolean({ description: 'print JSON with the ticket and its expiry' }),
    'install-command': Flags.boolean({ description: 'print the customer\'s one install command (curl … | sh -s -- --ticket …) instead of the bare ticket' }),
    'install-url': Flags.string({ description: 'where install.sh is served (default: the URL the hub serves its agent build at)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(TicketCreate);
    const attributes: Record<string, string> = {};
    for (const a of flags.attribute) {
      const i = a.indexOf('=');
      const k = i < 0 ? a : a.slice(0, i);
      if (k === '') throw new PosternError('POSTERN_BAD_ATTRIBUTE', `invalid attribute ${JSON.stringify(a)}`, 'use --attribute NAME or NAME=VALUE');
      attributes[k] = i < 0 ? 'true' : a.slice(i + 1);
    }
    // Known before minting, so that a missing install URL wastes no ticket.
    const installUrl = flags['install-command'] ? resolveInstallUrl(flags['install-url'], posternHome()) : undefined;
    const r = await adminRequest(posternHome(), {
      op: 'create-ticket',
      expiresIn: parseDuration(flags['expires-in']),
      usageCount: flags['usage-count'],
      attributes,
      relay: flags.relay ?? null,
      enroller: flags.enroller,
    });
    const install = installUrl !== undefined ? installCommand(installUrl, String(r['ticket'])) : undefined;
    if (flags.json) this.printJson({ ticket: r['ticket'], expiresAt: r['expiresAt'], ...(install !== undefined ? { installCommand: install } : {}) });
    else this.log(install ?? String(r['ticket']));
  }
}
