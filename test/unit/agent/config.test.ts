import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  formatHostPort,
  loadConfigFile,
  MAX_CONFIG_BYTES,
  parseConfig,
  parseHostPort,
  parseVariableFlags,
  type LoadOptions,
  type NodeConfig,
} from '../../../agent/config/index.ts';
import { PosternError } from '../../../protocol/errors.ts';

// The two files of the walk-through in docs/ARCHITECTURE.md, verbatim.
const SAAS_YAML = `relay: saas-relay
tcp-outlet:
  from: saas
  to: http-server:80
  allow: inlet-to-saas
policy:
  resource-type: tcp-inlet
  allow: outlet-from-saas
`;

const CUSTOMER_YAML = `relay: $RELAY
tcp-inlet:
  from: 0.0.0.0:7000
  via: saas-relay
  to: saas
  allow: outlet-to-saas
tcp-outlet:
  from: github
  to: $GITHUB_ADDRESS
  allow: inlet-from-saas
policy:
  resource-type: tcp-outlet
  allow: inlet-from-saas
`;

const CUSTOMER_VARS = { RELAY: 'acme-relay', GITHUB_ADDRESS: 'github.local:80' };

/** The ConfigError that parsing `text` throws (fails the test if it parses). */
function configError(text: string, options: LoadOptions = {}): ConfigError {
  try {
    parseConfig(text, 'node.yaml', options);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

function thrown(f: () => unknown): PosternError {
  try {
    f();
  } catch (e) {
    if (e instanceof PosternError) return e;
    throw e;
  }
  throw new Error('expected a PosternError');
}

function at(e: ConfigError): [string, number, number] {
  return [e.code, e.line, e.column];
}

describe('walk-through configs', () => {
  it('saas.yaml parses to one relay, one outlet and one policy', () => {
    expect(parseConfig(SAAS_YAML, 'saas.yaml')).toStrictEqual<NodeConfig>({
      relays: ['saas-relay'],
      outlets: [{ name: 'saas', to: { host: 'http-server', port: 80 }, allow: 'inlet-to-saas' }],
      inlets: [],
      policies: [{ resourceType: 'tcp-inlet', allow: 'outlet-from-saas' }],
    });
  });

  it('customer.yaml parses with RELAY and GITHUB_ADDRESS', () => {
    expect(parseConfig(CUSTOMER_YAML, 'customer.yaml', { variables: CUSTOMER_VARS })).toStrictEqual<NodeConfig>({
      relays: ['acme-relay'],
      outlets: [{ name: 'github', to: { host: 'github.local', port: 80 }, allow: 'inlet-from-saas' }],
      inlets: [{ from: { host: '0.0.0.0', port: 7000 }, via: 'saas-relay', to: 'saas', allow: 'outlet-to-saas' }],
      policies: [{ resourceType: 'tcp-outlet', allow: 'inlet-from-saas' }],
    });
  });

  it('customer.yaml without GITHUB_ADDRESS points at the value that needs it', () => {
    const e = configError(CUSTOMER_YAML, { variables: { RELAY: 'acme-relay' } });
    expect(at(e)).toEqual(['POSTERN_CONFIG_VARIABLE', 9, 7]);
    expect(e.message).toBe('node.yaml:9:7: tcp-outlet.to: variable GITHUB_ADDRESS is not set');
    expect(e.hint).toContain('--variable GITHUB_ADDRESS=');
    expect(e.file).toBe('node.yaml');
  });
});

describe('forms', () => {
  it('takes lists of relays, outlets, inlets and policies, and a node name', () => {
    const text = `name: vendor-node
relay: [saas-relay, backup.relay]
tcp-outlet:
  - from: saas
    to: http-server:80
  - from: api
    to: "[::1]:8443"
    allow: inlet-to-saas
tcp-inlet:
  - from: 127.0.0.1:0
    via: acme-relay
    to: github
  - { from: "[::]:9000", via: acme-relay, to: jira, allow: 'customer = "acme"' }
policy:
  - resource-type: tcp-inlet
    allow: outlet-from-saas
  - resource-type: tcp-outlet
    allow: |
      inlet-to-saas
`;
    expect(parseConfig(text, 'n.yaml')).toStrictEqual<NodeConfig>({
      name: 'vendor-node',
      relays: ['saas-relay', 'backup.relay'],
      outlets: [
        { name: 'saas', to: { host: 'http-server', port: 80 } },
        { name: 'api', to: { host: '::1', port: 8443 }, allow: 'inlet-to-saas' },
      ],
      inlets: [
        { from: { host: '127.0.0.1', port: 0 }, via: 'acme-relay', to: 'github' },
        { from: { host: '::', port: 9000 }, via: 'acme-relay', to: 'jira', allow: 'customer = "acme"' },
      ],
      policies: [
        { resourceType: 'tcp-inlet', allow: 'outlet-from-saas' },
        { resourceType: 'tcp-outlet', allow: 'inlet-to-saas' },
      ],
    });
  });

  it('reads an empty file or a comment as a config with nothing in it', () => {
    const empty: NodeConfig = { relays: [], outlets: [], inlets: [], policies: [] };
    expect(parseConfig('', 'n.yaml')).toStrictEqual(empty);
    expect(parseConfig('# nothing yet\n', 'n.yaml')).toStrictEqual(empty);
  });

  it('takes a YAML boolean allow as the policy text', () => {
    const c = parseConfig('tcp-outlet:\n  from: open\n  to: localhost:80\n  allow: true\npolicy:\n  resource-type: tcp-inlet\n  allow: false\n', 'n.yaml');
    expect(c.outlets[0]!.allow).toBe('true');
    expect(c.policies[0]!.allow).toBe('false');
  });

  it('bounds policy expressions but does not parse them', () => {
    expect(parseConfig(`policy: {resource-type: tcp-inlet, allow: "(("}`, 'n.yaml').policies[0]!.allow).toBe('((');
    const long = configError(`policy:\n  resource-type: tcp-inlet\n  allow: ${'a'.repeat(4097)}\n`);
    expect(at(long)).toEqual(['POSTERN_CONFIG_INVALID', 3, 10]);
    expect(long.message).toContain('more than 4096');
    expect(parseConfig(`policy:\n  resource-type: tcp-inlet\n  allow: ${'a'.repeat(4096)}\n`, 'n.yaml').policies[0]!.allow).toHaveLength(4096);
    expect(at(configError('policy:\n  resource-type: tcp-inlet\n  allow: "  "\n'))).toEqual(['POSTERN_CONFIG_INVALID', 3, 10]);
  });
});

describe('interpolation', () => {
  it('replaces ${VAR}, falls back to the environment, and takes --variable first', () => {
    const text = 'relay: ${PREFIX}-relay\ntcp-outlet:\n  from: github\n  to: $HOST:${PORT}\n';
    const c = parseConfig(text, 'n.yaml', { variables: { PREFIX: 'acme', HOST: 'flag.local' }, env: { HOST: 'env.local', PORT: '443' } });
    expect(c.relays).toEqual(['acme-relay']);
    expect(c.outlets[0]!.to).toEqual({ host: 'flag.local', port: 443 });
  });

  it('reads $$ as a literal $ and does not expand a substituted value again', () => {
    const c = parseConfig('policy:\n  resource-type: tcp-inlet\n  allow: price = "$$5" and x = "$V"\n', 'n.yaml', { variables: { V: '$HOME' } });
    expect(c.policies[0]!.allow).toBe('price = "$5" and x = "$HOME"');
  });

  it('takes the longest variable name after a bare $', () => {
    const e = configError('relay: $RELAY_NAME\n', { variables: { RELAY: 'x' } });
    expect(e.message).toContain('variable RELAY_NAME is not set');
    expect(parseConfig('relay: ${RELAY}_name\n', 'n.yaml', { variables: { RELAY: 'x' } }).relays).toEqual(['x_name']);
  });

  it('refuses a lone $ and a malformed ${...}', () => {
    expect(at(configError('relay: a$\n'))).toEqual(['POSTERN_CONFIG_INVALID', 1, 8]);
    expect(configError('relay: ${RELAY:-x}\n', { variables: { RELAY: 'r' } }).message).toContain('malformed variable reference');
    expect(configError('relay: ${RELAY\n', { variables: { RELAY: 'r' } }).message).toContain('malformed variable reference');
  });

  it('ignores inherited properties of the variables and the environment', () => {
    expect(configError('relay: $constructor\n', { variables: {}, env: {} }).code).toBe('POSTERN_CONFIG_VARIABLE');
  });

  it('does not interpolate keys', () => {
    expect(configError('$KEY: x\n', { variables: { KEY: 'relay' } }).message).toContain('unknown key "$KEY"');
  });

  it('validates after interpolating: a variable holding a bad address is an error at the value', () => {
    const e = configError('tcp-outlet:\n  from: github\n  to: ${ADDR}\n', { variables: { ADDR: 'github.local' } });
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 3, 7]);
    expect(e.message).toContain('no port');
  });
});

