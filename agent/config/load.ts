/**
 * Read a node config file (YAML) into a checked NodeConfig. Every error is a
 * ConfigError that names the file, line and column of the node at fault.
 *
 * Order of work: size bound → YAML parse (with a nesting bound) → syntax
 * errors → one document only → no aliases → walk the known keys, where each
 * scalar value is interpolated and then checked by schema.ts.
 */
import { open } from 'node:fs/promises';
import {
  Composer,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
  type CST,
  type Document,
  type YAMLMap,
} from 'yaml';
import { PosternError } from '../../protocol/errors.ts';
import { interpolate, type Environment, type Variables } from './interpolate.ts';
import {
  checkName,
  checkPolicy,
  checkResourceType,
  formatHostPort,
  INLET_KEYS,
  MAX_CONFIG_BYTES,
  MAX_LIST_ENTRIES,
  MAX_NESTING,
  OUTLET_KEYS,
  parseHostPort,
  POLICY_KEYS,
  quote,
  TOP_LEVEL_KEYS,
  type HostPort,
  type InletSpec,
  type NodeConfig,
  type OutletSpec,
  type PolicySpec,
  type SectionKeys,
} from './schema.ts';

export interface LoadOptions {
  /** From --variable flags; looked up before `env`. */
  variables?: Record<string, string>;
  /** Usually process.env. Not consulted when absent. */
  env?: Record<string, string | undefined>;
}

/**
 * A config file error. `message` is `FILE:LINE:COLUMN: reason`; errors about
 * the whole file (unreadable, too large) point at 1:1.
 */
export class ConfigError extends PosternError {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
  /** What is wrong, without the position. */
  readonly reason: string;

  constructor(code: string, file: string, line: number, column: number, reason: string, hint?: string, options?: { cause?: unknown }) {
    super(code, `${file}:${line}:${column}: ${reason}`, hint, options);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

/** One key of a mapping, with where it was written. */
interface Field {
  key: string;
  keyOffset: number;
  value: unknown;
}

type Parsed = Document.Parsed;

/** How a scalar becomes text: whether a YAML boolean counts as its text, and the hint for a non-string. */
interface ValueHow {
  booleanText?: boolean;
  hint?: string;
}

function offsetOf(node: unknown): number | undefined {
  const range = (node as { range?: readonly number[] } | null)?.range;
  return range?.[0];
}

class Reader {
  readonly file: string;
  readonly lines: LineCounter;
  readonly variables: Variables;
  readonly env: Environment;

  constructor(file: string, lines: LineCounter, options: LoadOptions) {
    this.file = file;
    this.lines = lines;
    this.variables = options.variables ?? {};
    this.env = options.env ?? {};
  }

  fail(offset: number, reason: string, hint: string, code = 'POSTERN_CONFIG_INVALID'): never {
    // Before the parser has counted any line (a size error), linePos gives 0:0.
    const { line, col } = this.lines.linePos(offset);
    throw new ConfigError(code, this.file, Math.max(1, line), Math.max(1, col), reason, hint);
  }

  /** Parse with a bound on nesting checked on the CST, before the recursive composer runs. */
  parse(text: string): Parsed {
    const parser = new Parser(this.lines.addNewLine);
    const composer = new Composer({ version: '1.2', schema: 'core', merge: false, uniqueKeys: true, strict: true });
    const reader = this;
    function* bounded(): Generator<CST.Token> {
      for (const token of parser.parse(text)) {
        const deep = tooDeep(token);
        if (deep !== undefined) {
          reader.fail(deep, `YAML nested more than ${MAX_NESTING} levels deep`, 'a config needs three levels: keys, a list, and the keys of an entry');
        }
        yield token;
      }
    }
    const docs: Parsed[] = [];
    for (const doc of composer.compose(bounded(), true, text.length)) {
      docs.push(doc);
      if (docs.length > 1) break;
    }
    const doc = docs[0]!;
    const err = doc.errors[0];
    if (err !== undefined) {
      if (err.code === 'DUPLICATE_KEY') {
        this.fail(err.pos[0], 'YAML error: this key is written twice in the same mapping', 'write each key once; for several entries use a list ("- from: ..." lines)', 'POSTERN_CONFIG_YAML');
      }
      const first = err.message.split('\n', 1)[0]!;
      this.fail(err.pos[0], `YAML syntax error: ${first}`, 'check the indentation, and quote values that hold ": ", " #", "[" or "{"', 'POSTERN_CONFIG_YAML');
    }
    if (docs.length > 1) {
      this.fail(docs[1]!.range[0], 'a second YAML document; a config file holds exactly one', 'remove the "---" line and what follows it');
    }
    return doc;
  }

  /** Aliases are refused outright: no billion laughs, and no surprises when reading a config. */
  rejectAliases(doc: Parsed): void {
    const stack: unknown[] = [doc.contents];
    while (stack.length > 0) {
      const node = stack.pop();
      if (isAlias(node)) {
        this.fail(offsetOf(node) ?? 0, `YAML alias *${node.source} is not allowed in a config file`, 'write the value out in full instead of using &anchor and *alias');
      } else if (isMap(node)) {
        for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]!.value, node.items[i]!.key);
      } else if (isSeq(node)) {
        for (let i = node.items.length - 1; i >= 0; i--) stack.push(node.items[i]);
      } else if (isPair(node)) {
        stack.push(node.value, node.key);
      }
    }
  }

