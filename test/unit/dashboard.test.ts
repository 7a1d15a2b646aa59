/**
 * deploy/grafana/routeshift.json is a working dashboard: valid JSON, panels with unique ids laid out on
 * the 24-column grid without overlapping, every query PromQL that parses once Grafana's variables are
 * substituted, and every metric and label it selects one that routeshift (src/controller/metrics.ts) or
 * the sandbox mesh (src/sandbox/mesh/metrics.ts) exports. A misspelled metric or label would otherwise
 * show as an empty panel, not as an error.
 */
import { describe, expect, it } from '@jest/globals';
import { parser } from '@prometheus-io/lezer-promql';
import type { Registry } from 'prom-client';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ControllerMetrics } from '../../src/controller/metrics.js';
import { validatePromQL } from '../../src/metrics/promql.js';
import { MeshMetrics } from '../../src/sandbox/mesh/metrics.js';

const DASHBOARD = fileURLToPath(new URL('../../deploy/grafana/routeshift.json', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Series name -> label names it can carry. */
type Known = Map<string, Set<string>>;

/** Labels every scraped series gets from Prometheus itself. */
const TARGET_LABELS = ['job', 'instance'];

/** Sample values for Grafana's built-in variables, in the positions they are used (ranges). */
const BUILTIN_SAMPLES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '30s',
  __range: '3h',
  __interval_ms: '30000',
  __range_s: '10800',
};

/** Sample values for the dashboard's own variables (multi-value ones as Grafana renders them in a regex). */
const SAMPLES: Record<string, string> = {
  datasource: 'prometheus',
  namespace: 'shop',
  canary: '(podinfo|backend)',
  service: '(podinfo-v1|podinfo-v2)',
  reporter: 'destination',
};

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Label names of a prom-client metric. prom-client keeps them on the instance but does not type them;
 * failing here (rather than skipping the label check) tells whoever upgrades prom-client to adapt this.
 */
function labelNamesOf(registry: Registry, name: string): string[] {
  const metric = registry.getSingleMetric(name) as unknown as { labelNames?: unknown } | undefined;
  const labels = metric?.labelNames;
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) {
    throw new Error(`cannot read the label names of ${name} from prom-client`);
  }
  return labels as string[];
}

/** Series names a registry exposes: histograms as _bucket (with le), _sum and _count, never bare. */
async function exported(registry: Registry, into: Known = new Map()): Promise<Known> {
  for (const m of await registry.getMetricsAsJSON()) {
    const labels = [...labelNamesOf(registry, m.name), ...TARGET_LABELS];
    const type = String(m.type);
    if (type === 'histogram') {
      into.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      into.set(`${m.name}_sum`, new Set(labels));
      into.set(`${m.name}_count`, new Set(labels));
    } else if (type === 'summary') {
      into.set(m.name, new Set([...labels, 'quantile']));
      into.set(`${m.name}_sum`, new Set(labels));
      into.set(`${m.name}_count`, new Set(labels));
    } else {
      into.set(m.name, new Set(labels));
    }
  }
  return into;
}

async function knownSeries(): Promise<Known> {
  const known = await exported(new ControllerMetrics(false).registry);
  return exported(new MeshMetrics().registry, known);
}

/** Replaces $var, ${var}, ${var:format} and [[var]]; throws on a variable the dashboard does not define. */
function substitute(expr: string, defined: ReadonlySet<string>): string {
  return expr.replace(/\$\{(\w+)(?::[\w]+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c) as string;
    if (!defined.has(name) && !(name in BUILTIN_SAMPLES)) throw new Error(`unknown variable ${whole}`);
    const value = BUILTIN_SAMPLES[name] ?? SAMPLES[name];
    if (value === undefined) throw new Error(`no sample value for ${whole}: add one to SAMPLES in this test`);
    return value;
  });
}

interface Query {
  /** Where in the dashboard, e.g. panels[3].targets[0].expr. */
  path: string;
  expr: string;
}

/** Every `expr` anywhere (panel targets, nested row panels, annotations). */
function exprs(node: Json, path: string, out: Query[] = []): Query[] {
  if (Array.isArray(node)) node.forEach((v, i) => exprs(v, `${path}[${i}]`, out));
  else if (isObject(node)) {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'expr' && typeof v === 'string') out.push({ path: `${path}.expr`, expr: v });
      else exprs(v, `${path}.${k}`, out);
    }
  }
  return out;
}

