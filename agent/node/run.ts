/** Run a node in this process until SIGTERM/SIGINT (the foreground of `node create` and `node run`). */
import { writeFileSync, rmSync } from 'node:fs';
import { PosternError } from '../../protocol/errors.ts';
import { decodeTicket } from '../../protocol/ticket/ticket.ts';
import { PosternNode, type NodeStatus } from './node.ts';
import { nodePaths } from './state.ts';
import { dropStashedTicket, takeStashedTicket } from './daemon.ts';

/** POSTERN_KEEPALIVE_MS: keepalive interval for the hub link and channels (tests use short ones). */
function keepaliveFromEnv(): number | undefined {
  const v = Number(process.env['POSTERN_KEEPALIVE_MS']);
  return Number.isInteger(v) && v >= 100 && v <= 600_000 ? v : undefined;
}

export interface RunOptions {
  name: string;
  home?: string;
  log: (line: string) => void;
  onReady?: (status: NodeStatus) => void;
}

export async function runNode(o: RunOptions): Promise<PosternNode> {
  const p = nodePaths(o.name, o.home);
  const stashed = takeStashedTicket(p);
  let node: PosternNode;
  try {
    node = await PosternNode.start({
      name: o.name,
      home: o.home,
      ...(stashed !== undefined ? { ticket: decodeTicket(stashed) } : {}),
      log: o.log,
      ...(keepaliveFromEnv() !== undefined ? { keepaliveMs: keepaliveFromEnv() } : {}),
    });
  } catch (e) {
    const err = e instanceof PosternError ? e : new PosternError('POSTERN_INTERNAL', e instanceof Error ? e.message : String(e));
    o.log(`node ${o.name} failed to start: ${err.message}`);
    process.send?.({ error: err.toJSON() });
    throw err;
  }
  dropStashedTicket(p);
  writeFileSync(p.pid, `${process.pid}\n`, { mode: 0o600 });
  const status = node.status();
  o.log(`node ${o.name} ready (${status.identifier})`);
  o.onReady?.(status);
  process.send?.({ ready: true, status });
  if (process.send !== undefined) process.disconnect?.();
  const stop = () => {
    o.log(`node ${o.name} stopping`);
    void node.close().finally(() => {
      rmSync(p.pid, { force: true });
      process.exit(0);
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return node;
}