  /** The keys of a mapping, each known to `keys.allowed`, with all of `keys.required` present. */
  fields(map: YAMLMap, where: string, keys: SectionKeys): Map<string, Field> {
    const out = new Map<string, Field>();
    for (const pair of map.items) {
      const keyOffset = offsetOf(pair.key) ?? offsetOf(map) ?? 0;
      const key = isScalar(pair.key) && typeof pair.key.value === 'string' ? pair.key.value : undefined;
      if (key === undefined || !keys.allowed.includes(key)) {
        const shown = !isScalar(pair.key) ? 'that is not a string' : pair.key.value === null ? '(empty)' : quote(String(pair.key.value));
        this.fail(keyOffset, `unknown key ${shown} in ${where}`, `the keys of ${where} are: ${keys.allowed.join(', ')}`);
      }
      out.set(key, { key, keyOffset, value: pair.value });
    }
    const missing = keys.required.filter((k) => !out.has(k));
    if (missing.length > 0) {
      this.fail(offsetOf(map) ?? 0, `${where} has no ${missing.map((k) => quote(k)).join(', ')}`, `${where} needs ${keys.required.join(', ')}`);
    }
    return out;
  }

  /** A value written either once or as a list: the entries, at most MAX_LIST_ENTRIES. */
  list(field: Field): unknown[] {
    if (!isSeq(field.value)) return [field.value];
    const items = field.value.items;
    if (items.length > MAX_LIST_ENTRIES) {
      this.fail(offsetOf(items[MAX_LIST_ENTRIES]) ?? field.keyOffset, `${field.key} has more than ${MAX_LIST_ENTRIES} entries`, 'split the configuration across nodes');
    }
    return items;
  }

  /** Entries of a section: a mapping, or a list of mappings. */
  maps(field: Field, keys: SectionKeys): Array<Map<string, Field>> {
    return this.list(field).map((item) => {
      if (!isMap(item)) {
        const at = offsetOf(item) ?? field.keyOffset;
        this.fail(at, `${field.key} must be a mapping or a list of mappings`, `write ${field.key} with the keys ${keys.allowed.join(', ')}, one per line`);
      }
      return this.fields(item, field.key, keys);
    });
  }

