import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../core/clock.js';
import { AbortedError } from '../core/errors.js';
import type { MetricProvider, QueryOutcome } from './provider.js';
import { measure } from './measure.js';
import { loadBuiltinTemplates, TemplateSet } from './templates.js';
import { makeCanary } from '../../test/support/canary-fixture.js';

const templates = new TemplateSet(loadBuiltinTemplates());

/** Answers by the first matching rule; records every query and the most in flight at once. */
class FakeProvider implements MetricProvider {
  queries: string[] = [];
  times: Array<number | undefined> = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly rules: Array<[RegExp, QueryOutcome]>, private readonly delayMs = 0) {}
  async query(promql: string, opts: { signal: AbortSignal; time?: Date }): Promise<QueryOutcome> {
    this.queries.push(promql);
    this.times.push(opts.time?.getTime());
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, this.delayMs));
      if (opts.signal.aborted) throw new AbortedError('query');
      return this.rules.find(([re]) => re.test(promql))?.[1] ?? { kind: 'no-data' };
    } finally {
      this.inFlight--;
    }
  }
  async queryVector(): Promise<never> {
    throw new Error('not used');
  }
  async ping(): Promise<void> {}
}

const signal = new AbortController().signal;
const v = (value: number): QueryOutcome => ({ kind: 'value', value });