/** The selector inside each query variable's `label_values(<selector>, <label>)`, as a query of its own. */
function variableQueries(dash: JsonObject): Query[] {
  const out: Query[] = [];
  const list = isObject(dash['templating']) ? dash['templating']['list'] : undefined;
  (Array.isArray(list) ? list : []).forEach((v, i) => {
    if (!isObject(v) || v['type'] !== 'query') return;
    const q = v['query'];
    const text = isObject(q) ? q['query'] : q;
    const path = `templating.list[${i}].query`;
    const m = typeof text === 'string' ? /^label_values\((.+),\s*([A-Za-z_]\w*)\)$/s.exec(text.trim()) : null;
    if (!m) out.push({ path, expr: `<not label_values(selector, label): ${JSON.stringify(text)}>` });
    else out.push({ path, expr: m[1] as string }, { path: `${path} (label)`, expr: `${m[1] as string} @label ${m[2] as string}` });
  });
  return out;
}

/** Problems with one query: parse errors, unknown series, label matchers naming labels the series lacks. */
function checkQuery(q: Query, defined: ReadonlySet<string>, known: Known): string[] {
  // The pseudo-query "<selector> @label <name>" checks that a variable lists a label its metric has.
  const labelCheck = /^(.*) @label (\w+)$/s.exec(q.expr);
  if (labelCheck) {
    const metric = /^\s*([A-Za-z_:][\w:]*)/.exec(labelCheck[1] as string)?.[1];
    const labels = metric ? known.get(metric) : undefined;
    return labels && !labels.has(labelCheck[2] as string) ? [`${q.path}: ${metric} has no label "${labelCheck[2]}"`] : [];
  }
  let text: string;
  try {
    text = substitute(q.expr, defined);
  } catch (err) {
    return [`${q.path}: ${(err as Error).message}`];
  }
  const parsed = validatePromQL(text);
  if (!parsed.ok) return [`${q.path}: ${parsed.message} at ${parsed.position.line}:${parsed.position.column} in ${text}`];
  const problems: string[] = [];
  for (const name of text.match(/\b(?:routeshift|istio)_[a-z_]+/g) ?? []) {
    if (!known.has(name)) problems.push(`${q.path}: ${name} is not a metric routeshift or the sandbox mesh exports`);
  }
  parser.parse(text).iterate({
    enter(node) {
      if (node.name !== 'VectorSelector') return undefined;
      const ident = node.node.getChild('Identifier');
      if (!ident) {
        problems.push(`${q.path}: a selector without a metric name: ${text.slice(node.from, node.to)}`);
        return false;
      }
      const metric = text.slice(ident.from, ident.to);
      const labels = known.get(metric);
      if (!labels) {
        problems.push(`${q.path}: ${metric} is not a metric routeshift or the sandbox mesh exports`);
        return false;
      }
      const matchers = node.node.getChild('LabelMatchers');
      for (let m = matchers?.firstChild ?? null; m; m = m.nextSibling) {
        const label = m.getChild('LabelName');
        if (!label) continue;
        const labelName = text.slice(label.from, label.to);
        if (!labels.has(labelName)) problems.push(`${q.path}: ${metric} has no label "${labelName}"`);
      }
      return false;
    },
  });
  return [...new Set(problems)];
}

