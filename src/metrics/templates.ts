import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  API_VERSION,
  METRIC_TEMPLATE_KIND,
  type Canary,
  type MeshProvider,
  type MetricSpec,
  type MetricTemplate,
} from '../api/canary.js';
import { RouteshiftError, throwIfAborted } from '../core/errors.js';
import { formatPromDuration, parseDuration } from '../core/duration.js';
import { fromRoot } from '../core/paths.js';
import { validateTemplateQuery } from './promql.js';
import { BUILTIN_VARIABLES, renderTemplate, TemplateError } from './template.js';

/**
 * MetricTemplates: the built-ins shipped in analysis/templates, files from a mounted ConfigMap, and
 * objects the controller reads from the cluster. `resolveMetric` turns one Canary metric into the
 * concrete PromQL for each side, or a typed error naming the spec path to fix.
 */

export const BUILTIN_METRICS = ['request-success-rate', 'request-duration'] as const;
export type BuiltinMetric = (typeof BUILTIN_METRICS)[number];
export const MESH_PROVIDERS: readonly MeshProvider[] = ['istio', 'linkerd', 'cilium', 'kuma', 'traefik', 'app'];

export class TemplateNotFoundError extends RouteshiftError {
  constructor(message: string, path: string) {
    super('TemplateNotFound', message, { path });
  }
}

export class TemplateLoadError extends RouteshiftError {
  constructor(message: string, file: string, cause?: unknown) {
    super('InvalidTemplateFile', `${file}: ${message}`, cause === undefined ? { path: file } : { path: file, cause });
  }
}

/** A metric whose spec cannot be measured as written (e.g. sequential mode without counts). */
export class MetricSpecError extends RouteshiftError {
  constructor(message: string, path: string) {
    super('InvalidMetric', message, { path });
  }
}

export class PromQLError extends RouteshiftError {
  readonly position: { line: number; column: number; offset: number } | undefined;
  constructor(message: string, path: string, position?: { line: number; column: number; offset: number }) {
    super('InvalidPromQL', message, { path });
    this.position = position;
  }
}

/** Templates by namespace and name; built-ins and file templates have no namespace and serve every Canary. */
export class TemplateSet {
  private readonly byKey = new Map<string, MetricTemplate>();
  private changes = 0;

  constructor(templates: Iterable<MetricTemplate> = []) {
    for (const t of templates) this.add(t);
  }

  /** Adds or replaces; a later template of the same namespace/name wins (a ConfigMap can override a built-in). */
  add(template: MetricTemplate): this {
    this.byKey.set(key(template.metadata.namespace, template.metadata.name), template);
    this.changes++;
    return this;
  }

  remove(name: string, namespace?: string): boolean {
    this.changes++;
    return this.byKey.delete(key(namespace, name));
  }

  /** Grows on every add and remove: results computed from the set are stale once it moves. */
  get revision(): number {
    return this.changes;
  }

  /** In `namespace` first, then the cluster-wide (built-in or file) template of that name. */
  get(name: string, namespace?: string): MetricTemplate | undefined {
    return (namespace !== undefined ? this.byKey.get(key(namespace, name)) : undefined) ?? this.byKey.get(key(undefined, name));
  }

  builtin(provider: MeshProvider, metric: BuiltinMetric): MetricTemplate | undefined {
    return this.byKey.get(key(undefined, `${provider}-${metric}`));
  }

  list(): MetricTemplate[] {
    return [...this.byKey.values()];
  }

  /** A copy, so a caller (e.g. validate with templates from the same file) can add without touching the shared set. */
  clone(): TemplateSet {
    return new TemplateSet(this.byKey.values());
  }
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function toTemplates(text: string, file: string): MetricTemplate[] {
  const out: MetricTemplate[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new TemplateLoadError(doc.errors[0]?.message ?? 'YAML error', file);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const obj = value as Partial<MetricTemplate>;
    if (obj.kind !== METRIC_TEMPLATE_KIND || !obj.metadata?.name || typeof obj.spec?.query !== 'string') {
      throw new TemplateLoadError(`expected ${API_VERSION} MetricTemplate documents with metadata.name and spec.query`, file);
    }
    out.push(obj as MetricTemplate);
  }
  return out;
}

let builtinCache: MetricTemplate[] | undefined;

/** The built-in templates shipped with the package (and copied into the image). */
export function builtinTemplatesDir(): string {
  return fromRoot('analysis', 'templates');
}

/** The templates in analysis/templates, read once (synchronously: it happens at start-up). */
export function loadBuiltinTemplates(dir = builtinTemplatesDir()): MetricTemplate[] {
  if (dir === builtinTemplatesDir() && builtinCache) return builtinCache.map((t) => structuredClone(t));
  const templates: MetricTemplate[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(name)) continue;
    const file = join(dir, name);
    if (!statSync(file).isFile()) continue;
    templates.push(...toTemplates(readFileSync(file, 'utf8'), file));
  }
  if (dir === builtinTemplatesDir()) builtinCache = templates.map((t) => structuredClone(t));
  return templates;
}