  /**
   * A scalar value as a string, interpolated. YAML booleans are taken as
   * their text where `booleanText` (so `allow: true` is the policy "true");
   * numbers and everything else are refused with the position.
   */
  text(field: Field, label: string, how: ValueHow = {}): { text: string; at: number } {
    const node = field.value;
    const at = offsetOf(node) ?? field.keyOffset;
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) {
      this.fail(field.keyOffset, `${label} has no value`, `write a value after "${field.key}:"`);
    }
    if (!isScalar(node)) {
      const kind = isMap(node) ? 'a mapping' : isSeq(node) ? 'a list' : 'not a string';
      this.fail(at, `${label} must be a string, not ${kind}`, `write ${field.key} as one value`);
    }
    let raw: string;
    if (typeof node.value === 'string') raw = node.value;
    else if (typeof node.value === 'boolean' && how.booleanText === true) raw = String(node.value);
    else {
      const source = node.source ?? String(node.value);
      const kind = typeof node.value === 'number' ? 'a number' : typeof node.value === 'boolean' ? 'a boolean' : 'not a string';
      this.fail(at, `${label} must be a string, but YAML reads ${source.slice(0, 40)} as ${kind}`, how.hint ?? `put it in quotes: ${field.key}: "${source.slice(0, 40)}"`);
    }
    try {
      return { text: interpolate(raw, this.variables, this.env), at };
    } catch (e) {
      if (!(e instanceof PosternError)) throw e;
      return this.fail(at, `${label}: ${e.message}`, e.hint ?? '', e.code);
    }
  }

  /** `text`, then a schema check whose error is put at the value's position. */
  value<T>(field: Field, label: string, check: (text: string) => T, how: ValueHow = {}): T {
    const { text, at } = this.text(field, label, how);
    try {
      return check(text);
    } catch (e) {
      if (!(e instanceof PosternError)) throw e;
      return this.fail(at, `${label}: ${e.message}`, e.hint ?? '');
    }
  }

  name(field: Field, label: string, what: string): string {
    return this.value(field, label, (t) => checkName(t, what));
  }

  address(field: Field, label: string, allowZeroPort: boolean): HostPort {
    const hint = allowZeroPort ? 'write HOST:PORT, e.g. 127.0.0.1:7000, or 127.0.0.1:0 for any free port' : 'write HOST:PORT, e.g. github.local:80';
    return this.value(field, label, (t) => parseHostPort(t, { allowZeroPort }), { hint });
  }

  policy(field: Field, label: string): string {
    return this.value(field, label, checkPolicy, { booleanText: true });
  }
}

/** Deepest collection in a CST token beyond MAX_NESTING: its offset, else undefined. Iterative. */
function tooDeep(root: CST.Token): number | undefined {
  const stack: Array<[CST.Token, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!;
    if (token.type === 'document') {
      if (token.value !== undefined) stack.push([token.value, depth]);
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > MAX_NESTING) return token.offset;
      for (const item of token.items as Array<{ key?: CST.Token | null; value?: CST.Token }>) {
        if (item.key) stack.push([item.key, depth + 1]);
        if (item.value) stack.push([item.value, depth + 1]);
      }
    }
  }
  return undefined;
}

