/**
 * docs/migrating-from-flagger.md makes claims the code can check: its routeshift objects validate, its
 * HTTPRoute holds the Canary's pair at stable 100 / canary 0 (and still fits after the documented swap),
 * `routeshift validate` flags what a Flagger Canary leaves behind, and the Event reasons, phases and
 * metric names it maps Flagger's onto exist.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';
import { PHASES, type Canary } from '../../src/api/canary.js';
import { ControllerMetrics } from '../../src/controller/metrics.js';
import { Reason } from '../../src/events/reasons.js';
import { validatePromQL } from '../../src/metrics/promql.js';
import { loadTemplates, type TemplateSet } from '../../src/metrics/templates.js';
import { validateCanary, validateDocuments } from '../../src/metrics/validate.js';
import { locateOwnedBackends, readWeights } from '../../src/routing/index.js';
import type { Route } from '../../src/routing/index.js';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/migrating-from-flagger.md', import.meta.url)), 'utf8');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every ```yaml block, with its parsed documents. */
const BLOCKS = [...DOC.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => {
  const text = m[1] as string;
  return { text, docs: parseAllDocuments(text).map((d) => d.toJS() as unknown) };
});
const allDocs = BLOCKS.flatMap((b) => b.docs).filter(isObj);
const routeshiftDocs = allDocs.filter((d) => d['apiVersion'] === 'routeshift.io/v1alpha1');

/** Body rows (cells) of the first markdown table after the line that starts with `marker`. */
function tableAfter(marker: string): string[][] {
  const lines = DOC.split('\n');
  const at = lines.findIndex((l) => l.startsWith(marker));
  if (at < 0) throw new Error(`"${marker}" not found`);
  const header = lines.findIndex((l, i) => i > at && l.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim()));
  }
  return rows;
}
const ticked = (cell: string): string[] => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);

let templates: TemplateSet;
beforeAll(async () => {
  templates = await loadTemplates();
});

describe('docs/migrating-from-flagger.md', () => {
  it('has the worked example: a Canary, two MetricTemplates and the HTTPRoute', () => {
    expect(routeshiftDocs.filter((d) => d['kind'] === 'Canary')).toHaveLength(1);
    expect(routeshiftDocs.filter((d) => d['kind'] === 'MetricTemplate')).toHaveLength(2);
    expect(allDocs.filter((d) => d['kind'] === 'HTTPRoute')).toHaveLength(1);
  });

  it('the routeshift objects pass `routeshift validate` together', () => {
    const text = routeshiftDocs.map((d) => stringify(d)).join('---\n');
    expect(validateDocuments(text, templates)).toEqual([]);
  });

  it('the HTTPRoute holds the pair in the named rule at stable 100 / canary 0, and still does after the documented swap', () => {
    const canary = routeshiftDocs.find((d) => d['kind'] === 'Canary') as unknown as Canary;
    const route = allDocs.find((d) => d['kind'] === 'HTTPRoute') as unknown as Route;
    const input = { routeRef: canary.spec.routeRef, stable: canary.spec.stable, canary: canary.spec.canary, canaryNamespace: 'test' };
    const owned = locateOwnedBackends(route, input);
    expect(readWeights(route, owned)).toEqual({ stable: 100, canary: 0, canaryPercent: 0 });

    // Promoted: routeshift writes the pair as stable 0 / canary 100. The next release's Canary names the pair the other way round.
    const promoted = JSON.parse(JSON.stringify(route)) as { spec: { rules: Array<{ name?: string; backendRefs: Array<{ name: string; weight: number }> }> } };
    const rule = promoted.spec.rules.find((r) => r.name === canary.spec.routeRef.rule);
    for (const ref of rule?.backendRefs ?? []) ref.weight = ref.name === canary.spec.canary.name ? 100 : 0;
    const swap = allDocs.find((d) => d['kind'] === undefined && isObj(d['stable']) && isObj(d['canary'])) as unknown as Pick<Canary['spec'], 'stable' | 'canary'>;
    expect(swap).toEqual({ stable: canary.spec.canary, canary: canary.spec.stable });
    const next = { ...input, stable: swap.stable, canary: swap.canary };
    expect(readWeights(promoted as unknown as Route, locateOwnedBackends(promoted as unknown as Route, next)).canaryPercent).toBe(0);
  });

  it('`routeshift validate` flags what the Flagger Canary leaves behind, as the page says', () => {
    const flagger = allDocs.find((d) => d['apiVersion'] === 'flagger.app/v1beta1' && d['kind'] === 'Canary');
    expect(flagger).toBeDefined();
    const paths = validateCanary({ ...flagger, apiVersion: 'routeshift.io/v1alpha1' }, templates).map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['spec.targetRef', 'spec.analysis.alerts[0].providerRef', 'spec.analysis.webhooks[1].type']),
    );
  });

  it('maps Flagger Events onto reasons routeshift emits', () => {
    const known = new Set<string>(Object.values(Reason));
    const named = tableAfter('Flagger records every Event').flatMap((row) => ticked((row[1] ?? '').replace(/\([^)]*\)/g, '')));
    expect(named.length).toBeGreaterThan(10);
    expect(named.filter((r) => !known.has(r))).toEqual([]);
  });

  it('maps Flagger phases onto phases routeshift has', () => {
    const phases = new Set<string>(PHASES);
    const used = tableAfter('Phases (').flatMap((r) => ticked((r[1] ?? '').replace(/\([^)]*\)/g, '')));
    expect(used.length).toBeGreaterThan(5);
    expect(used.filter((p) => !phases.has(p))).toEqual([]);
  });

  it('maps Flagger metrics onto metrics routeshift exports, and the alert example parses', async () => {
    const exported = new Set((await new ControllerMetrics(false).registry.getMetricsAsJSON()).map((x) => x.name));
    const names = tableAfter("Flagger's own metrics have")
      .flatMap((r) => ticked(r[1] ?? ''))
      .map((t) => t.replace(/\{.*$/, ''))
      .filter((t) => t.startsWith('routeshift_'));
    expect(names.length).toBeGreaterThan(4);
    expect(names.filter((n) => !exported.has(n))).toEqual([]);
    const alert = /`(max by \(namespace, name\) \(routeshift_canary_phase[^`]*)`/.exec(DOC)?.[1];
    expect(alert).toBeDefined();
    expect(validatePromQL(alert as string)).toEqual({ ok: true });
  });
});