/**
 * Templates from files or directories (a ConfigMap mounted as a volume: its `..data` links are skipped,
 * the visible names point at the current data). YAML or JSON, multi-document.
 */
export async function loadTemplateFiles(paths: readonly string[], signal?: AbortSignal): Promise<MetricTemplate[]> {
  const out: MetricTemplate[] = [];
  for (const p of paths) {
    throwIfAborted(signal, 'loading templates');
    let files: string[];
    try {
      files = (await stat(p)).isDirectory()
        ? (await readdir(p))
            .filter((n) => !n.startsWith('..') && ['.yaml', '.yml', '.json'].includes(extname(n)))
            .sort()
            .map((n) => join(p, n))
        : [p];
    } catch (err) {
      throw new TemplateLoadError(`cannot read: ${(err as Error).message}`, p, err);
    }
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, { encoding: 'utf8', ...(signal ? { signal } : {}) });
      } catch (err) {
        throwIfAborted(signal, 'loading templates');
        throw new TemplateLoadError(`cannot read: ${(err as Error).message}`, file, err);
      }
      out.push(...toTemplates(text, file));
    }
  }
  return out;
}

export interface LoadTemplatesOptions {
  /** Files or directories with more templates (they override built-ins of the same name). */
  extraPaths?: readonly string[];
  /** MetricTemplate objects read from the cluster (namespaced). */
  objects?: readonly MetricTemplate[];
  signal?: AbortSignal;
}

/** Built-ins, then extra files, then cluster objects. */
export async function loadTemplates(opts: LoadTemplatesOptions = {}): Promise<TemplateSet> {
  const set = new TemplateSet(loadBuiltinTemplates());
  for (const t of await loadTemplateFiles(opts.extraPaths ?? [], opts.signal)) set.add(t);
  for (const t of opts.objects ?? []) set.add(t);
  return set;
}

// ---------------------------------------------------------------------------------------------
// Resolution

export type Side = 'canary' | 'stable';

/** Concrete PromQL for one side of one metric. */
export interface SideQueries {
  /** Template name, or "inline" for a query in the Canary. */
  template: string;
  query: string;
  requestsQuery?: string;
  totalQuery?: string;
  badQuery?: string;
  /** The template's own Prometheus address, when it names one. */
  address?: string;
}

export interface ResolvedMetric {
  name: string;
  /** e.g. spec.analysis.metrics[1] */
  path: string;
  spec: MetricSpec;
  /** Prometheus duration of the window. */
  window: string;
  canary: SideQueries;
  stable: SideQueries;
  /** The stable's counts over the sequential metric's stableBaseline window (rendered with that window). */
  baseline?: { window: string; totalQuery: string; badQuery: string; address?: string };
}

export interface ResolveOptions {
  /** Root Service of the route's parentRef, for `{{ parent }}`. */
  parent?: string;
  /**
   * Offline (validate): variables that only the cluster knows (`parent`) get a stand-in instead of
   * an error, so a file can be checked without a cluster.
   */
  offline?: boolean;
}

type Reporter = (err: RouteshiftError) => void;

const QUERY_FIELDS = ['query', 'requestsQuery', 'totalQuery', 'badQuery'] as const;
type QueryField = (typeof QUERY_FIELDS)[number];

function isBuiltinMetric(name: string): name is BuiltinMetric {
  return (BUILTIN_METRICS as readonly string[]).includes(name);
}

