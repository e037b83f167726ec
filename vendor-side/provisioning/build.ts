/**
 * `postern agent build`: the vendor's branded customer agent as one file.
 *
 *   1. the brand → the agent's brand object (rendered default config and
 *      systemd unit included), baked into the bundle with esbuild `define`;
 *   2. esbuild bundles agent/cli/main.ts (CommonJS, the form a Node 24
 *      single executable runs) and the metafile is checked: nothing from
 *      vendor-side/ may be in it;
 *   3. `node --experimental-sea-config` makes the blob, which postject
 *      injects into a copy of the pinned Node 24 binary (sentinel fuse);
 *   4. the templates are rendered next to it (install.sh carries the
 *      binaries' SHA-256), then SHA256SUMS and manifest.json.
 *
 * esbuild and postject are loaded only here, so the rest of the CLI runs
 * without them.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PosternError } from '../../protocol/errors.ts';
import { parseConfig } from '../../agent/config/index.ts';
import { BINARY_PATH_TOKEN, type AgentBrand } from '../../agent/cli/brand.ts';
import type { Brand } from './brand.ts';
import { renderAll, renderTemplate, templateContext, TEMPLATES_DIR, type TemplateTarget } from './templates.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_ENTRY = join(ROOT, 'agent/cli/main.ts');
/** The Node 24 binary pinned in node_modules: the base of every build for this machine's platform. */
export const PINNED_NODE = join(ROOT, 'node_modules/node/bin/node');
/** The fuse postject flips so that Node looks for the injected blob (Node's SEA docs). */
export const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
export const SUPPORTED_TARGETS = ['linux-x64', 'linux-arm64'] as const;
export const MANIFEST = 'manifest.json';
/** Folders whose files may never be in the customer's binary. */
export const FORBIDDEN_IN_AGENT = ['vendor-side/'];

export interface BuildOptions {
  brand: Brand;
  out: string;
  targets: string[];
  /** Base Node binaries for targets other than this machine's: target → path. */
  nodeBinaries?: Record<string, string>;
  log?: (line: string) => void;
}

export interface BuiltFile {
  name: string;
  sha256: string;
  size: number;
  kind: 'binary' | 'template' | 'sums';
  target?: string;
}

export interface Manifest {
  version: 1;
  binary: string;
  displayName: string;
  vendor: string;
  agentVersion: string;
  installUrl: string;
  builtAt: string;
  files: BuiltFile[];
}

export interface BuildResult {
  manifest: Manifest;
  /** esbuild's metafile: every input of the bundle. */
  metafile: { inputs: Record<string, { bytes: number }> };
  bundleBytes: number;
  binaries: { target: string; path: string; size: number; sha256: string }[];
}

export function hostTarget(): string {
  const os = process.platform === 'win32' ? 'win' : process.platform;
  return `${os}-${process.arch}`;
}

export function posternVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The brand as the agent sees it: names, pins, rendered config and unit. */
export function agentBrand(brand: Brand, version: string): AgentBrand {
  const ctx = (binaryPath: string) => templateContext(brand, { version, targets: [], binaryPath });
  const config = renderTemplate('config/customer.yaml.hbs', ctx(''));
  const c = brand.customerConfig;
  const variables = [...(c.inlet !== null ? [c.inlet] : []), ...c.outlets].map((v) => ({ name: v.variable, description: v.description, default: v.default }));
  // The rendered config must be a valid node config with any values for its variables.
  const probe = Object.fromEntries([['RELAY', 'relay'], ...variables.map((v) => [v.name, v.default ?? '127.0.0.1:1'])]) as Record<string, string>;
  parseConfig(config, 'templates/config/customer.yaml.hbs (rendered)', { variables: probe });
  return {
    binary: brand.binary,
    displayName: brand.displayName,
    vendor: brand.vendor,
    supportUrl: brand.supportUrl,
    version,
    hub: { routes: brand.hub.routes, identifier: brand.hub.identifier, authority: brand.hub.authority },
    stateDir: brand.stateDir,
    homeEnv: brand.homeEnv,
    service: { name: brand.service.name, stateDir: brand.service.stateDir, unit: renderTemplate('systemd/agent.service.hbs', ctx(BINARY_PATH_TOKEN)) },
    config,
    variables,
  };
}

/** Inputs of the bundle that come from a forbidden folder (vendor-side/). */
export function forbiddenInputs(metafile: { inputs: Record<string, unknown> }): string[] {
  return Object.keys(metafile.inputs).filter((i) => FORBIDDEN_IN_AGENT.some((f) => i.replaceAll('\\', '/').startsWith(f)));
}

/** esbuild: agent/cli/main.ts with the brand baked in, as one CommonJS file. */
export async function bundleAgent(brand: AgentBrand, outfile: string): Promise<{ metafile: BuildResult['metafile']; bytes: number }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new PosternError('POSTERN_BUILD_TOOL', 'esbuild is not installed', 'run `npm ci` in the Postern checkout (esbuild is a development dependency)', { cause: e });
  }
  const r = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [relative(ROOT, AGENT_ENTRY)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    outfile,
    define: { __POSTERN_AGENT_BRAND__: JSON.stringify(brand) },
    metafile: true,
    legalComments: 'inline',
    logLevel: 'silent',
  });
  const bad = forbiddenInputs(r.metafile);
  if (bad.length > 0) {
    throw new PosternError('POSTERN_BUILD_LAYERING', `the agent bundle holds vendor-side code: ${bad.slice(0, 5).join(', ')}`, 'agent/ and protocol/ must not import vendor-side/ (see STYLE.md, Layout)');
  }
  return { metafile: r.metafile, bytes: statSync(outfile).size };
}

function nodeVersionOf(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}