describe('measure', () => {
  it('measures only the canary for a plain threshold check', async () => {
    const provider = new FakeProvider([[/backend-v2/, v(99.2)]]);
    const out = await measure({ canary: makeCanary([{ name: 'request-success-rate', thresholdRange: { min: 99 } }]), templates, provider, signal });
    expect(out).toEqual([{ name: 'request-success-rate', canary: v(99.2) }]);
    expect(provider.queries).toHaveLength(1);
    expect(provider.queries[0]).toContain('destination_service_name="backend-v2"');
  });

  it('adds the stable value for relative checks and the request count for minRequests', async () => {
    const provider = new FakeProvider([
      [/^sum\(increase.*backend-v2/, v(1234)],
      [/backend-v2/, v(180)],
      [/backend-v1/, v(150)],
    ]);
    const canary = makeCanary([{ name: 'request-duration', interval: '30s', thresholdRange: { max: 500 }, relative: { compare: 'ratio', max: 1.2 }, minRequests: 100 }]);
    const out = await measure({ canary, templates, provider, signal });
    expect(out).toEqual([{ name: 'request-duration', canary: v(180), stable: v(150), requests: v(1234) }]);
    expect(provider.queries).toHaveLength(3);
    expect(provider.queries.every((q) => q.includes('[30s]'))).toBe(true);
  });

  it('queries per-side counts with per-side templates in sequential mode', async () => {
    const provider = new FakeProvider([
      [/or vector\(0\)$/, v(0)], // bad counts (no 5xx series)
      [/^sum\(increase\(istio_requests_total.*backend-v2/, v(500)],
      [/^sum\(increase\(outbound_http_route_backend_response_statuses_total.*backend-v1/, v(4500)],
      [/backend-v2/, v(100)],
    ]);
    const canary = makeCanary([{ name: 'request-success-rate', mode: 'sequential', stableProvider: 'linkerd', canaryProvider: 'istio' }]);
    const [m] = await measure({ canary, templates, provider, signal });
    expect(m).toEqual({
      name: 'request-success-rate',
      canary: v(100),
      counts: { canaryTotal: v(500), canaryBad: v(0), stableTotal: v(4500), stableBad: v(0) },
    });
    const stableQueries = provider.queries.filter((q) => q.includes('backend-v1'));
    expect(stableQueries).toHaveLength(2);
    expect(stableQueries.every((q) => q.includes('outbound_http_route_backend_response_statuses_total'))).toBe(true);
  });

  it('passes outcomes through untouched (no-data stays no-data)', async () => {
    const provider = new FakeProvider([[/backend-v1/, { kind: 'not-a-number', raw: 'NaN' }]]);
    const canary = makeCanary([{ name: 'request-success-rate', relative: { compare: 'difference', min: -1 } }]);
    const out = await measure({ canary, templates, provider, signal });
    expect(out).toEqual([{ name: 'request-success-rate', canary: { kind: 'no-data' }, stable: { kind: 'not-a-number', raw: 'NaN' } }]);
  });

  it('turns a metric that cannot be resolved into a non-transient error and still measures the others', async () => {
    const provider = new FakeProvider([[/./, v(1)]]);
    const canary = makeCanary([
      { name: 'custom', query: 'sum(x{a="{{ nope }}"})', thresholdRange: { max: 1 } },
      { name: 'request-success-rate', thresholdRange: { min: 99 } },
    ]);
    const out = await measure({ canary, templates, provider, signal });
    expect(out[0]).toEqual({
      name: 'custom',
      canary: { kind: 'error', code: 'UnknownTemplateVariable', message: expect.stringContaining('"nope"'), transient: false },
    });
    expect(out[1]).toEqual({ name: 'request-success-rate', canary: v(1) });
    expect(provider.queries).toHaveLength(1);
  });

  it('fills {{ parent }} from the route when given, and fails the metric when not', async () => {
    const provider = new FakeProvider([[/./, v(2)]]);
    const canary = makeCanary([{ name: 'p', query: 'sum(x{parent="{{ parent }}"})', thresholdRange: { max: 5 } }]);
    await expect(measure({ canary, templates, provider, signal, parent: 'backend' })).resolves.toEqual([{ name: 'p', canary: v(2) }]);
    expect(provider.queries).toEqual(['sum(x{parent="backend"})']);
    const [m] = await measure({ canary, templates, provider, signal });
    expect(m?.canary).toMatchObject({ kind: 'error', code: 'MissingTemplateVariable' });
  });

  it('bounds the queries in flight', async () => {
    const provider = new FakeProvider([[/./, v(1)]], 20);
    const metrics = Array.from({ length: 6 }, (_, i) => ({ name: `m${i}`, query: `sum(x${i})`, thresholdRange: { max: 1 }, relative: { compare: 'ratio' as const, max: 2 } }));
    const out = await measure({ canary: makeCanary(metrics), templates, provider, signal, concurrency: 3 });
    expect(out).toHaveLength(6);
    expect(provider.queries).toHaveLength(12);
    expect(provider.maxInFlight).toBe(3);
  });

  it('uses the provider of a template naming its own Prometheus', async () => {
    const main = new FakeProvider([[/./, v(1)]]);
    const other = new FakeProvider([[/./, v(7)]]);
    const set = templates.clone().add({
      apiVersion: 'routeshift.io/v1alpha1',
      kind: 'MetricTemplate',
      metadata: { name: 'remote', namespace: 'shop' },
      spec: { query: 'sum(remote_metric)', provider: { type: 'prometheus', address: 'http://thanos:9090' } },
    });
    const seen: string[] = [];
    const out = await measure({
      canary: makeCanary([{ name: 'r', templateRef: { name: 'remote' }, thresholdRange: { max: 10 } }]),
      templates: set,
      provider: main,
      signal,
      providerFor: (address) => (seen.push(address), other),
    });
    expect(out).toEqual([{ name: 'r', canary: v(7) }]);
    expect(seen).toEqual(['http://thanos:9090']);
    expect(main.queries).toHaveLength(0);
  });

  it('evaluates every query of a tick at the same time, from the clock', async () => {
    const clock = new FakeClock(Date.UTC(2026, 2, 1, 12, 0, 0));
    const provider = new FakeProvider([[/./, v(1)]], 5);
    const canary = makeCanary([{ name: 'request-success-rate', mode: 'sequential', relative: { compare: 'difference', min: -1 }, minRequests: 5 }]);
    await measure({ canary, templates, provider, signal, clock });
    expect(provider.queries).toHaveLength(7);
    expect(new Set(provider.times)).toEqual(new Set([Date.UTC(2026, 2, 1, 12, 0, 0)]));
  });

  it('rejects when aborted', async () => {
    const ctrl = new AbortController();
    const provider = new FakeProvider([[/./, v(1)]], 20);
    const pending = measure({ canary: makeCanary([{ name: 'request-success-rate', thresholdRange: { min: 1 } }]), templates, provider, signal: ctrl.signal });
    ctrl.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
  });
});