/** Variables for one side; `undefined` values are known names with no value here. */
export function sideVariables(
  canary: Canary,
  metric: MetricSpec,
  side: Side,
  window: string,
  opts: ResolveOptions = {},
): Record<string, string | undefined> {
  const spec = canary.spec;
  const routeNs = spec.routeRef.namespace ?? canary.metadata.namespace ?? 'default';
  const svc = side === 'canary' ? spec.canary : spec.stable;
  const user = metric.templateVariables ?? {};
  const boundMs = metric.sequential?.latencyBoundMs;
  const vars: Record<string, string | undefined> = {
    ...user,
    namespace: svc.namespace ?? routeNs,
    target: svc.name,
    service: svc.name,
    canary: spec.canary.name,
    stable: spec.stable.name,
    route: spec.routeRef.name,
    interval: window,
    workload: user[side === 'canary' ? 'canaryWorkload' : 'stableWorkload'] ?? svc.name,
    parent: opts.parent ?? (opts.offline ? 'parent' : undefined),
    latencyBound: boundMs !== undefined ? String(boundMs) : undefined,
    latencyBoundSeconds: boundMs !== undefined ? String(boundMs / 1000) : undefined,
    matchRule: spec.analysis?.matchRule !== undefined ? String(spec.analysis.matchRule) : undefined,
  };
  return vars;
}

/** Resolves metric `index` (or the given metric) of `canary`; throws the first problem as a typed error. */
export function resolveMetric(
  canary: Canary,
  metric: MetricSpec | number,
  defaultProvider: MeshProvider = 'istio',
  templates: TemplateSet,
  opts: ResolveOptions = {},
): ResolvedMetric {
  const index = typeof metric === 'number' ? metric : (canary.spec.analysis.metrics ?? []).indexOf(metric);
  const spec = typeof metric === 'number' ? canary.spec.analysis.metrics?.[metric] : metric;
  if (!spec) throw new MetricSpecError(`no metric ${String(metric)}`, 'spec.analysis.metrics');
  let first: RouteshiftError | undefined;
  const resolved = resolveInto(canary, spec, index < 0 ? 0 : index, defaultProvider, templates, opts, (e) => {
    first ??= e;
  });
  if (first) throw first;
  return resolved as ResolvedMetric;
}

/** Every problem of metric `index`, for validation (resolution continues past the first). */
export function metricProblems(
  canary: Canary,
  index: number,
  defaultProvider: MeshProvider,
  templates: TemplateSet,
  opts: ResolveOptions = { offline: true },
): RouteshiftError[] {
  const spec = canary.spec.analysis.metrics?.[index];
  if (!spec) return [];
  const problems: RouteshiftError[] = [];
  resolveInto(canary, spec, index, defaultProvider, templates, opts, (e) => problems.push(e));
  return problems;
}

interface SideSource {
  template: string;
  /** Where problems in this source's queries are reported. */
  path: string;
  queries: Partial<Record<QueryField, string>>;
  address?: string;
}