interface Box {
  id: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Problems with the panel list: ids, gridPos, overlaps, datasource, targets. */
function checkPanels(dash: JsonObject): string[] {
  const problems: string[] = [];
  const seen = new Set<number>();
  const boxes: Box[] = [];
  const walk = (list: Json | undefined, where: string, collapsedRow: boolean): void => {
    if (!Array.isArray(list)) {
      problems.push(`${where}: panels is not a list`);
      return;
    }
    list.forEach((p, i) => {
      const at = `${where}[${i}]`;
      if (!isObject(p)) {
        problems.push(`${at}: not an object`);
        return;
      }
      const id = p['id'];
      if (typeof id !== 'number' || !Number.isInteger(id)) problems.push(`${at}: id missing or not an integer`);
      else if (seen.has(id)) problems.push(`${at}: id ${id} used twice`);
      else seen.add(id);
      const g = p['gridPos'];
      const num = (k: string): number | undefined => (isObject(g) && typeof g[k] === 'number' ? (g[k] as number) : undefined);
      const [x, y, w, h] = [num('x'), num('y'), num('w'), num('h')];
      if (x === undefined || y === undefined || w === undefined || h === undefined) problems.push(`${at}: gridPos needs numeric x, y, w, h`);
      else if (x < 0 || y < 0 || w < 1 || h < 1 || x + w > 24) problems.push(`${at}: gridPos ${JSON.stringify(g)} is off the 24-column grid`);
      else if (!collapsedRow && typeof id === 'number') boxes.push({ id, x, y, w, h });
      if (typeof p['title'] !== 'string' || !p['title']) problems.push(`${at}: no title`);
      if (p['type'] === 'row') {
        if (p['collapsed'] === true) walk(p['panels'], `${at}.panels`, true);
        else if (Array.isArray(p['panels']) && p['panels'].length) problems.push(`${at}: an open row keeps its panels at the top level`);
        return;
      }
      const ds = p['datasource'];
      if (!isObject(ds) || ds['uid'] !== '${datasource}') problems.push(`${at}: datasource must be the \${datasource} variable`);
      const targets = p['targets'];
      if (!Array.isArray(targets) || targets.length === 0) problems.push(`${at}: no targets`);
      else {
        const refIds = targets.map((t) => (isObject(t) ? t['refId'] : undefined));
        if (new Set(refIds).size !== refIds.length || refIds.some((r) => typeof r !== 'string')) problems.push(`${at}: refIds missing or repeated`);
      }
    });
  };
  walk(dash['panels'], 'panels', false);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i] as Box;
      const b = boxes[j] as Box;
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) problems.push(`panels ${a.id} and ${b.id} overlap`);
    }
  }
  return problems;
}

function definedVariables(dash: JsonObject): Set<string> {
  const list = isObject(dash['templating']) ? dash['templating']['list'] : undefined;
  return new Set((Array.isArray(list) ? list : []).flatMap((v) => (isObject(v) && typeof v['name'] === 'string' ? [v['name']] : [])));
}

function checkDashboard(dash: JsonObject, known: Known): string[] {
  const defined = definedVariables(dash);
  const queries = [...exprs(dash['panels'] ?? null, 'panels'), ...exprs(dash['annotations'] ?? null, 'annotations'), ...variableQueries(dash)];
  if (queries.length === 0) return ['no queries found'];
  return [...checkPanels(dash), ...queries.flatMap((q) => checkQuery(q, defined, known))];
}

const load = (): JsonObject => {
  const parsed = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Json;
  if (!isObject(parsed)) throw new Error('the dashboard is not a JSON object');
  return parsed;
};

/** The dashboard with one edit, for showing each check can fail. */
function edited(edit: (d: JsonObject) => void): JsonObject {
  const d = load();
  edit(d);
  return d;
}
const panelAt = (d: JsonObject, i: number): JsonObject => (d['panels'] as JsonObject[])[i] as JsonObject;
const firstQueryPanel = (d: JsonObject): JsonObject => (d['panels'] as JsonObject[]).find((p) => p['type'] !== 'row') as JsonObject;
const firstTarget = (d: JsonObject): JsonObject => (firstQueryPanel(d)['targets'] as JsonObject[])[0] as JsonObject;

