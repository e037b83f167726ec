/** The `postern` CLI: one file per command (explicit list, so the CLI bundles cleanly). */
import HubInit from './commands/hub/init.ts';
import HubStart from './commands/hub/start.ts';
import TicketCreate from './commands/ticket/create.ts';
import NodeCreate from './commands/node/create.ts';
import NodeRun from './commands/node/run.ts';
import NodeList from './commands/node/list.ts';
import NodeShow from './commands/node/show.ts';
import NodeDelete from './commands/node/delete.ts';
import TcpOutletCreate from './commands/tcp-outlet/create.ts';
import TcpInletCreate from './commands/tcp-inlet/create.ts';
import RelayCreate from './commands/relay/create.ts';
import MemberRevoke from './commands/member/revoke.ts';
import Status from './commands/status.ts';
import AgentBuild from './commands/agent/build.ts';

export const COMMANDS = {
  'hub:init': HubInit,
  'hub:start': HubStart,
  'ticket:create': TicketCreate,
  'node:create': NodeCreate,
  'node:run': NodeRun,
  'node:list': NodeList,
  'node:show': NodeShow,
  'node:delete': NodeDelete,
  'tcp-outlet:create': TcpOutletCreate,
  'tcp-inlet:create': TcpInletCreate,
  'relay:create': RelayCreate,
  'member:revoke': MemberRevoke,
  status: Status,
  'agent:build': AgentBuild,
};
