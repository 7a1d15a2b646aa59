/** PromQL tenancy (issue 15): prometheus.enforceNamespaceLabel rewrites every selector on the parsed query. */
import { describe, expect, it } from '@jest/globals';
import type { MetricProvider, QueryOutcome } from './provider.js';
import { enforceLabel, enforcementProblems, QueryNotEnforceableError } from './enforce-label.js';
import { measure } from './measure.js';
import { validatePromQL } from './promql.js';
import { loadBuiltinTemplates, TemplateSet } from './templates.js';
import { makeCanary } from '../../test/support/canary-fixture.js';

const templates = new TemplateSet(loadBuiltinTemplates());
const ns = (q: string) => enforceLabel(q, 'namespace', 'team-a');

describe('enforceLabel', () => {
  it.each([
    ['up', 'up{namespace="team-a"}'],
    ['up{}', 'up{namespace="team-a"}'],
    ['up{job="x"}', 'up{job="x",namespace="team-a"}'],
    ['up{job="x",}', 'up{job="x",namespace="team-a"}'],
    ['{__name__="up"}', '{__name__="up",namespace="team-a"}'],
    ['sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))', 'sum(rate(http_requests_total{code=~"5..",namespace="team-a"}[5m])) / sum(rate(http_requests_total{namespace="team-a"}[5m]))'],
    ['max_over_time(rate(x[1m])[10m:1m])', 'max_over_time(rate(x{namespace="team-a"}[1m])[10m:1m])'],
    ['x offset 5m', 'x{namespace="team-a"} offset 5m'],
    ['histogram_quantile(0.99, sum by (le) (rate(d_bucket{app="a"}[1m])))', 'histogram_quantile(0.99, sum by (le) (rate(d_bucket{app="a",namespace="team-a"}[1m])))'],
    ['a * on(pod) group_left b', 'a{namespace="team-a"} * on(pod) group_left b{namespace="team-a"}'],
    ['vector(1)', 'vector(1)'],
  ])('%s -> %s', (query, expected) => {
    const out = ns(query);
    expect(out).toBe(expected);
    expect(validatePromQL(out)).toEqual({ ok: true });
  });

  it('keeps a matcher that already holds the value, and ANDs regular and negative matchers', () => {
    expect(ns('up{namespace="team-a"}')).toBe('up{namespace="team-a"}');
    expect(ns('up{namespace=~"team-.*"}')).toBe('up{namespace=~"team-.*",namespace="team-a"}');
    expect(ns('up{namespace!="team-b"}')).toBe('up{namespace!="team-b",namespace="team-a"}');
  });

  it('refuses a selector naming another value, with its line and column', () => {
    const query = 'sum(rate(x{namespace="team-a"}[1m]))\n/ sum(rate(x{job="j", namespace="team-b"}[1m]))';
    let err: unknown;
    try {
      ns(query);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QueryNotEnforceableError);
    expect((err as QueryNotEnforceableError).code).toBe('QueryNotEnforceable');
    expect((err as QueryNotEnforceableError).position).toMatchObject({ line: 2, column: 23 });
    expect((err as Error).message).toBe('the selector asks for namespace="team-b", but this Canary may read only namespace="team-a" (line 2, column 23)');
    expect(() => ns('x{"namespace"="team-b"}')).toThrow('asks for namespace="team-b"');
  });

  it('refuses info(), which reads series its selectors do not name, and a query that does not parse', () => {
    expect(() => ns('info(up)')).toThrow('info() reads series its selectors do not name (line 1, column 1)');
    expect(() => ns('sum(rate(x[1m])')).toThrow('does not parse');
  });
});

class Recording implements MetricProvider {
  queries: string[] = [];
  async query(promql: string): Promise<QueryOutcome> {
    this.queries.push(promql);
    return { kind: 'value', value: 1 };
  }
  async queryVector(): Promise<never> {
    throw new Error('not used');
  }
  async ping(): Promise<void> {}
}

describe('measuring with enforcement', () => {
  const signal = new AbortController().signal;

  it('sends every query of both sides with the label of each side namespace', async () => {
    const provider = new Recording();
    const canary = makeCanary([{ name: 'errors', query: 'sum(rate(errors_total{service="{{ target }}"}[1m]))', thresholdRange: { max: 1 }, relative: { compare: 'difference', max: 1 } }], {
      stable: { name: 'backend-v1', port: 8080, namespace: 'other' },
    });
    const out = await measure({ canary, templates, provider, signal, enforceNamespaceLabel: 'namespace' });
    expect(out[0]?.canary).toEqual({ kind: 'value', value: 1 });
    expect(provider.queries.sort()).toEqual([
      'sum(rate(errors_total{service="backend-v1",namespace="other"}[1m]))',
      'sum(rate(errors_total{service="backend-v2",namespace="shop"}[1m]))',
    ]);
  });

  it('sends nothing for a query reading another namespace: an error outcome says why', async () => {
    const provider = new Recording();
    const canary = makeCanary([{ name: 'peek', query: 'sum(rate(errors_total{namespace="team-b"}[1m]))', thresholdRange: { max: 1 } }]);
    const [m] = await measure({ canary, templates, provider, signal, enforceNamespaceLabel: 'namespace' });
    expect(m?.canary).toMatchObject({ kind: 'error', code: 'QueryNotEnforceable', transient: false });
    expect(provider.queries).toEqual([]);
  });

  it('without enforcement sends queries unchanged', async () => {
    const provider = new Recording();
    await measure({ canary: makeCanary([{ name: 'q', query: 'sum(up)', thresholdRange: { max: 1 } }]), templates, provider, signal });
    expect(provider.queries).toEqual(['sum(up)']);
  });
});

describe('enforcementProblems (checked with the spec, so the Canary is InvalidSpec before any query)', () => {
  it('names the metric field and the position', () => {
    const canary = makeCanary([
      { name: 'fine', query: 'sum(up)', thresholdRange: { max: 1 } },
      { name: 'peek', query: 'sum(up{namespace="team-b"})', thresholdRange: { max: 1 } },
    ]);
    expect(enforcementProblems(canary, templates, 'istio', 'namespace')).toEqual([
      {
        path: 'spec.analysis.metrics[1].query',
        message: 'cannot enforce namespace="shop" on the canary query "sum(up{namespace="team-b"})": the selector asks for namespace="team-b", but this Canary may read only namespace="shop" (line 1, column 8)',
      },
    ]);
  });

  it('accepts the built-in templates', () => {
    const canary = makeCanary([
      { name: 'request-success-rate', thresholdRange: { min: 99 } },
      { name: 'request-duration', thresholdRange: { max: 500 } },
    ]);
    expect(enforcementProblems(canary, templates, 'istio', 'namespace')).toEqual([]);
  });
});