describe('deploy/grafana/routeshift.json', () => {
  it('is a Grafana dashboard with a Prometheus datasource variable and namespace/canary variables from routeshift_canary_weight', () => {
    const d = load();
    expect(d['schemaVersion']).toBeGreaterThanOrEqual(36);
    expect(typeof d['uid']).toBe('string');
    const vars = (d['templating'] as { list: JsonObject[] }).list;
    const byName = new Map(vars.map((v) => [v['name'], v]));
    expect(byName.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(byName.get('namespace')).toMatchObject({ type: 'query', definition: 'label_values(routeshift_canary_weight, namespace)' });
    expect(byName.get('canary')).toMatchObject({ type: 'query', definition: expect.stringMatching(/^label_values\(routeshift_canary_weight\{.*\}, name\)$/) });
  });

  it('has panels for weight, phase, failed checks, decisions, stable vs canary success rate and p99, tick lateness, Prometheus latency, webhook and notification failures', () => {
    const all = exprs(load()['panels'] ?? null, 'panels').map((q) => q.expr).join('\n');
    for (const metric of [
      'routeshift_canary_weight',
      'routeshift_canary_phase',
      'routeshift_canary_failed_checks',
      'routeshift_canary_metric_value',
      'routeshift_decisions_total',
      'routeshift_rollout_duration_seconds_count',
      'routeshift_tick_lateness_seconds_bucket',
      'routeshift_prometheus_request_duration_seconds_bucket',
      'routeshift_notifications_total',
      'routeshift_webhook_calls_total',
      'routeshift_leader',
      'istio_requests_total',
      'istio_request_duration_milliseconds_bucket',
    ]) {
      expect(all).toContain(metric);
    }
    expect(all).toMatch(/sum by \(destination_service_name\)/);
    expect(all).toMatch(/histogram_quantile\(0\.99, sum by \(destination_service_name, le\)/);
  });

  it('passes every check: ids, grid, datasource, PromQL, metric and label names', async () => {
    const d = load();
    // The walk reaches every query in the file (panels and annotations), so none escapes the checks.
    const raw = readFileSync(DASHBOARD, 'utf8').match(/"expr":/g)?.length ?? 0;
    expect(raw).toBeGreaterThan(10);
    expect(exprs(d['panels'] ?? null, 'panels').length + exprs(d['annotations'] ?? null, 'annotations').length).toBe(raw);
    expect(checkDashboard(d, await knownSeries())).toEqual([]);
  });

  describe('the checks catch mistakes', () => {
    it('a misspelled metric', async () => {
      const d = edited((x) => {
        const t = firstTarget(x);
        t['expr'] = (t['expr'] as string).replace('routeshift_canary_weight', 'routeshift_canary_wieght');
      });
      expect(checkDashboard(d, await knownSeries())).toEqual([expect.stringContaining('routeshift_canary_wieght is not a metric')]);
    });

    it('a bare histogram name (only _bucket, _sum and _count exist)', async () => {
      const d = edited((x) => {
        firstTarget(x)['expr'] = 'rate(routeshift_tick_lateness_seconds[5m])';
      });
      expect(checkDashboard(d, await knownSeries()).join('\n')).toContain('routeshift_tick_lateness_seconds is not a metric');
    });

    it('a label the metric does not have', async () => {
      const d = edited((x) => {
        firstTarget(x)['expr'] = 'sum(rate(routeshift_decisions_total{namespace="$namespace"}[$__rate_interval]))';
      });
      expect(checkDashboard(d, await knownSeries())).toEqual([expect.stringContaining('routeshift_decisions_total has no label "namespace"')]);
    });

    it('a variable listing a label its metric lacks', async () => {
      const d = edited((x) => {
        const v = (x['templating'] as { list: JsonObject[] }).list.find((t) => t['name'] === 'canary') as JsonObject;
        v['query'] = { query: 'label_values(routeshift_canary_weight, canary)', refId: 'A' };
      });
      expect(checkDashboard(d, await knownSeries())).toEqual([expect.stringContaining('routeshift_canary_weight has no label "canary"')]);
    });

    it('PromQL that does not parse, and an undefined variable', async () => {
      const known = await knownSeries();
      const broken = edited((x) => {
        firstTarget(x)['expr'] = 'sum(rate(routeshift_decisions_total[$__rate_interval])';
      });
      expect(checkDashboard(broken, known)).toEqual([expect.stringContaining('PromQL syntax error')]);
      const undefinedVar = edited((x) => {
        firstTarget(x)['expr'] = 'routeshift_canary_weight{namespace="$nmespace"}';
      });
      expect(checkDashboard(undefinedVar, known)).toEqual([expect.stringContaining('unknown variable $nmespace')]);
    });

    it('a repeated panel id, a panel off the grid, overlapping panels', async () => {
      const known = await knownSeries();
      const dup = edited((x) => {
        panelAt(x, 2)['id'] = panelAt(x, 1)['id'] as number;
      });
      expect(checkDashboard(dup, known).join('\n')).toMatch(/id \d+ used twice/);
      const off = edited((x) => {
        firstQueryPanel(x)['gridPos'] = { x: 20, y: 1, w: 8, h: 8 };
      });
      expect(checkDashboard(off, known).join('\n')).toContain('off the 24-column grid');
      const overlap = edited((x) => {
        const g = panelAt(x, 2)['gridPos'] as JsonObject;
        panelAt(x, 2)['gridPos'] = { ...g, x: 0 };
      });
      expect(checkDashboard(overlap, known).join('\n')).toMatch(/panels \d+ and \d+ overlap/);
    });
  });

  it('substitutes every variable form Grafana accepts', () => {
    const defined = new Set(['namespace', 'canary']);
    expect(substitute('x{namespace="$namespace", name=~"${canary}", n=~"${canary:regex}", o="[[namespace]]"}[$__rate_interval]', defined)).toBe(
      'x{namespace="shop", name=~"(podinfo|backend)", n=~"(podinfo|backend)", o="shop"}[1m]',
    );
    expect(() => substitute('x{a="$service"}', defined)).toThrow('unknown variable $service');
  });
});