function build(r: Reader, doc: Parsed): NodeConfig {
  const config: NodeConfig = { relays: [], outlets: [], inlets: [], policies: [] };
  const top = doc.contents;
  if (top === null || (isScalar(top) && top.value === null)) return config;
  if (!isMap(top)) {
    r.fail(offsetOf(top) ?? 0, 'the config must be a mapping of keys', `use the keys ${TOP_LEVEL_KEYS.join(', ')}`);
  }
  const keys = r.fields(top, 'the config', { allowed: TOP_LEVEL_KEYS, required: [] });

  const name = keys.get('name');
  if (name !== undefined) config.name = r.name(name, 'name', 'node name');

  const relay = keys.get('relay');
  if (relay !== undefined) {
    for (const item of r.list(relay)) {
      const field: Field = { key: 'relay', keyOffset: offsetOf(item) ?? relay.keyOffset, value: item };
      const v = r.name(field, 'relay', 'relay name');
      if (config.relays.includes(v)) r.fail(field.keyOffset, `relay ${quote(v)} is listed twice`, 'list each relay once');
      config.relays.push(v);
    }
  }

  const outlets = keys.get('tcp-outlet');
  if (outlets !== undefined) {
    for (const f of r.maps(outlets, OUTLET_KEYS)) {
      const from = f.get('from')!;
      const outlet: OutletSpec = { name: r.name(from, 'tcp-outlet.from', 'outlet name'), to: r.address(f.get('to')!, 'tcp-outlet.to', false) };
      const allow = f.get('allow');
      if (allow !== undefined) outlet.allow = r.policy(allow, 'tcp-outlet.allow');
      if (config.outlets.some((o) => o.name === outlet.name)) {
        r.fail(offsetOf(from.value) ?? from.keyOffset, `tcp-outlet ${quote(outlet.name)} is defined twice`, 'give each outlet its own name');
      }
      config.outlets.push(outlet);
    }
  }

  const inlets = keys.get('tcp-inlet');
  if (inlets !== undefined) {
    for (const f of r.maps(inlets, INLET_KEYS)) {
      const from = f.get('from')!;
      const inlet: InletSpec = {
        from: r.address(from, 'tcp-inlet.from', true),
        via: r.name(f.get('via')!, 'tcp-inlet.via', 'relay name'),
        to: r.name(f.get('to')!, 'tcp-inlet.to', 'outlet name'),
      };
      const allow = f.get('allow');
      if (allow !== undefined) inlet.allow = r.policy(allow, 'tcp-inlet.allow');
      const addr = formatHostPort(inlet.from);
      if (inlet.from.port !== 0 && config.inlets.some((i) => formatHostPort(i.from) === addr)) {
        r.fail(offsetOf(from.value) ?? from.keyOffset, `two tcp-inlets listen on ${addr}`, 'give each inlet its own address, or port 0 for any free port');
      }
      config.inlets.push(inlet);
    }
  }

  const policies = keys.get('policy');
  if (policies !== undefined) {
    for (const f of r.maps(policies, POLICY_KEYS)) {
      const policy: PolicySpec = {
        resourceType: r.value(f.get('resource-type')!, 'policy.resource-type', checkResourceType),
        allow: r.policy(f.get('allow')!, 'policy.allow'),
      };
      config.policies.push(policy);
    }
  }
  return config;
}

/**
 * Parse config text. `file` is only used in messages. Throws ConfigError;
 * never anything else, whatever the input.
 */
export function parseConfig(text: string, file: string, options: LoadOptions = {}): NodeConfig {
  const lines = new LineCounter();
  const r = new Reader(file, lines, options);
  try {
    if (text.length > MAX_CONFIG_BYTES || Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
      r.fail(0, `the config is larger than ${MAX_CONFIG_BYTES} bytes`, 'a node config is a few lines; check that this is the right file');
    }
    const doc = r.parse(text);
    r.rejectAliases(doc);
    return build(r, doc);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // A safety net: the YAML library or a check threw something unplanned.
    throw new ConfigError('POSTERN_CONFIG_YAML', file, 1, 1, `cannot read the config: ${(e as Error)?.message ?? String(e)}`, 'check that this is a YAML config file', { cause: e });
  }
}

const READ_REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

/** Read at most MAX_CONFIG_BYTES + 1 bytes, so a huge or endless file is never read whole. */
async function readBounded(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

export async function loadConfigFile(path: string, options: LoadOptions = {}): Promise<NodeConfig> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException)?.code;
    const why = (code !== undefined ? READ_REASONS[code] : undefined) ?? code ?? String(e);
    throw new ConfigError('POSTERN_CONFIG_READ', path, 1, 1, `cannot read the config file: ${why}`, 'check the path and its permissions', { cause: e });
  }
  if (bytes.length > MAX_CONFIG_BYTES) {
    throw new ConfigError('POSTERN_CONFIG_INVALID', path, 1, 1, `the config is larger than ${MAX_CONFIG_BYTES} bytes`, 'a node config is a few lines; check that this is the right file');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new ConfigError('POSTERN_CONFIG_INVALID', path, 1, 1, 'the config is not UTF-8 text', 'save the file as UTF-8', { cause: e });
  }
  return parseConfig(text, path, options);
}
