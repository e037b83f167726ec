/**
 * The branded artifacts are data: templates/<artifact>/*.hbs rendered with
 * strict Handlebars (a missing field is an error, never an empty string)
 * over one context built from the validated Brand. No HTML escaping: none of
 * the outputs is HTML; shell and YAML values go through the `sh` and `yaml`
 * helpers instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { PosternError } from '../../protocol/errors.ts';
import type { Brand } from './brand.ts';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

/** A binary built for one target, as the templates see it. */
export interface TemplateTarget {
  target: string;
  file: string;
  sha256: string;
  size: number;
  sizeMiB: string;
}

export interface TemplateExtras {
  version: string;
  targets: TemplateTarget[];
  /** The path the systemd unit runs (ExecStart). */
  binaryPath: string;
}

export interface TemplateFile {
  /** e.g. `install/install.sh.hbs`. */
  template: string;
  /** The output's file name, e.g. `install.sh`, `initech-agent.service`. */
  output: string;
  mode: number;
}

/** POSIX shell single-quoting: safe for any string. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

const hb = Handlebars.create();
hb.registerHelper('sh', (v: unknown) => {
  if (typeof v !== 'string') throw new PosternError('POSTERN_TEMPLATE', `sh helper: expected a string, got ${typeof v}`);
  return shQuote(v);
});
hb.registerHelper('yaml', (v: unknown) => {
  if (typeof v !== 'string') throw new PosternError('POSTERN_TEMPLATE', `yaml helper: expected a string, got ${typeof v}`);
  return JSON.stringify(v);
});
hb.registerHelper('upper', (v: unknown) => String(v).toUpperCase());

/** Every template, with the file name it renders to. */
export function templateFiles(brand: Brand, dir = TEMPLATES_DIR): TemplateFile[] {
  const out: TemplateFile[] = [];
  for (const artifact of readdirSync(dir, { withFileTypes: true })) {
    if (!artifact.isDirectory()) continue;
    for (const f of readdirSync(join(dir, artifact.name)).sort()) {
      if (!f.endsWith('.hbs')) continue;
      const name = f.slice(0, -'.hbs'.length);
      out.push({
        template: `${artifact.name}/${f}`,
        output: name.startsWith('agent.') ? `${brand.service.name}${name.slice('agent'.length)}` : name,
        mode: name.endsWith('.sh') ? 0o755 : 0o644,
      });
    }
  }
  return out.sort((a, b) => a.template.localeCompare(b.template));
}

export function templateContext(brand: Brand, extras: TemplateExtras): Record<string, unknown> {
  const c = brand.customerConfig;
  const variables = [...(c.inlet !== null ? [c.inlet] : []), ...c.outlets].map((v) => ({ name: v.variable, default: v.default, description: v.description }));
  return {
    ...brand,
    version: extras.version,
    binaryPath: extras.binaryPath,
    targets: extras.targets,
    targetList: extras.targets.map((t) => t.target).join(' '),
    variables,
    requiredVariables: variables.filter((v) => v.default === null),
    serviceStateDirectoryName: brand.service.stateDir.slice('/var/lib/'.length),
    unitFile: `${brand.service.name}.service`,
  };
}

export function renderTemplate(template: string, context: Record<string, unknown>, dir = TEMPLATES_DIR): string {
  const source = readFileSync(join(dir, template), 'utf8');
  try {
    return hb.compile(source, { strict: true, noEscape: true })(context);
  } catch (e) {
    throw new PosternError('POSTERN_TEMPLATE', `cannot render templates/${template}: ${e instanceof Error ? e.message : String(e)}`, 'every field the template uses must be in the brand; see docs/branding.md', { cause: e });
  }
}

/** Render every template; the outputs in template order. */
export function renderAll(brand: Brand, extras: TemplateExtras, dir = TEMPLATES_DIR): (TemplateFile & { content: string })[] {
  const context = templateContext(brand, extras);
  return templateFiles(brand, dir).map((t) => ({ ...t, content: renderTemplate(t.template, context, dir) }));
}