describe('errors point at the line and column', () => {
  it('unknown top-level key', () => {
    const e = configError('relay: saas-relay\ntcp-outlets:\n  from: saas\n');
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 2, 1]);
    expect(e.message).toBe('node.yaml:2:1: unknown key "tcp-outlets" in the config');
    expect(e.hint).toContain('tcp-outlet');
  });

  it('unknown nested key', () => {
    const e = configError('relay: saas-relay\ntcp-outlet:\n  from: saas\n  to: http-server:80\n  alow: inlet-to-saas\n');
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 5, 3]);
    expect(e.message).toContain('unknown key "alow" in tcp-outlet');
  });

  it('unknown key in the second entry of a list', () => {
    expect(at(configError('policy:\n  - resource-type: tcp-inlet\n    allow: a\n  - resource-type: tcp-inlet\n    allow: a\n    deny: b\n'))).toEqual([
      'POSTERN_CONFIG_INVALID',
      6,
      5,
    ]);
  });

  it('missing variable', () => {
    expect(at(configError('name: n\nrelay:\n  - a\n  - ${MISSING}\n'))).toEqual(['POSTERN_CONFIG_VARIABLE', 4, 5]);
  });

  it('bad port', () => {
    const e = configError('relay: saas-relay\ntcp-outlet:\n  from: saas\n  to: http-server:99999\n');
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 4, 7]);
    expect(e.message).toContain('above 65535');
    expect(at(configError('tcp-outlet:\n  from: saas\n  to: http-server:0\n'))).toEqual(['POSTERN_CONFIG_INVALID', 3, 7]);
  });

  it('bad relay name', () => {
    const e = configError('relay: [saas-relay, Bad_Relay]\n');
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 1, 21]);
    expect(e.message).toContain('"Bad_Relay" is not a valid relay name');
    expect(at(configError('tcp-inlet:\n  from: 127.0.0.1:0\n  via: -relay\n  to: saas\n'))).toEqual(['POSTERN_CONFIG_INVALID', 3, 8]);
    expect(at(configError(`relay: ${'a'.repeat(64)}\n`))).toEqual(['POSTERN_CONFIG_INVALID', 1, 8]);
  });

  it('YAML syntax error', () => {
    const e = configError('relay: saas-relay\ntcp-outlet:\n  from: saas\n to: http-server:80\n');
    expect(at(e)).toEqual(['POSTERN_CONFIG_YAML', 4, 1]);
    expect(e.message).toMatch(/^node\.yaml:4:1: YAML syntax error: /);
    expect(at(configError('relay: saas-relay\ntcp-outlet:\n  from: saas\n  to: a: b\n'))).toEqual(['POSTERN_CONFIG_YAML', 4, 7]);
  });

  it('a key written twice', () => {
    expect(at(configError('relay: a\ntcp-outlet:\n  from: x\n  to: h:1\ntcp-outlet:\n  from: y\n  to: h:2\n'))).toEqual(['POSTERN_CONFIG_YAML', 5, 1]);
  });

  it('an alias', () => {
    const e = configError('relay: &r saas-relay\ntcp-inlet:\n  from: 127.0.0.1:8000\n  via: *r\n  to: saas\n');
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 4, 8]);
    expect(e.message).toContain('alias *r');
  });

  it('an alias in a key or under an unknown key is refused all the same', () => {
    expect(configError('relay: &k relay\n*k : x\n').message).toContain('alias');
    expect(at(configError('x: &a [1]\ny: [*a, *a]\n'))).toEqual(['POSTERN_CONFIG_INVALID', 2, 5]);
  });

  it('a number where a string is needed', () => {
    const e = configError('tcp-outlet:\n  from: github\n  to: 80\n');
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 3, 7]);
    expect(e.message).toBe('node.yaml:3:7: tcp-outlet.to must be a string, but YAML reads 80 as a number');
    expect(e.hint).toContain('HOST:PORT');
    expect(at(configError('relay: 8080\n'))).toEqual(['POSTERN_CONFIG_INVALID', 1, 8]);
  });

  it('a mapping or list where a string is needed', () => {
    expect(at(configError('tcp-outlet:\n  from: github\n  to:\n    host: h\n'))).toEqual(['POSTERN_CONFIG_INVALID', 4, 5]);
    expect(at(configError('name: [a, b]\n'))).toEqual(['POSTERN_CONFIG_INVALID', 1, 7]);
  });

  it('a missing required key, an empty value, a bad resource type', () => {
    const missing = configError('tcp-inlet:\n  from: 127.0.0.1:0\n  to: saas\n');
    expect(at(missing)).toEqual(['POSTERN_CONFIG_INVALID', 2, 3]);
    expect(missing.message).toContain('has no "via"');
    expect(at(configError('tcp-outlet:\n  from:\n  to: h:1\n'))).toEqual(['POSTERN_CONFIG_INVALID', 2, 3]);
    expect(at(configError('policy:\n  resource-type: tcp-outlets\n  allow: x\n'))).toEqual(['POSTERN_CONFIG_INVALID', 2, 18]);
  });

  it('entries that are not mappings, and a top level that is not one', () => {
    expect(at(configError('tcp-outlet:\n  - saas\n'))).toEqual(['POSTERN_CONFIG_INVALID', 2, 5]);
    expect(at(configError('- relay: a\n'))).toEqual(['POSTERN_CONFIG_INVALID', 1, 1]);
  });

  it('duplicates: a relay twice, an outlet name twice, two inlets on one address', () => {
    expect(at(configError('relay: [a, b, a]\n'))).toEqual(['POSTERN_CONFIG_INVALID', 1, 15]);
    expect(at(configError('tcp-outlet:\n  - {from: a, to: "h:1"}\n  - {from: a, to: "h:2"}\n'))).toEqual(['POSTERN_CONFIG_INVALID', 3, 12]);
    expect(at(configError('tcp-inlet:\n  - {from: "127.0.0.1:80", via: r, to: a}\n  - {from: "127.0.0.1:80", via: r, to: b}\n'))).toEqual([
      'POSTERN_CONFIG_INVALID',
      3,
      12,
    ]);
    expect(parseConfig('tcp-inlet:\n  - {from: "127.0.0.1:0", via: r, to: a}\n  - {from: "127.0.0.1:0", via: r, to: b}\n', 'n.yaml').inlets).toHaveLength(2);
  });

  it('more than one YAML document, at the marker of the second', () => {
    expect(at(configError('relay: a\n---\nrelay: b\n'))).toEqual(['POSTERN_CONFIG_INVALID', 2, 1]);
  });
});

