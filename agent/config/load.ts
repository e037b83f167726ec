/**
 * Parse a node config file (YAML) into a validated NodeConfig. Every error
 * names the file, line and column of the offending node.
 */
import { readFile, stat } from 'node:fs/promises';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit, type Node, type Pair, type YAMLMap } from 'yaml';
import { PosternError } from '../../protocol/errors.ts';
import { parseHostPort, type HostPort } from './address.ts';
import { interpolate } from './interpolate.ts';

export interface OutletSpec {
  name: string;
  to: HostPort;
  allow?: string;
}
export interface InletSpec {
  from: HostPort;
  via: string;
  to: string;
  allow?: string;
}
export interface PolicySpec {
  resourceType: 'tcp-outlet' | 'tcp-inlet';
  allow: string;
}
export interface NodeConfig {
  name?: string;
  relays: string[];
  outlets: OutletSpec[];
  inlets: InletSpec[];
  policies: PolicySpec[];
}
export interface LoadOptions {
  variables?: Record<string, string>;
  env?: Record<string, string | undefined>;
}

export const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_LIST = 256;
const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export class ConfigError extends PosternError {
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(code: string, file: string, line: number, column: number, what: string, hint?: string) {
    super(code, `${file}:${line}:${column}: ${what}`, hint);
    this.file = file;
    this.line = line;
    this.column = column;
  }
}

class Ctx {
  readonly file: string;
  readonly lc: LineCounter;
  readonly o: LoadOptions;

  constructor(file: string, lc: LineCounter, o: LoadOptions) {
    this.file = file;
    this.lc = lc;
    this.o = o;
  }

  fail(node: Node | null | undefined, what: string, hint?: string, code = 'POSTERN_CONFIG_INVALID'): never {
    const pos = this.lc.linePos(node?.range?.[0] ?? 0);
    throw new ConfigError(code, this.file, pos.line, pos.col, what, hint);
  }

  str(node: unknown, what: string): string {
    if (!isScalar(node)) this.fail(node as Node, `${what} must be a string`);
    const v = node.value;
    let s: string;
    if (typeof v === 'string') s = v;
    else if (typeof v === 'boolean' && what.endsWith('allow')) s = String(v);
    else this.fail(node, `${what} must be a string, not ${v === null ? 'empty' : typeof v}`, typeof v === 'number' ? 'write HOST:PORT, e.g. "127.0.0.1:8080"' : undefined);
    try {
      return interpolate(s, this.o.variables ?? {}, this.o.env ?? {});
    } catch (e) {
      const err = e as PosternError;
      return this.fail(node, err.message, err.hint, err.code);
    }
  }

  name(node: unknown, what: string): string {
    const s = this.str(node, what);
    if (!NAME_RE.test(s)) this.fail(node as Node, `${what} ${JSON.stringify(s)} is not a valid name`, 'names are lowercase letters, digits, ".", "_" and "-", at most 63 characters');
    return s;
  }

  address(node: unknown, what: string, allowZeroPort = false): HostPort {
    const s = this.str(node, what);
    try {
      return parseHostPort(s, { allowZeroPort });
    } catch (e) {
      const err = e as PosternError;
      return this.fail(node as Node, `${what}: ${err.message}`, err.hint);
    }
  }

  policy(node: unknown, what: string): string {
    const s = this.str(node, what).trim();
    if (s === '' || s.length > 4096) this.fail(node as Node, `${what} must be a policy expression of 1 to 4096 characters`);
    return s;
  }

  /** A mapping or a list of mappings → list of maps. */
  items(node: unknown, key: string): YAMLMap[] {
    const list = isSeq(node) ? node.items : [node];
    if (list.length > MAX_LIST) this.fail(node as Node, `${key}: more than ${MAX_LIST} entries`);
    return list.map((item) => {
      if (!isMap(item)) this.fail((item ?? node) as Node, `${key} entries must be mappings`);
      return item;
    });
  }

  fields(map: YAMLMap, key: string, allowed: readonly string[], required: readonly string[]): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const pair of map.items as Pair[]) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.includes(k)) {
        this.fail(pair.key as Node, `unknown key ${JSON.stringify(k)} in ${key}`, `allowed: ${allowed.join(', ')}`);
      }
      out.set(k, pair.value);
    }
    for (const r of required) if (!out.has(r)) this.fail(map, `${key} needs ${r}`);
    return out;
  }
}