function resolveInto(
  canary: Canary,
  metric: MetricSpec,
  index: number,
  defaultProvider: MeshProvider,
  templates: TemplateSet,
  opts: ResolveOptions,
  report: Reporter,
): ResolvedMetric | undefined {
  const path = `spec.analysis.metrics[${index}]`;
  let ok = true;
  const fail = (e: RouteshiftError): void => {
    ok = false;
    report(e);
  };

  let window = '1m';
  try {
    window = formatPromDuration(
      parseDuration(metric.interval ?? canary.spec.analysis.interval, metric.interval ? `${path}.interval` : 'spec.analysis.interval'),
    );
    if (metric.mode === 'sequential') window = sequentialWindow(canary.spec.analysis.interval);
  } catch (err) {
    fail(err as RouteshiftError);
  }

  for (const [k] of Object.entries(metric.templateVariables ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      fail(new MetricSpecError(`template variable "${k}" is not a valid name (letters, digits, _)`, `${path}.templateVariables.${k}`));
    } else if ((BUILTIN_VARIABLES as readonly string[]).includes(k)) {
      fail(
        new MetricSpecError(
          `template variable "${k}" would shadow the built-in one${k === 'workload' ? ' (use canaryWorkload / stableWorkload)' : ''}`,
          `${path}.templateVariables.${k}`,
        ),
      );
    }
  }

  const sources = pickSources(canary, metric, path, defaultProvider, templates, fail);
  if (!sources) return undefined;

  const sequential = metric.mode === 'sequential';
  const needRequests = (metric.minRequests ?? 0) > 0;
  const sides = {} as Record<Side, SideQueries>;
  const reported = new Set<string>();
  for (const side of ['canary', 'stable'] as const) {
    const src = sources[side];
    const vars = sideVariables(canary, metric, side, window, opts);
    const needed: QueryField[] = ['query'];
    if (needRequests && side === 'canary') needed.push('requestsQuery');
    if (sequential) needed.push('totalQuery', 'badQuery');
    const out: Partial<SideQueries> = { template: src.template, ...(src.address ? { address: src.address } : {}) };
    for (const field of needed) {
      let template = src.queries[field];
      let fieldPath = src.path;
      if (field === 'requestsQuery' && metric.requestsQuery) {
        template = metric.requestsQuery;
        fieldPath = `${path}.requestsQuery`;
      }
      if (template === undefined) {
        if (side === 'stable' && sources.stable === sources.canary) continue; // reported once, for the canary side
        ok = false;
        if (field === 'requestsQuery') {
          fail(new MetricSpecError(`minRequests needs a request count: set requestsQuery (template ${src.template} has none)`, `${path}.minRequests`));
        } else {
          fail(
            new MetricSpecError(
              `mode sequential needs totalQuery and badQuery, and ${src.template === 'inline' ? 'an inline query has' : `template ${src.template} has`} no ${field}`,
              `${path}.mode`,
            ),
          );
        }
        continue;
      }
      // The same template renders for both sides with the same variable names: report its problems once.
      const seen = `${fieldPath}\0${template}`;
      const quiet = side === 'stable' && reported.has(seen);
      reported.add(seen);
      const rendered = renderChecked(
        template,
        vars,
        {
          name: src.template === 'inline' ? 'the inline query' : `template ${src.template} (${field})`,
          path: fieldPath,
          metricPath: path,
        },
        quiet ? undefined : fail,
      );
      if (rendered === undefined) ok = false;
      if (rendered !== undefined) out[field] = rendered;
    }
    sides[side] = out as SideQueries;
  }
  if (!ok) return undefined;
  const out: ResolvedMetric = { name: metric.name, path, spec: metric, window, canary: sides.canary, stable: sides.stable };
  const baseline = sequential ? metric.sequential?.stableBaseline : undefined;
  if (baseline !== undefined) {
    // Rendered like the stable's counts, over the baseline window: the template already passed above, so only
    // the duration can be wrong here (validateDecisionSettings reports that too, at the same path).
    try {
      const bw = formatPromDuration(parseDuration(baseline, `${path}.sequential.stableBaseline`));
      const vars = sideVariables(canary, metric, 'stable', bw, opts);
      const src = sources.stable;
      const render = (field: 'totalQuery' | 'badQuery'): string | undefined =>
        renderChecked(src.queries[field] ?? '', vars, { name: `template ${src.template} (${field})`, path: src.path, metricPath: path }, undefined);
      const totalQuery = render('totalQuery');
      const badQuery = render('badQuery');
      if (totalQuery !== undefined && badQuery !== undefined) out.baseline = { window: bw, totalQuery, badQuery, ...(src.address ? { address: src.address } : {}) };
    } catch (err) {
      fail(err as RouteshiftError);
      return undefined;
    }
  }
  return out;
}

/**
 * The window of a sequential metric's counts: exactly the analysis interval. The test adds up each tick's
 * `increase(...[window])`, and ticks come one analysis interval apart, so a longer window would count the
 * same requests twice (validateCanary rejects a metric `interval` that differs; this holds without it).
 * Not rounded up to whole seconds as formatPromDuration does: 1500ms must not become 2s.
 */
export function sequentialWindow(analysisInterval: string): string {
  const ms = Math.max(1, Math.round(parseDuration(analysisInterval, 'spec.analysis.interval')));
  return ms % 1000 === 0 ? formatPromDuration(ms) : `${ms}ms`;
}

