/** The agent's commands, in the order `--help` lists them (an explicit table: a single binary has no command files to discover). */
import type { CommandDef } from '../dispatch.ts';
import { up } from './up.ts';
import { status } from './status.ts';
import { tcpOutletCreate } from './tcp-outlet/create.ts';
import { tcpOutletList } from './tcp-outlet/list.ts';
import { tcpOutletDelete } from './tcp-outlet/delete.ts';
import { relayCreate } from './relay/create.ts';
import { serviceInstall } from './service/install.ts';
import { serviceUninstall } from './service/uninstall.ts';
import { version } from './version.ts';

export const AGENT_COMMANDS: CommandDef[] = [up, status, tcpOutletCreate, tcpOutletList, tcpOutletDelete, relayCreate, serviceInstall, serviceUninstall, version];