describe('limits and hostile input', () => {
  it('refuses a list of more than 256 entries at the first one too many', () => {
    const items = (n: number) => Array.from({ length: n }, (_, i) => `  - r${i}\n`).join('');
    expect(parseConfig(`relay:\n${items(256)}`, 'n.yaml').relays).toHaveLength(256);
    const e = configError(`relay:\n${items(257)}`);
    expect(at(e)).toEqual(['POSTERN_CONFIG_INVALID', 258, 5]);
    expect(e.message).toContain('more than 256');
  });

  it('refuses text over 1 MiB, counted in UTF-8 bytes', () => {
    expect(at(configError(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`))).toEqual(['POSTERN_CONFIG_INVALID', 1, 1]);
    expect(configError(`# ${'é'.repeat(MAX_CONFIG_BYTES / 2)}\n`).message).toContain('larger than');
  });

  it('refuses deep nesting without overflowing the stack', () => {
    for (const text of ['['.repeat(200_000), '{a: '.repeat(100_000), `${'- '.repeat(100_000)}x`, 'relay: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n']) {
      expect(configError(text).message).toContain('nested more than');
    }
  });

  it('a billion laughs is refused at its first alias', () => {
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      lol.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    expect(at(configError(`${lol.join('\n')}\n`))).toEqual(['POSTERN_CONFIG_INVALID', 2, 8]);
  });

  it('never throws anything but a ConfigError with a position and a hint', () => {
    const piece = fc.constantFrom('relay', 'tcp-outlet', 'tcp-inlet', 'policy', 'from', 'to', 'via', 'allow', 'resource-type', ': ', '\n', '  ', '- ', '[', ']', '{', '}', ',', '&a ', '*a', '!!str ', '"', "'", '#', '|', '$', '${X}', '$$', '---\n', '? ', 'h:1', '1', 'true', '~', '\t');
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.array(piece, { maxLength: 60 }).map((p) => p.join('')));
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseConfig(t, 'f.yaml', { variables: { X: 'x' } });
        } catch (e) {
          if (!(e instanceof ConfigError)) return false;
          return e.line >= 1 && e.column >= 1 && typeof e.hint === 'string' && e.hint.length > 0 && e.message.startsWith(`f.yaml:${e.line}:${e.column}: `);
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('loadConfigFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postern-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a file and names it in errors', async () => {
    const ok = join(dir, 'customer.yaml');
    await writeFile(ok, CUSTOMER_YAML);
    expect((await loadConfigFile(ok, { variables: { RELAY: 'acme-relay' }, env: { GITHUB_ADDRESS: 'github.local:80' } })).relays).toEqual(['acme-relay']);
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'relay: a\nrelays: b\n');
    await expect(loadConfigFile(bad)).rejects.toMatchObject({ code: 'POSTERN_CONFIG_INVALID', file: bad, line: 2, column: 1 });
  });

  it('reports a missing file, a directory, an oversized file and bytes that are not UTF-8', async () => {
    await expect(loadConfigFile(join(dir, 'nope.yaml'))).rejects.toMatchObject({ code: 'POSTERN_CONFIG_READ', line: 1, column: 1 });
    await expect(loadConfigFile(dir)).rejects.toMatchObject({ code: 'POSTERN_CONFIG_READ' });
    const big = join(dir, 'big.yaml');
    await writeFile(big, Buffer.alloc(MAX_CONFIG_BYTES + 1, 0x20));
    await expect(loadConfigFile(big)).rejects.toMatchObject({ code: 'POSTERN_CONFIG_INVALID', message: expect.stringContaining('larger than') });
    const latin1 = join(dir, 'latin1.yaml');
    await writeFile(latin1, Buffer.from('relay: caf\xe9\n', 'latin1'));
    await expect(loadConfigFile(latin1)).rejects.toMatchObject({ code: 'POSTERN_CONFIG_INVALID', message: expect.stringContaining('UTF-8') });
  });
});

describe('parseHostPort', () => {
  it('takes DNS names, IPv4 and bracketed IPv6', () => {
    expect(parseHostPort('github.local:80')).toEqual({ host: 'github.local', port: 80 });
    expect(parseHostPort('http-server:80')).toEqual({ host: 'http-server', port: 80 });
    expect(parseHostPort('my_service:8080')).toEqual({ host: 'my_service', port: 8080 });
    expect(parseHostPort('localhost:65535')).toEqual({ host: 'localhost', port: 65535 });
    expect(parseHostPort('10.0.0.1:443')).toEqual({ host: '10.0.0.1', port: 443 });
    expect(parseHostPort('[::1]:8000')).toEqual({ host: '::1', port: 8000 });
    expect(parseHostPort('[2001:db8::1]:22')).toEqual({ host: '2001:db8::1', port: 22 });
    expect(parseHostPort('0.0.0.0:0', { allowZeroPort: true })).toEqual({ host: '0.0.0.0', port: 0 });
  });

  it.each([
    ['github.local', 'no port'],
    ['github.local:', 'not a decimal number'],
    [':80', 'no host'],
    ['::1:80', 'in brackets'],
    ['[::1:80', 'unclosed'],
    ['[1.2.3.4]:80', 'not an IPv6 address'],
    ['256.1.1.1:80', 'not an IPv4 address'],
    ['1.2.3:80', 'not an IPv4 address'],
    ['01.2.3.4:80', 'not an IPv4 address'],
    ['bad host:80', 'not a DNS name'],
    ['-lead.example:80', 'not a DNS name'],
    ['a..b:80', 'not a DNS name'],
    [`${'a'.repeat(64)}.example:80`, 'not a DNS name'],
    ['host:65536', 'above 65535'],
    ['host:080', 'not a decimal number'],
    ['host:+80', 'not a decimal number'],
    ['host:8o', 'not a decimal number'],
    ['host:123456', 'not a decimal number'],
    ['host:0', 'port 0'],
    [' host:80', 'not a DNS name'],
  ])('refuses %j (%s)', (text, why) => {
    const e = thrown(() => parseHostPort(text));
    expect(e.code).toBe('POSTERN_BAD_ADDRESS');
    expect(e.message).toContain(why);
    expect(e.hint).toContain('HOST:PORT');
  });

  it('formats back to the text it parsed', () => {
    for (const t of ['github.local:80', '10.0.0.1:443', '[::1]:8000', '[fe80::1%eth0]:9']) expect(formatHostPort(parseHostPort(t))).toBe(t);
    expect(formatHostPort({ host: '127.0.0.1', port: 0 })).toBe('127.0.0.1:0');
  });
});

describe('parseVariableFlags', () => {
  it('splits at the first "=" and lets a later flag win', () => {
    expect({ ...parseVariableFlags(['RELAY=acme-relay', 'GITHUB_ADDRESS=github.local:80', 'Q=a=b', 'EMPTY=', 'RELAY=other']) }).toEqual({
      RELAY: 'other',
      GITHUB_ADDRESS: 'github.local:80',
      Q: 'a=b',
      EMPTY: '',
    });
    expect({ ...parseVariableFlags([]) }).toEqual({});
  });

  it('takes __proto__ as a plain name', () => {
    const v = parseVariableFlags(['__proto__=x']);
    expect(Object.hasOwn(v, '__proto__')).toBe(true);
    expect(parseConfig('relay: $__proto__\n', 'n.yaml', { variables: v }).relays).toEqual(['x']);
  });

  it.each([['RELAY'], ['=x'], ['1X=y'], ['A-B=c'], ['A B=c']])('refuses %j', (flag) => {
    expect(thrown(() => parseVariableFlags([flag])).code).toBe('POSTERN_BAD_VARIABLE');
  });
});
