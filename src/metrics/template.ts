import { RouteshiftError } from '../core/errors.js';

/**
 * `{{ variable }}` placeholders in PromQL templates. Values are escaped for PromQL double-quoted
 * strings: Kubernetes names never need it, but user variables may contain `"` or `\`, and an
 * unescaped quote would let a variable rewrite the query.
 */

export type TemplateErrorCode = 'UnknownTemplateVariable' | 'MissingTemplateVariable' | 'MalformedTemplate';

export class TemplateError extends RouteshiftError {
  readonly variable: string | undefined;
  readonly template: string;
  constructor(code: TemplateErrorCode, message: string, template: string, opts?: { variable?: string; path?: string }) {
    super(code, message, opts?.path ? { path: opts.path } : undefined);
    this.variable = opts?.variable;
    this.template = template;
  }
}

/** Variables routeshift itself provides (see README of analysis/templates). */
export const BUILTIN_VARIABLES = [
  'namespace',
  /** The Service measured on this side (canary or stable). */
  'target',
  /** Alias of target. */
  'service',
  'canary',
  'stable',
  'route',
  /** Prometheus duration of the window, e.g. 1m. */
  'interval',
  /** Workload behind the measured Service; defaults to the Service name. */
  'workload',
  /** Root Service of the route's parentRef (GAMMA); only known when the controller has read the route. */
  'parent',
  /** sequential.latencyBoundMs in ms, and in seconds, as histogram `le` values. */
  'latencyBound',
  'latencyBoundSeconds',
  /** A/B: the A/B rule (spec.analysis.matchRule, its name or index), for data planes that label requests by route rule. */
  'matchRule',
] as const;

export type BuiltinVariable = (typeof BUILTIN_VARIABLES)[number];

/** templateVariables keys that override `workload` for one side (the default is the Service name). */
export const SIDE_WORKLOAD_VARIABLES = ['canaryWorkload', 'stableWorkload'] as const;

export interface Placeholder {
  name: string;
  /** Offsets of `{{ ... }}` in the template. */
  start: number;
  end: number;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every placeholder in order; malformed ones (`{{ a b }}`, `{{}}`, a lone `{{`) throw. */
export function placeholders(template: string, opts?: { name?: string; path?: string }): Placeholder[] {
  const out: Placeholder[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1] as string;
    if (!IDENT.test(name)) {
      throw new TemplateError(
        'MalformedTemplate',
        `${where(opts)}placeholder "${m[0]}" is not a variable name`,
        template,
        opts?.path ? { path: opts.path } : undefined,
      );
    }
    out.push({ name, start: m.index, end: m.index + m[0].length });
  }
  const stripped = template.replace(PLACEHOLDER, '');
  const stray = stripped.indexOf('{{');
  if (stray >= 0 || stripped.includes('}}')) {
    throw new TemplateError(
      'MalformedTemplate',
      `${where(opts)}unbalanced "{{" or "}}" in template`,
      template,
      opts?.path ? { path: opts.path } : undefined,
    );
  }
  return out;
}

/** Escapes a value for use inside a PromQL double-quoted string (also harmless outside one for names and numbers). */
export function escapePromQLString(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

function where(opts?: { name?: string }): string {
  return opts?.name ? `template ${opts.name}: ` : '';
}

export interface RenderOptions {
  /** Template name for messages (e.g. `istio-request-success-rate` or `inline query`). */
  name?: string;
  /** Spec path for errors. */
  path?: string;
  /** Names that are valid but have no value here: rendering one gives MissingTemplateVariable. */
  known?: readonly string[];
}

export interface Rendered {
  text: string;
  /** For each substituted placeholder: where it is in the output and where it was in the template. */
  map: Array<{ outStart: number; outEnd: number; inStart: number; inEnd: number }>;
}

/** Renders `template`, failing on a variable that is neither in `vars` nor a known-but-unset name. */
export function renderTemplate(template: string, vars: Readonly<Record<string, string | undefined>>, opts: RenderOptions = {}): string {
  return renderWithMap(template, vars, opts).text;
}

export function renderWithMap(template: string, vars: Readonly<Record<string, string | undefined>>, opts: RenderOptions = {}): Rendered {
  let text = '';
  let last = 0;
  const map: Rendered['map'] = [];
  for (const p of placeholders(template, opts)) {
    const value = Object.hasOwn(vars, p.name) ? vars[p.name] : undefined;
    if (value === undefined) {
      const isKnown = Object.hasOwn(vars, p.name) || (opts.known ?? []).includes(p.name);
      const pathOpt = { variable: p.name, ...(opts.path ? { path: opts.path } : {}) };
      if (isKnown) {
        throw new TemplateError(
          'MissingTemplateVariable',
          `${where(opts)}variable "${p.name}" has no value here${p.name === 'parent' ? ' (the route has no Service parentRef)' : ''}${
            p.name.startsWith('latencyBound') ? ' (set sequential.latencyBoundMs)' : ''
          }`,
          template,
          pathOpt,
        );
      }
      throw new TemplateError(
        'UnknownTemplateVariable',
        `${where(opts)}unknown variable "${p.name}" in "${template}" (known: ${Object.keys(vars).sort().join(', ')}; add it to templateVariables)`,
        template,
        pathOpt,
      );
    }
    text += template.slice(last, p.start);
    const escaped = escapePromQLString(value);
    map.push({ outStart: text.length, outEnd: text.length + escaped.length, inStart: p.start, inEnd: p.end });
    text += escaped;
    last = p.end;
  }
  text += template.slice(last);
  return { text, map };
}

/** Maps an offset in rendered text back to the template (inside a substituted value → the placeholder's start). */
export function toTemplateOffset(rendered: Rendered, offset: number): number {
  let shift = 0;
  for (const m of rendered.map) {
    if (offset < m.outStart) break;
    if (offset < m.outEnd) return m.inStart;
    shift = m.inEnd - m.outEnd;
  }
  return offset + shift;
}

/** 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number; offset: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1, offset };
}
