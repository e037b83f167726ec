import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { PosternError } from '../../protocol/errors.ts';
import { MAX_CONTROL_LINE, type ControlHandler } from './protocol.ts';

export async function startControlServer(path: string, handler: ControlHandler): Promise<Server> {
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((socket: Socket) => {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_CONTROL_LINE) {
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        void answer(socket, line, handler);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}

async function answer(socket: Socket, line: string, handler: ControlHandler): Promise<void> {
  let id: unknown = null;
  try {
    const req = JSON.parse(line) as { id?: unknown; op?: unknown; args?: unknown };
    id = req.id;
    if (typeof req.op !== 'string') throw new PosternError('POSTERN_BAD_REQUEST', 'missing op');
    const args = typeof req.args === 'object' && req.args !== null ? (req.args as Record<string, unknown>) : {};
    const result = await handler(req.op, args);
    socket.write(`${JSON.stringify({ id, ok: true, result })}\n`);
  } catch (e) {
    const err = e instanceof PosternError ? e : new PosternError('POSTERN_INTERNAL', e instanceof Error ? e.message : String(e));
    socket.write(`${JSON.stringify({ id, ok: false, code: err.code, message: err.message, hint: err.hint })}\n`);
  }
}
