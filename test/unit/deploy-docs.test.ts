/**
 * The operator docs cover what the code defines: every controller config field and environment override
 * (src/controller/config.ts), every Canary spec field (deploy/crds/canary.yaml), every metric with its
 * labels (src/controller/metrics.ts); and the PromQL examples parse and use metrics that exist.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { validatePromQL } from '../../src/metrics/promql.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const mentions = (doc: string, name: string): boolean => doc.includes('`' + name + '`');

/** Field paths declared in an interface body written as nested object types (`a: { b?: T; c: { d: T } }`). */
function interfaceFields(source: string, name: string): string[] {
  const start = source.indexOf(`export interface ${name} {`);
  if (start < 0) throw new Error(`interface ${name} not found`);
  const text = source.slice(start + `export interface ${name} `.length).replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
  const stack: string[] = [];
  const out: string[] = [];
  let pending: string | undefined;
  let depth = 0;
  for (const m of text.matchAll(/([A-Za-z_]\w*)\??\s*:|[{}]|'[^']*'/g)) {
    const tok = m[0];
    if (tok === '{') {
      depth++;
      if (depth > 1) stack.push(pending ?? '?');
      else if (pending) throw new Error('unexpected key before the interface body');
      pending = undefined;
    } else if (tok === '}') {
      if (pending) out.push([...stack, pending].join('.'));
      pending = undefined;
      depth--;
      if (depth === 0) break;
      stack.pop();
    } else if (m[1]) {
      if (pending) out.push([...stack, pending].join('.'));
      pending = m[1];
    }
  }
  return out;
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}

/** Leaf property paths of a schema; array items start a new relative path (documented per item). */
function schemaLeaves(schema: Schema, path: string, out: Array<{ path: string; list?: string }>, list?: string): void {
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const p = path ? `${path}.${key}` : key;
    if (sub.type === 'array' && sub.items?.properties) {
      out.push({ path: p, ...(list ? { list } : {}) });
      schemaLeaves(sub.items, '', out, p);
    } else if (sub.properties) {
      schemaLeaves(sub, p, out, list);
    } else {
      out.push({ path: p, ...(list ? { list } : {}) });
    }
  }
}

describe('docs/configuration.md', () => {
  const doc = read('docs/configuration.md');
  const source = read('src/controller/config.ts');

  it('names every controller config field', () => {
    const fields = interfaceFields(source, 'ControllerConfig');
    expect(fields).toEqual(expect.arrayContaining(['prometheus.address', 'prometheus.basicAuth.passwordFile', 'leaderElection.retryPeriod', 'alerts']));
    expect(fields.filter((f) => !mentions(doc, f))).toEqual([]);
  });

  it('names every environment override', () => {
    const vars = [...source.matchAll(/\['([A-Z][A-Z0-9_]+)',/g)].map((m) => m[1] as string);
    expect(vars).toContain('ROUTESHIFT_PROMETHEUS_ADDRESS');
    expect(vars.filter((v) => !mentions(doc, v))).toEqual([]);
  });

  it('names every Canary spec field', () => {
    const crd = parseYaml(read('deploy/crds/canary.yaml')) as { spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> } };
    const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties?.spec as Schema;
    const leaves: Array<{ path: string; list?: string }> = [];
    schemaLeaves(spec, 'spec', leaves);
    expect(leaves.length).toBeGreaterThan(40);
    // Fields of list items are documented in the list's own table, by their path inside the item.
    const missing = leaves.filter((l) => !mentions(doc, l.path)).map((l) => (l.list ? `${l.list}[].${l.path}` : l.path));
    expect(missing).toEqual([]);
  });
});

describe('docs/metrics.md', () => {
  const doc = read('docs/metrics.md');
  const source = read('src/controller/metrics.ts');
  const defined = [...source.matchAll(/new (Gauge|Counter|Histogram)\(\{ name: '(\w+)'[^}]*\}/g)].map((m) => ({
    kind: m[1] as string,
    name: m[2] as string,
    labels: [.../labelNames: \[([^\]]*)\]/.exec(m[0])?.[1]?.matchAll(/'(\w+)'/g) ?? []].map((l) => l[1] as string),
  }));

  it('lists every metric with its type and labels', () => {
    expect(defined.length).toBeGreaterThanOrEqual(12);
    expect(defined.find((m) => m.name === 'routeshift_canary_metric_value')?.labels).toEqual(['namespace', 'name', 'metric']);
    for (const metric of defined) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${metric.name}\` |`));
      expect(row ?? `no row for ${metric.name}`).toContain(`| ${metric.kind.toLowerCase()} |`);
      for (const label of metric.labels) expect({ metric: metric.name, label, listed: (row ?? '').includes(`\`${label}\``) }).toEqual({ metric: metric.name, label, listed: true });
    }
  });

  it('has example queries that parse and use only metrics that exist', () => {
    const blocks = [...doc.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trim());
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    const known = new Set(defined.flatMap((m) => (m.kind === 'Histogram' ? [`${m.name}_bucket`, `${m.name}_count`, `${m.name}_sum`] : [m.name])));
    for (const q of blocks) {
      expect({ q, result: validatePromQL(q) }).toEqual({ q, result: { ok: true } });
      for (const used of q.match(/routeshift_\w+/g) ?? []) expect(known.has(used) ? used : `unknown metric ${used}`).toBe(used);
    }
  });
});
