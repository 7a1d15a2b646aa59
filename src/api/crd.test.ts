/**
 * The Canary TypeScript types and deploy/crds/canary.yaml describe the same object. The fixture below
 * is typed DeepRequired<CanarySpec>, so the compiler makes it name every field the types have; the
 * test then checks that the CRD schema has exactly those fields, and that the fixture is valid.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { CanarySpec } from './canary.js';
import { checkSchema, crdSchema, type JSONSchemaProps } from './validate-schema.js';
import { fromRoot } from '../core/paths.js';

type DeepRequired<T> = T extends Array<infer U> ? Array<DeepRequired<U>> : T extends object ? { [K in keyof T]-?: DeepRequired<NonNullable<T[K]>> } : T;

const full: DeepRequired<CanarySpec> = {
  routeRef: { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'backend-split', namespace: 'istio-test', rule: 0 },
  stable: { name: 'backend-v1', port: 80, namespace: 'istio-test' },
  canary: { name: 'backend-v2', port: 80, namespace: 'istio-test' },
  provider: 'istio',
  suspend: false,
  skipAnalysis: false,
  analysis: {
    interval: '1m',
    threshold: 5,
    stepWeights: [10, 20],
    stepWeight: 10,
    maxWeight: 50,
    progressDeadline: '10m',
    inconclusiveLimit: 10,
    onInconclusiveLimit: 'pause',
    iterations: 5,
    matchRule: 'testers',
    match: [{ headers: [{ name: 'x-canary', value: 'insider', type: 'Exact' }], queryParams: [{ name: 'canary', value: 'yes', type: 'Exact' }] }],
    sessionAffinity: { cookieName: 'canary', maxAge: 3600, rule: 'sticky' },
    mirror: true,
    mirrorWeight: 50,
    metrics: [
      {
        name: 'request-success-rate',
        templateRef: { name: 't', namespace: 'n' },
        query: 'up',
        interval: '1m',
        thresholdRange: { min: 99, max: 100 },
        relative: { compare: 'difference', min: -1, max: 1 },
        minRequests: 10,
        requestsQuery: 'up',
        noData: 'hold',
        errorsBeforeFailure: 2,
        mode: 'sequential',
        sequential: { tolerance: 0.5, latencyBoundMs: 500, falseRollback: 0.01, badPromotion: 0.01, catastrophicErrorRate: 20, stableBaseline: '1h' },
        templateVariables: { a: 'b' },
        stableProvider: 'linkerd',
        canaryProvider: 'istio',
      },
    ],
    webhooks: [{ name: 'w', type: 'rollout', url: 'http://x', timeout: '5s', retries: 1, metadata: { a: 'b' } }],
    alerts: [{ name: 'a', provider: 'slack', url: 'http://x', secretRef: { name: 's' }, severity: 'warn' }],
  },
  workloads: { stable: { kind: 'Deployment', name: 'backend-v1' }, canary: { kind: 'Deployment', name: 'backend-v2' }, readyDeadline: '10m' },
};

/** Dotted paths of every leaf and object field, with array items as []. */
function valuePaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return [prefix, ...(typeof v[0] === 'object' ? valuePaths(v[0], `${prefix}[]`).filter((p) => p !== `${prefix}[]`) : [])];
  if (v && typeof v === 'object') {
    const out = prefix ? [prefix] : [];
    for (const [k, child] of Object.entries(v)) {
      if (prefix.endsWith('templateVariables') || prefix.endsWith('metadata')) continue; // free-form maps
      out.push(...valuePaths(child, prefix ? `${prefix}.${k}` : k));
    }
    return out;
  }
  return [prefix];
}

function schemaPaths(s: JSONSchemaProps, prefix = ''): string[] {
  const out = prefix ? [prefix] : [];
  if (s.properties) for (const [k, child] of Object.entries(s.properties)) out.push(...schemaPaths(child, prefix ? `${prefix}.${k}` : k));
  if (s.items && !Array.isArray(s.items) && (s.items as JSONSchemaProps).properties) {
    out.push(...schemaPaths(s.items as JSONSchemaProps, `${prefix}[]`).filter((p) => p !== `${prefix}[]`));
  }
  return out;
}

describe('Canary types and CRD', () => {
  const spec = crdSchema('Canary').properties?.spec as JSONSchemaProps;

  it('name the same spec fields', () => {
    expect(valuePaths(full).sort()).toEqual(schemaPaths(spec).sort());
  });

  it('the fully populated Canary passes the CRD schema', () => {
    expect(checkSchema({ apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', metadata: { name: 'x' }, spec: full }, crdSchema('Canary'))).toEqual([]);
  });

  it('the CRD rejects nonsense the issue names: weights outside 0..100, empty steps, unknown fields', () => {
    const bad = structuredClone(full) as unknown as Record<string, Record<string, unknown>>;
    (bad.analysis as Record<string, unknown>).stepWeights = [];
    (bad.analysis as Record<string, unknown>).maxWeight = 150;
    (bad as Record<string, unknown>).extra = true;
    const problems = checkSchema({ apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', metadata: { name: 'x' }, spec: bad }, crdSchema('Canary')).map((p) => p.path);
    expect(problems).toEqual(expect.arrayContaining(['spec.analysis.stepWeights', 'spec.analysis.maxWeight', 'spec.extra']));
  });

  it('has a status subresource, a short name and the printer columns', () => {
    const crd = parse(readFileSync(fromRoot('deploy/crds/canary.yaml'), 'utf8')) as {
      spec: { names: { shortNames: string[] }; versions: Array<{ subresources: object; additionalPrinterColumns: Array<{ name: string }> }> };
    };
    const v = crd.spec.versions[0];
    expect(v?.subresources).toEqual({ status: {} });
    expect(crd.spec.names.shortNames.length).toBeGreaterThan(0);
    expect(v?.additionalPrinterColumns.map((c) => c.name)).toEqual(expect.arrayContaining(['Phase', 'Weight', 'Failed', 'Age']));
  });
});
