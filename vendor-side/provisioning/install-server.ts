/**
 * The hub's install endpoint: on an HTTP port of its own, `GET /install.sh`
 * and the files of one `postern agent build` output (the binaries with their
 * SHA-256 in a header and in SHA256SUMS). Only the files the build's
 * manifest lists are served, each checked against its recorded SHA-256 at
 * start, so a damaged or swapped file is refused before any customer gets
 * it. GET and HEAD only; nothing else on this port.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PosternError } from '../../protocol/errors.ts';
import { formatHostPort, type HostPort } from '../../agent/config/index.ts';
import { MANIFEST, sha256File, type BuiltFile, type Manifest } from './build.ts';

export interface InstallServerOptions {
  /** A `postern agent build --out` directory. */
  artifacts: string;
  listen: HostPort;
  log?: (line: string) => void;
}

export interface InstallServer {
  server: Server;
  address: HostPort;
  manifest: Manifest;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<BuiltFile['kind'], string> = {
  binary: 'application/octet-stream',
  template: 'text/plain; charset=utf-8',
  sums: 'text/plain; charset=utf-8',
};

export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) {
    throw new PosternError('POSTERN_ARTIFACTS_MISSING', `${dir} holds no agent build (no ${MANIFEST})`, 'build one with `postern agent build --brand BRAND.yaml --out DIR`');
  }
  const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  if (m.version !== 1 || !Array.isArray(m.files)) throw new PosternError('POSTERN_ARTIFACTS_INVALID', `${path} is not a manifest this hub reads`, 'build the agent again with this version of Postern');
  return m;
}

/** Every listed file must exist and match its SHA-256. */
export async function verifyArtifacts(dir: string, m: Manifest): Promise<void> {
  for (const f of m.files) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(f.name)) throw new PosternError('POSTERN_ARTIFACTS_INVALID', `the manifest lists a bad file name ${JSON.stringify(f.name)}`);
    const path = join(dir, f.name);
    if (!existsSync(path)) throw new PosternError('POSTERN_ARTIFACTS_INVALID', `${path} is missing`, 'build the agent again');
    const got = await sha256File(path);
    if (got !== f.sha256) throw new PosternError('POSTERN_ARTIFACTS_INVALID', `${path} has SHA-256 ${got}, not ${f.sha256} as built`, 'the file was changed after the build: build the agent again');
  }
}

export async function startInstallServer(o: InstallServerOptions): Promise<InstallServer> {
  const manifest = readManifest(o.artifacts);
  await verifyArtifacts(o.artifacts, manifest);
  const byPath = new Map(manifest.files.map((f) => [`/${f.name}`, f]));
  const log = o.log ?? (() => {});

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const f = byPath.get(path);
    const done = (status: number) => log(`install: ${req.method} ${path} from ${req.socket.remoteAddress ?? '?'} → ${status}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return done(405);
    }
    if (f === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; try ${manifest.installUrl}/install.sh\n`);
      return done(404);
    }
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[f.kind],
      'content-length': f.size,
      'x-checksum-sha256': f.sha256,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return done(200);
    }
    const s = createReadStream(join(o.artifacts, f.name));
    s.on('error', () => res.destroy());
    s.pipe(res);
    res.on('finish', () => done(200));
  };

  const server = createServer({ requestTimeout: 60_000, headersTimeout: 10_000 }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new PosternError('POSTERN_HUB_LISTEN', `cannot listen on ${formatHostPort(o.listen)}: ${e.code ?? e.message}`, 'choose another --install-listen address')));
    server.listen(o.listen.port, o.listen.host, () => resolve());
  });
  const address = { host: o.listen.host, port: (server.address() as AddressInfo).port };
  log(`install: serving ${manifest.displayName} ${manifest.agentVersion} (${manifest.files.filter((f) => f.kind === 'binary').map((f) => f.target).join(', ')}) on http://${formatHostPort(address)}/install.sh`);
  return {
    server,
    address,
    manifest,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