/** The Node binary a target's executable is made from. */
export function baseBinary(target: string, given: Record<string, string> = {}): string {
  if (!(SUPPORTED_TARGETS as readonly string[]).includes(target)) {
    throw new PosternError('POSTERN_BUILD_TARGET', `target ${JSON.stringify(target)} is not supported`, `supported: ${SUPPORTED_TARGETS.join(', ')}`);
  }
  const explicit = given[target];
  if (explicit !== undefined) return explicit;
  if (target === hostTarget()) return PINNED_NODE;
  const pkg = join(ROOT, 'node_modules', `node-${target}`, 'bin', 'node');
  if (existsSync(pkg)) return pkg;
  throw new PosternError(
    'POSTERN_BUILD_TARGET',
    `no Node.js binary for ${target} on this machine`,
    `unpack the npm package node-${target}@${process.versions.node} (npm pack node-${target}@${process.versions.node}) and pass --node-binary ${target}=PATH/bin/node`,
  );
}

async function inject(file: string, blob: Buffer): Promise<void> {
  const require = createRequire(import.meta.url);
  let postject: { inject: (file: string, name: string, data: Buffer, o: { sentinelFuse: string; overwrite?: boolean }) => Promise<void> };
  try {
    postject = require('postject') as typeof postject;
  } catch (e) {
    throw new PosternError('POSTERN_BUILD_TOOL', 'postject is not installed', 'run `npm ci` in the Postern checkout (postject is a development dependency)', { cause: e });
  }
  // postject's ELF writer prints harmless LIEF warnings on stderr; keep the build's output to the point.
  const write = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await postject.inject(file, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE, overwrite: true });
  } finally {
    process.stderr.write = write;
  }
}

export async function buildAgent(o: BuildOptions): Promise<BuildResult> {
  const log = o.log ?? (() => {});
  const version = posternVersion();
  const targets = [...new Set(o.targets)];
  if (targets.length === 0) throw new PosternError('POSTERN_BUILD_TARGET', 'no target to build', `pass --target, e.g. ${hostTarget()}`);
  const bases = targets.map((t) => ({ target: t, base: baseBinary(t, o.nodeBinaries) }));
  const generator = PINNED_NODE;
  const nodeVersion = nodeVersionOf(generator);
  for (const b of bases) {
    if (b.base === PINNED_NODE || b.target !== hostTarget()) continue;
    const v = nodeVersionOf(b.base);
    if (v !== nodeVersion) throw new PosternError('POSTERN_BUILD_TARGET', `${b.base} is Node ${v}, not ${nodeVersion}`, 'the blob and the binary must come from the same Node version');
  }

  mkdirSync(o.out, { recursive: true });
  const work = join(o.out, '.build');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const ab = agentBrand(o.brand, version);
    const bundle = join(work, 'agent.cjs');
    const { metafile, bytes } = await bundleAgent(ab, bundle);
    log(`bundled agent/cli/main.ts: ${Object.keys(metafile.inputs).length} files, ${(bytes / 1024).toFixed(0)} KiB`);

    // No code cache or snapshot: one blob serves every target. (A code cache made by the host's
    // Node saves ~10 ms on `version` but nothing measurable from start to "relay ready".)
    const seaConfig = join(work, 'sea-config.json');
    const blobPath = join(work, 'sea-prep.blob');
    writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blobPath, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: false }));
    execFileSync(generator, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'pipe'] });
    const blob = readFileSync(blobPath);

    const binaries: BuildResult['binaries'] = [];
    for (const { target, base } of bases) {
      const path = join(o.out, `${o.brand.binary}-${target}`);
      rmSync(path, { force: true });
      copyFileSync(base, path);
      chmodSync(path, 0o755);
      await inject(path, blob);
      const size = statSync(path).size;
      const sha256 = await sha256File(path);
      binaries.push({ target, path, size, sha256 });
      log(`built ${relative(process.cwd(), path) || path} (${target}, ${(size / 2 ** 20).toFixed(1)} MiB, Node ${nodeVersion})`);
    }

    const tTargets: TemplateTarget[] = binaries.map((b) => ({ target: b.target, file: `${o.brand.binary}-${b.target}`, sha256: b.sha256, size: b.size, sizeMiB: (b.size / 2 ** 20).toFixed(1) }));
    const files: BuiltFile[] = binaries.map((b) => ({ name: `${o.brand.binary}-${b.target}`, sha256: b.sha256, size: b.size, kind: 'binary', target: b.target }));
    const rendered = renderAll(o.brand, { version, targets: tTargets, binaryPath: `${o.brand.install.prefix}/bin/${o.brand.binary}` }, TEMPLATES_DIR);
    for (const r of rendered) {
      const path = join(o.out, r.output);
      writeFileSync(path, r.content, { mode: r.mode });
      chmodSync(path, r.mode);
      files.push({ name: r.output, sha256: createHash('sha256').update(r.content).digest('hex'), size: Buffer.byteLength(r.content), kind: 'template' });
    }
    const sums = `${files.map((f) => `${f.sha256}  ${f.name}`).join('\n')}\n`;
    writeFileSync(join(o.out, 'SHA256SUMS'), sums);
    files.push({ name: 'SHA256SUMS', sha256: createHash('sha256').update(sums).digest('hex'), size: Buffer.byteLength(sums), kind: 'sums' });
    const manifest: Manifest = {
      version: 1,
      binary: o.brand.binary,
      displayName: o.brand.displayName,
      vendor: o.brand.vendor,
      agentVersion: version,
      installUrl: o.brand.install.url,
      builtAt: new Date().toISOString(),
      files,
    };
    writeFileSync(join(o.out, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    return { manifest, metafile, bundleBytes: bytes, binaries };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