function pickSources(
  canary: Canary,
  metric: MetricSpec,
  path: string,
  defaultProvider: MeshProvider,
  templates: TemplateSet,
  fail: Reporter,
): { canary: SideSource; stable: SideSource } | undefined {
  const perSide = metric.canaryProvider !== undefined || metric.stableProvider !== undefined;
  if (metric.templateRef && metric.query) {
    fail(new MetricSpecError('set either templateRef or query, not both', path));
    return undefined;
  }
  if (metric.templateRef || metric.query) {
    if (perSide) {
      fail(
        new MetricSpecError(
          'canaryProvider/stableProvider pick built-in templates; they apply only to request-success-rate and request-duration without templateRef or query',
          `${path}.${metric.canaryProvider !== undefined ? 'canaryProvider' : 'stableProvider'}`,
        ),
      );
      return undefined;
    }
    if (metric.query) {
      const src: SideSource = { template: 'inline', path: `${path}.query`, queries: { query: metric.query } };
      return { canary: src, stable: src };
    }
    const ref = metric.templateRef as { name: string; namespace?: string };
    const ns = ref.namespace ?? canary.metadata.namespace;
    const t = templates.get(ref.name, ns);
    if (!t) {
      fail(
        new TemplateNotFoundError(
          `MetricTemplate "${ref.name}" not found${ns ? ` in namespace ${ns}` : ''} nor among the built-in templates`,
          `${path}.templateRef.name`,
        ),
      );
      return undefined;
    }
    const src = fromTemplate(t, `${path}.templateRef`);
    return { canary: src, stable: src };
  }
  if (!isBuiltinMetric(metric.name)) {
    fail(
      new MetricSpecError(
        `metric "${metric.name}" needs templateRef or query (only ${BUILTIN_METRICS.join(' and ')} have built-in templates)`,
        path,
      ),
    );
    return undefined;
  }
  const meshDefault = canary.spec.provider ?? defaultProvider;
  const pick = (provider: MeshProvider, field: string): SideSource | undefined => {
    const t = templates.builtin(provider, metric.name as BuiltinMetric);
    if (!t) {
      fail(new TemplateNotFoundError(`no built-in template ${provider}-${metric.name}`, field));
      return undefined;
    }
    return fromTemplate(t, `${path}.name`);
  };
  const c = pick(metric.canaryProvider ?? meshDefault, metric.canaryProvider ? `${path}.canaryProvider` : `${path}.name`);
  const sameProvider = (metric.stableProvider ?? meshDefault) === (metric.canaryProvider ?? meshDefault);
  const s = sameProvider ? c : pick(metric.stableProvider ?? meshDefault, metric.stableProvider ? `${path}.stableProvider` : `${path}.name`);
  if (!c || !s) return undefined;
  return { canary: c, stable: s };
}

function fromTemplate(t: MetricTemplate, path: string): SideSource {
  const queries: Partial<Record<QueryField, string>> = {};
  for (const f of QUERY_FIELDS) {
    const q = t.spec[f];
    if (typeof q === 'string') queries[f] = q;
  }
  return {
    template: t.metadata.namespace ? `${t.metadata.namespace}/${t.metadata.name}` : t.metadata.name,
    path,
    queries,
    ...(t.spec.provider?.address ? { address: t.spec.provider.address } : {}),
  };
}

function renderChecked(
  template: string,
  vars: Record<string, string | undefined>,
  ctx: { name: string; path: string; metricPath: string },
  report: Reporter | undefined,
): string | undefined {
  const given = Object.fromEntries(Object.entries(vars).filter(([, v]) => v !== undefined)) as Record<string, string>;
  // Unknown variables and parse errors first, with positions in the template.
  const check = validateTemplateQuery(template, { vars: given, name: ctx.name });
  if (!check.ok) {
    if (check.code === 'InvalidPromQL') {
      const pos = check.position;
      report?.(new PromQLError(`${ctx.name}: ${check.message}${pos ? ` at line ${pos.line}, column ${pos.column}` : ''}`, ctx.path, pos));
    } else if (check.code === 'UnknownTemplateVariable') {
      report?.(
        new TemplateError('UnknownTemplateVariable', `${ctx.name}: unknown variable "${check.variable}" (add it to templateVariables)`, template, {
          path: ctx.path,
          ...(check.variable ? { variable: check.variable } : {}),
        }),
      );
    } else {
      report?.(new TemplateError('MalformedTemplate', `${ctx.name}: ${check.message}`, template, { path: ctx.path }));
    }
    return undefined;
  }
  try {
    return renderTemplate(template, vars, { name: ctx.name, path: ctx.path });
  } catch (err) {
    const e = err as TemplateError;
    if (e.code === 'MissingTemplateVariable' && e.variable?.startsWith('latencyBound')) {
      report?.(
        new TemplateError('MissingTemplateVariable', `${ctx.name} uses {{ ${e.variable} }}: set sequential.latencyBoundMs`, template, {
          path: `${ctx.metricPath}.sequential.latencyBoundMs`,
          variable: e.variable,
        }),
      );
    } else {
      report?.(e);
    }
    return undefined;
  }
}
