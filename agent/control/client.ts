import { connect } from 'node:net';
import { PosternError } from '../../protocol/errors.ts';
import { MAX_CONTROL_LINE } from './protocol.ts';

/** One request to a running node's control socket. */
export function controlRequest(path: string, op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new PosternError('POSTERN_NODE_TIMEOUT', `the node did not answer ${op} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, op, args })}\n`));
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_CONTROL_LINE) socket.destroy(new Error('control answer too large'));
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        const res = JSON.parse(buf.slice(0, nl)) as { ok: boolean; result?: unknown; code?: string; message?: string; hint?: string };
        if (res.ok) resolve(res.result);
        else reject(new PosternError(res.code ?? 'POSTERN_NODE_ERROR', res.message ?? 'the node refused', res.hint));
      } catch (e) {
        reject(new PosternError('POSTERN_NODE_ERROR', `bad answer from the node: ${String(e)}`));
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new PosternError('POSTERN_NODE_NOT_RUNNING', `cannot reach the node's control socket (${e.code ?? e.message})`, 'start it with `postern node create` or check `postern node list`'),
      );
    });
  });
}
