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
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/**
 * The fields a doc table must list for a schema: every leaf, and every list of objects (which has a row of
 * its own and a table for its items, whose fields are written `list[].field`).
 */
function schemaFields(schema: Schema, path: string, out: string[] = []): string[] {
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const p = path ? `${path}.${key}` : key;
    if (sub.type === 'array' && sub.items?.properties) {
      out.push(p);
      schemaFields(sub.items, `${p}[]`, out);
    } else if (sub.properties) {
      schemaFields(sub, p, out);
    } else {
      out.push(p);
    }
  }
  return out;
}

/**
 * The field rows of the tables under each `###` heading of a doc: every backticked name in a row's first
 * cell (`a.b`, `c.d` rows list several). Under a heading naming a list (`### spec.analysis.metrics[]`) the
 * names are relative to an item and are returned with that prefix.
 */
function tableFields(doc: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let heading = '';
  for (const line of doc.split('\n')) {
    if (line.startsWith('#')) {
      heading = line.replace(/^#+\s*/, '');
      out.set(heading, []);
      continue;
    }
    const cell = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!cell || !cell.startsWith('`')) continue;
    const list = /^(\S+\[\])/.exec(heading)?.[1];
    for (const m of cell.matchAll(/`([^`]+)`/g)) out.get(heading)?.push(list ? `${list}.${m[1]}` : (m[1] as string));
  }
  return out;
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/**
 * Rows against fields both ways, where a field declared with a named type (`outbound: OutboundSpec`) may be
 * documented by rows for its parts (`outbound.allow`): fields without a row, and rows naming no field.
 */
function mismatches(rows: string[], fields: string[]): { undocumented: string[]; unknown: string[] } {
  const covers = (field: string, row: string): boolean => row === field || row.startsWith(`${field}.`);
  return {
    undocumented: fields.filter((f) => !rows.some((r) => covers(f, r))).sort(),
    unknown: rows.filter((r) => !fields.some((f) => covers(f, r))).sort(),
  };
}

describe('docs/configuration.md', () => {
  const doc = read('docs/configuration.md');
  const source = read('src/controller/config.ts');

  const tables = tableFields(doc);
  const rowsUnder = (first: string, last: string): string[] => {
    const headings = [...tables.keys()];
    return headings.slice(headings.indexOf(first), headings.indexOf(last)).flatMap((h) => tables.get(h) ?? []);
  };

  it('has a table row for every controller config field, and none for a field the config does not have', () => {
    const fields = interfaceFields(source, 'ControllerConfig');
    expect(fields).toEqual(expect.arrayContaining(['prometheus.address', 'prometheus.basicAuth.passwordFile', 'leaderElection.retryPeriod', 'alerts']));
    expect(mismatches(rowsUnder('prometheus', "The Deployment's environment"), fields)).toEqual({ undocumented: [], unknown: [] });
  });

  it('names every environment override', () => {
    const vars = [...source.matchAll(/\['([A-Z][A-Z0-9_]+)',/g)].map((m) => m[1] as string);
    expect(vars).toContain('ROUTESHIFT_PROMETHEUS_ADDRESS');
    expect(vars.filter((v) => !mentions(doc, v))).toEqual([]);
  });

  const crd = parseYaml(read('deploy/crds/canary.yaml')) as { spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> } };
  const root = crd.spec.versions[0]?.schema.openAPIV3Schema.properties ?? {};

  it('has a table row for every Canary spec field in the CRD, and none the CRD does not have', () => {
    const fields = schemaFields(root.spec as Schema, 'spec');
    expect(fields.length).toBeGreaterThan(40);
    expect(fields).toContain('spec.analysis.metrics[].sequential.stableBaseline');
    expect(sorted(rowsUnder('spec', 'Annotations'))).toEqual(sorted(fields));
  });

  it('lists every status field the CRD declares, and only fields CanaryStatus has', () => {
    const status = root.status as Schema;
    const rows = tables.get('status') ?? [];
    const declared = Object.keys(status.properties ?? {}).map((k) => `status.${k}`);
    expect(declared.length).toBeGreaterThan(5);
    expect(declared.filter((f) => !rows.includes(f))).toEqual([]);
    // The rest of status is kept by x-kubernetes-preserve-unknown-fields; a row must still name a real field.
    expect(status['x-kubernetes-preserve-unknown-fields']).toBe(true);
    const known = interfaceFields(read('src/api/canary.ts'), 'CanaryStatus').map((f) => `status.${f}`);
    expect(mismatches(rows, known).unknown).toEqual([]);
  });

  it('reads the tables it checks (the parser is not vacuous)', () => {
    expect(tables.get('spec.analysis.webhooks[]')).toEqual(expect.arrayContaining(['spec.analysis.webhooks[].retries']));
    expect(tables.get('defaults')).toEqual(['defaults.provider', 'defaults.noData', 'defaults.errorsBeforeFailure']);
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
