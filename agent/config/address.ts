/** HOST:PORT addresses in configs and flags. */
import { PosternError } from '../../protocol/errors.ts';
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/;

export function parseHostPort(text: string, opts: { allowZeroPort?: boolean } = {}): HostPort {
  const fail = (why: string): never => {
    throw new PosternError('POSTERN_BAD_ADDRESS', `invalid address ${JSON.stringify(String(text).slice(0, 300))}: ${why}`, 'use HOST:PORT, e.g. github.local:80, 127.0.0.1:8000 or [::1]:8000');
  };
  if (typeof text !== 'string') return fail('not a string');
  const m = /^(\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text.trim());
  if (m === null) return fail('expected HOST:PORT');
  const host = m[2] ?? m[3]!;
  if (m[2] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4 && !HOST_RE.test(host)) return fail('bad host');
  if (m[4]!.length > 5) return fail('bad port');
  const port = Number(m[4]);
  if (port > 65535) return fail('port above 65535');
  if (port === 0 && !opts.allowZeroPort) return fail('port 0 is only allowed for a listener');
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