export function parseConfig(text: string, file: string, options: LoadOptions = {}): NodeConfig {
  const lc = new LineCounter();
  const ctx: Ctx = new Ctx(file, lc, options);
  if (text.length > MAX_CONFIG_BYTES) ctx.fail(null, `file larger than ${MAX_CONFIG_BYTES} bytes`);
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  if (!Array.isArray(docs)) ctx.fail(null, 'not a YAML document');
  if (docs.length > 1) ctx.fail(docs[1]!.contents as Node, 'only one YAML document is allowed');
  const doc = docs[0];
  const cfg: NodeConfig = { relays: [], outlets: [], inlets: [], policies: [] };
  if (doc === undefined || doc.contents === null) return cfg;
  for (const err of doc.errors) {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    throw new ConfigError('POSTERN_CONFIG_YAML', file, pos.line, pos.col, `YAML syntax error: ${err.message.split('\n')[0]}`, 'check indentation and quoting');
  }
  visit(doc, {
    Alias(_k, node) {
      ctx.fail(node as unknown as Node, 'YAML aliases are not allowed in a config file');
    },
  });
  const contents = doc.contents as unknown;
  if (!isMap(contents)) ctx.fail(contents as Node, 'the config must be a mapping of keys');
  const top = ctx.fields(contents, 'the config', ['name', 'relay', 'tcp-outlet', 'tcp-inlet', 'policy'], []);
  if (top.has('name')) cfg.name = ctx.name(top.get('name'), 'name');
  if (top.has('relay')) {
    const v = top.get('relay');
    const list = isSeq(v) ? v.items : [v];
    if (list.length > MAX_LIST) ctx.fail(v as Node, `relay: more than ${MAX_LIST} entries`);
    cfg.relays = list.map((n) => ctx.name(n, 'relay'));
  }
  if (top.has('tcp-outlet')) {
    for (const m of ctx.items(top.get('tcp-outlet'), 'tcp-outlet')) {
      const f = ctx.fields(m, 'tcp-outlet', ['from', 'to', 'allow'], ['from', 'to']);
      const o: OutletSpec = { name: ctx.name(f.get('from'), 'tcp-outlet from'), to: ctx.address(f.get('to'), 'tcp-outlet to') };
      if (f.has('allow')) o.allow = ctx.policy(f.get('allow'), 'tcp-outlet allow');
      cfg.outlets.push(o);
    }
  }
  if (top.has('tcp-inlet')) {
    for (const m of ctx.items(top.get('tcp-inlet'), 'tcp-inlet')) {
      const f = ctx.fields(m, 'tcp-inlet', ['from', 'via', 'to', 'allow'], ['from', 'via', 'to']);
      const i: InletSpec = {
        from: ctx.address(f.get('from'), 'tcp-inlet from', true),
        via: ctx.name(f.get('via'), 'tcp-inlet via'),
        to: ctx.name(f.get('to'), 'tcp-inlet to'),
      };
      if (f.has('allow')) i.allow = ctx.policy(f.get('allow'), 'tcp-inlet allow');
      cfg.inlets.push(i);
    }
  }
  if (top.has('policy')) {
    for (const m of ctx.items(top.get('policy'), 'policy')) {
      const f = ctx.fields(m, 'policy', ['resource-type', 'allow'], ['resource-type', 'allow']);
      const rt = ctx.str(f.get('resource-type'), 'policy resource-type');
      if (rt !== 'tcp-outlet' && rt !== 'tcp-inlet') {
        ctx.fail(f.get('resource-type') as Node, `policy resource-type must be tcp-outlet or tcp-inlet, not ${JSON.stringify(rt)}`);
      }
      cfg.policies.push({ resourceType: rt as PolicySpec['resourceType'], allow: ctx.policy(f.get('allow'), 'policy allow') });
    }
  }
  return cfg;
}

export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<NodeConfig> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError('POSTERN_CONFIG_INVALID', path, 1, 1, `file larger than ${MAX_CONFIG_BYTES} bytes`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('POSTERN_CONFIG_READ', path, 1, 1, `cannot read the config file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'check the path');
  }
  return parseConfig(text, path, options);
}
