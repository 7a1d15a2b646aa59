import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MeshProvider, MetricTemplate } from '../api/canary.js';
import { validatePromQL } from './promql.js';
import { escapePromQLString, placeholders, renderTemplate, TemplateError } from './template.js';
import {
  BUILTIN_METRICS,
  loadBuiltinTemplates,
  loadTemplateFiles,
  loadTemplates,
  MESH_PROVIDERS,
  resolveMetric,
  TemplateSet,
} from './templates.js';
import { makeCanary } from '../../test/support/canary-fixture.js';

const builtins = new TemplateSet(loadBuiltinTemplates());

function errorOf(fn: () => unknown): { code?: string; path?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; path?: string; message: string };
  }
  throw new Error('expected an error');
}

describe('template rendering', () => {
  it('substitutes placeholders with or without spaces', () => {
    expect(renderTemplate('a{{x}}b{{ y }}c{{   x   }}', { x: '1', y: '2' })).toBe('a1b2c1');
  });

  it('escapes values for PromQL strings', () => {
    expect(escapePromQLString('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const q = renderTemplate('up{job="{{ job }}"}', { job: 'x"} or vector(1) or up{a="' });
    expect(q).toBe('up{job="x\\"} or vector(1) or up{a=\\""}');
    // The escaped value stays inside the string: still one selector, and it parses.
    expect(validatePromQL(q)).toEqual({ ok: true });
  });

  it('fails on an unknown variable, naming it and the template', () => {
    const err = errorOf(() => renderTemplate('up{a="{{ nope }}"}', { namespace: 'x' }, { name: 'my-template' }));
    expect(err).toBeInstanceOf(TemplateError);
    expect(err.code).toBe('UnknownTemplateVariable');
    expect(err.message).toContain('"nope"');
    expect(err.message).toContain('my-template');
  });

  it('distinguishes a known variable without a value', () => {
    const err = errorOf(() => renderTemplate('{{ parent }}', { parent: undefined }));
    expect(err.code).toBe('MissingTemplateVariable');
  });

  it('rejects malformed placeholders', () => {
    expect(errorOf(() => placeholders('{{ a b }}')).code).toBe('MalformedTemplate');
    expect(errorOf(() => placeholders('up{{ a }')).code).toBe('MalformedTemplate');
    expect(placeholders('x{{a}}y{{ b_2 }}').map((p) => p.name)).toEqual(['a', 'b_2']);
  });
});

describe('built-in templates', () => {
  it('exist for every provider and metric, with labels naming them', () => {
    for (const provider of MESH_PROVIDERS) {
      for (const metric of BUILTIN_METRICS) {
        const t = builtins.builtin(provider, metric);
        expect(t?.metadata.labels).toEqual({ 'routeshift.io/provider': provider, 'routeshift.io/metric': metric, 'routeshift.io/builtin': 'true' });
        expect(t?.spec.unit).toBe(metric === 'request-success-rate' ? 'percent' : 'milliseconds');
        expect(t?.apiVersion).toBe('routeshift.io/v1alpha1');
        expect(t?.kind).toBe('MetricTemplate');
      }
    }
    expect(builtins.list()).toHaveLength(MESH_PROVIDERS.length * BUILTIN_METRICS.length);
  });

  const cases = MESH_PROVIDERS.flatMap((p) => BUILTIN_METRICS.map((m) => [p, m] as const));
  it.each(cases)('%s %s renders every query for both sides and each parses as PromQL', (provider, metric) => {
    const canary = makeCanary([{ name: metric, mode: 'sequential', minRequests: 10, sequential: { latencyBoundMs: 250 }, thresholdRange: { min: 1 } }], {
      provider,
    });
    const r = resolveMetric(canary, 0, 'istio', builtins);
    for (const side of [r.canary, r.stable]) {
      expect(side.template).toBe(`${provider}-${metric}`);
      for (const q of [side.query, side.totalQuery, side.badQuery]) {
        expect(q).toBeDefined();
        expect(q).not.toContain('{{');
        expect(validatePromQL(q as string)).toEqual({ ok: true });
        expect(q).toContain('[1m]');
      }
    }
    expect(validatePromQL(r.canary.requestsQuery as string)).toEqual({ ok: true });
    const selector = provider === 'cilium' || provider === 'kuma' ? 'backend-v2' : provider === 'traefik' ? '-backend-v2-http-' : '"backend-v2"';
    expect(r.canary.query).toContain(selector);
    expect(r.stable.query).toContain('backend-v1');
    expect(r.stable.query).not.toContain('backend-v2');
    if (metric === 'request-duration') {
      const seconds = ['linkerd', 'cilium', 'traefik', 'app'].includes(provider);
      expect(r.canary.query.startsWith('1000 * ')).toBe(seconds);
      expect(r.canary.badQuery).toContain(seconds ? 'le=~"0.25(\\\\.0)?"' : 'le=~"250(\\\\.0)?"');
    }
  });

  it('istio addresses each side by its Service on the server side', () => {
    const r = resolveMetric(makeCanary([{ name: 'request-success-rate', thresholdRange: { min: 99 } }]), 0, 'istio', builtins);
    expect(r.canary.query).toContain('reporter="destination",destination_service_namespace="shop",destination_service_name="backend-v2"');
  });

  it('gives an A/B test its rule as {{ matchRule }}, and refuses the variable without one', () => {
    const query = 'sum(rate(requests_total{route_rule="{{ matchRule }}",service="{{ target }}"}[{{ interval }}]))';
    const ab = makeCanary([{ name: 'testers', query, thresholdRange: { max: 1 } }], { analysis: { interval: '1m', threshold: 2, iterations: 3, matchRule: 'testers' } });
    expect(resolveMetric(ab, 0, 'istio', builtins).stable.query).toBe('sum(rate(requests_total{route_rule="testers",service="backend-v1"}[1m]))');
    expect(() => resolveMetric(makeCanary([{ name: 'testers', query, thresholdRange: { max: 1 } }]), 0, 'istio', builtins)).toThrow(/matchRule/);
  });

  it('traefik addresses each side by the service name Traefik gives a Gateway API backendRef', () => {
    const r = resolveMetric(makeCanary([{ name: 'request-success-rate', thresholdRange: { min: 99 } }], { provider: 'traefik' }), 0, 'istio', builtins);
    expect(r.canary.query).toContain('service=~"shop-backend-v2-http-[0-9]+@kubernetesgateway"');
    expect(r.stable.query).toContain('service=~"shop-backend-v1-http-[0-9]+@kubernetesgateway"');
  });

  it('linkerd uses the route backend form', () => {
    const r = resolveMetric(makeCanary([{ name: 'request-success-rate', thresholdRange: { min: 99 } }], { provider: 'linkerd' }), 0, 'istio', builtins);
    expect(r.canary.query).toContain('outbound_http_route_backend_response_statuses_total{route_name="backend",backend_namespace="shop",backend_name="backend-v2"');
  });

  it('workload defaults to the Service name and can be overridden per side', () => {
    const metric = { name: 'request-success-rate', thresholdRange: { min: 99 } };
    const plain = resolveMetric(makeCanary([metric], { provider: 'cilium' }), 0, 'istio', builtins);
    expect(plain.canary.query).toContain('destination_workload="backend-v2"');
    const custom = resolveMetric(
      makeCanary([{ ...metric, templateVariables: { canaryWorkload: 'backend-v2-deploy', stableWorkload: 'backend-v1-deploy' } }], { provider: 'cilium' }),
      0,
      'istio',
      builtins,
    );
    expect(custom.canary.query).toContain('destination_workload="backend-v2-deploy"');
    expect(custom.stable.query).toContain('destination_workload="backend-v1-deploy"');
  });
});

describe('resolveMetric', () => {
  const sr = { name: 'request-success-rate', thresholdRange: { min: 99 } };

  it('uses the default provider (istio) when the Canary names none', () => {
    expect(resolveMetric(makeCanary([sr]), 0, undefined, builtins).canary.template).toBe('istio-request-success-rate');
    expect(resolveMetric(makeCanary([sr]), 0, 'kuma', builtins).canary.template).toBe('kuma-request-success-rate');
  });

  it("prefers the Canary's spec.provider over the controller default", () => {
    expect(resolveMetric(makeCanary([sr], { provider: 'linkerd' }), 0, 'kuma', builtins).canary.template).toBe('linkerd-request-success-rate');
  });

  it('picks a template per side with stableProvider/canaryProvider', () => {
    const r = resolveMetric(makeCanary([{ ...sr, stableProvider: 'linkerd', canaryProvider: 'istio' }]), 0, 'istio', builtins);
    expect(r.canary.template).toBe('istio-request-success-rate');
    expect(r.stable.template).toBe('linkerd-request-success-rate');
    expect(r.stable.query).toContain('backend_name="backend-v1"');
  });

  it('uses the metric interval, else the analysis interval, as the window', () => {
    expect(resolveMetric(makeCanary([sr]), 0, 'istio', builtins).window).toBe('1m');
    const r = resolveMetric(makeCanary([{ ...sr, interval: '90s' }]), 0, 'istio', builtins);
    expect(r.window).toBe('90s');
    expect(r.canary.query).toContain('[90s]');
  });

  it('renders an inline query for both sides with user variables and the parent', () => {
    const canary = makeCanary([{ name: 'errors', query: 'sum(x{svc="{{ service }}",p="{{ parent }}",k="{{ kind }}"})', templateVariables: { kind: 'a"b' }, thresholdRange: { max: 1 } }]);
    const r = resolveMetric(canary, 0, 'istio', builtins, { parent: 'backend' });
    expect(r.canary).toEqual({ template: 'inline', query: 'sum(x{svc="backend-v2",p="backend",k="a\\"b"})' });
    expect(r.stable.query).toBe('sum(x{svc="backend-v1",p="backend",k="a\\"b"})');
  });

  it('looks a templateRef up in the Canary namespace, then cluster-wide', () => {
    const mk = (name: string, namespace: string | undefined, query: string): MetricTemplate => ({
      apiVersion: 'routeshift.io/v1alpha1',
      kind: 'MetricTemplate',
      metadata: { name, ...(namespace ? { namespace } : {}) },
      spec: { query },
    });
    const set = builtins.clone().add(mk('t', 'shop', 'sum(shop_metric)')).add(mk('t', 'other', 'sum(other_metric)')).add(mk('g', undefined, 'sum(global)'));
    const ref = (name: string, namespace?: string) => makeCanary([{ name: 'm', templateRef: { name, ...(namespace ? { namespace } : {}) }, thresholdRange: { max: 1 } }]);
    expect(resolveMetric(ref('t'), 0, 'istio', set).canary.query).toBe('sum(shop_metric)');
    expect(resolveMetric(ref('t', 'other'), 0, 'istio', set).canary.query).toBe('sum(other_metric)');
    expect(resolveMetric(ref('g'), 0, 'istio', set).canary.query).toBe('sum(global)');
    expect(resolveMetric(ref('istio-request-duration'), 0, 'istio', set).canary.template).toBe('istio-request-duration');
  });

  it('reports a missing template at templateRef.name', () => {
    const err = errorOf(() => resolveMetric(makeCanary([sr, { name: 'm', templateRef: { name: 'nope' }, thresholdRange: { max: 1 } }]), 1, 'istio', builtins));
    expect(err).toMatchObject({ code: 'TemplateNotFound', path: 'spec.analysis.metrics[1].templateRef.name' });
  });

  it('reports an unknown variable at the query path', () => {
    const err = errorOf(() => resolveMetric(makeCanary([sr, { name: 'm', query: 'sum(x{a="{{ colour }}"})', thresholdRange: { max: 1 } }]), 1, 'istio', builtins));
    expect(err).toMatchObject({ code: 'UnknownTemplateVariable', path: 'spec.analysis.metrics[1].query' });
    expect(err.message).toContain('"colour"');
  });

  it('reports a PromQL error with its position in the template', () => {
    const err = errorOf(() => resolveMetric(makeCanary([{ name: 'm', query: 'sum(rate(x{a="{{ target }}"}[{{ interval }}])', thresholdRange: { max: 1 } }]), 0, 'istio', builtins));
    expect(err).toMatchObject({ code: 'InvalidPromQL', path: 'spec.analysis.metrics[0].query' });
    expect(err.message).toContain('line 1, column 46');
    expect((err as { position?: unknown }).position).toEqual({ line: 1, column: 46, offset: 45 });
  });

  it('needs a query for a metric that is not built in', () => {
    const err = errorOf(() => resolveMetric(makeCanary([{ name: 'latency', thresholdRange: { max: 1 } }]), 0, 'istio', builtins));
    expect(err).toMatchObject({ code: 'InvalidMetric', path: 'spec.analysis.metrics[0]' });
  });

  it('needs latencyBoundMs for the sequential latency count', () => {
    const err = errorOf(() => resolveMetric(makeCanary([{ name: 'request-duration', mode: 'sequential' }]), 0, 'istio', builtins));
    expect(err).toMatchObject({ code: 'MissingTemplateVariable', path: 'spec.analysis.metrics[0].sequential.latencyBoundMs' });
  });

  it('needs a request count for minRequests and counts for sequential', () => {
    const q = { name: 'm', query: 'sum(x)', thresholdRange: { max: 1 } };
    expect(errorOf(() => resolveMetric(makeCanary([{ ...q, minRequests: 5 }]), 0, 'istio', builtins))).toMatchObject({
      code: 'InvalidMetric',
      path: 'spec.analysis.metrics[0].minRequests',
    });
    expect(resolveMetric(makeCanary([{ ...q, minRequests: 5, requestsQuery: 'sum(n{s="{{ target }}"})' }]), 0, 'istio', builtins).canary.requestsQuery).toBe(
      'sum(n{s="backend-v2"})',
    );
    expect(errorOf(() => resolveMetric(makeCanary([{ ...q, mode: 'sequential' }]), 0, 'istio', builtins))).toMatchObject({
      code: 'InvalidMetric',
      path: 'spec.analysis.metrics[0].mode',
    });
  });

  it('refuses per-side providers with a templateRef or query', () => {
    const err = errorOf(() => resolveMetric(makeCanary([{ name: 'm', query: 'sum(x)', canaryProvider: 'istio', thresholdRange: { max: 1 } }]), 0, 'istio', builtins));
    expect(err).toMatchObject({ code: 'InvalidMetric', path: 'spec.analysis.metrics[0].canaryProvider' });
  });
});

describe('loading templates', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'routeshift-templates-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a ConfigMap-style directory, skipping ..data, and lets files override built-ins', async () => {
    // A mounted ConfigMap: files are links into ..data/.
    const data = join(dir, '..2026_01_01');
    mkdirSync(data);
    writeFileSync(
      join(data, 'team.yaml'),
      'apiVersion: routeshift.io/v1alpha1\nkind: MetricTemplate\nmetadata: {name: team-errors}\nspec: {query: "sum(team_errors)"}\n---\n' +
        'apiVersion: routeshift.io/v1alpha1\nkind: MetricTemplate\nmetadata: {name: istio-request-success-rate}\nspec: {query: "sum(overridden)"}\n',
    );
    symlinkSync('..2026_01_01', join(dir, '..data'));
    symlinkSync('..data/team.yaml', join(dir, 'team.yaml'));
    writeFileSync(join(dir, 'notes.txt'), 'not a template');
    const files = await loadTemplateFiles([dir]);
    expect(files.map((t) => t.metadata.name)).toEqual(['team-errors', 'istio-request-success-rate']);
    const set = await loadTemplates({ extraPaths: [dir], objects: [{ apiVersion: 'routeshift.io/v1alpha1', kind: 'MetricTemplate', metadata: { name: 'x', namespace: 'shop' }, spec: { query: 'sum(x)' } }] });
    expect(set.get('team-errors')?.spec.query).toBe('sum(team_errors)');
    expect(set.builtin('istio', 'request-success-rate')?.spec.query).toBe('sum(overridden)');
    expect(set.get('x', 'shop')?.spec.query).toBe('sum(x)');
    expect(set.get('x', 'other')).toBeUndefined();
    // The shared built-ins are not changed by an override in one set.
    expect(new TemplateSet(loadBuiltinTemplates()).builtin('istio', 'request-success-rate')?.spec.query).toContain('istio_requests_total');
  });

  it('rejects a file that is not MetricTemplates', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kind: ConfigMap\nmetadata: {name: x}\n');
    await expect(loadTemplateFiles([file])).rejects.toMatchObject({ code: 'InvalidTemplateFile' });
    await expect(loadTemplateFiles([join(dir, 'missing.yaml')])).rejects.toMatchObject({ code: 'InvalidTemplateFile' });
  });

  it('knows every provider in the CRD enum', () => {
    const providers: MeshProvider[] = ['istio', 'linkerd', 'cilium', 'kuma', 'traefik', 'app'];
    expect([...MESH_PROVIDERS].sort()).toEqual(providers.sort());
  });
});
