import type { Canary } from '../api/canary.js';
import { rolloutForecast } from '../analysis/forecast.js';
import { trafficWarnings } from './traffic-check.js';
import type { MetricProvider, QueryOutcome } from '../metrics/provider.js';
import { loadTemplates } from '../metrics/templates.js';

const canary = (): Canary => ({
  apiVersion: 'routeshift.io/v1alpha1',
  kind: 'Canary',
  metadata: { name: 'backend', namespace: 'shop' },
  spec: {
    routeRef: { name: 'backend-split' },
    stable: { name: 'backend-v1', port: 80 },
    canary: { name: 'backend-v2', port: 80 },
    provider: 'istio',
    analysis: { interval: '1m', threshold: 5, stepWeights: [10, 30, 60], metrics: [{ name: 'request-success-rate', mode: 'sequential' }] },
  },
});

/** Answers every query with `perHour` requests for the stable and none for the canary; records the queries. */
function provider(perHour: number | QueryOutcome): MetricProvider & { queries: string[] } {
  const queries: string[] = [];
  return {
    queries,
    async query(q: string): Promise<QueryOutcome> {
      queries.push(q);
      if (typeof perHour !== 'number') return perHour;
      return q.includes('backend-v1') ? { kind: 'value', value: perHour } : { kind: 'no-data' };
    },
    async queryVector() {
      throw new Error('unused');
    },
    async ping() {
      throw new Error('unused');
    },
  };
}

describe('rolloutForecast', () => {
  it('gives each move the clean canary requests it needs and the time at the traffic', () => {
    const a = canary().spec.analysis;
    const fast = rolloutForecast(a, { name: 'sr', mode: 'sequential' }, 20);
    expect(fast.map((m) => [m.at, m.to])).toEqual([
      [10, 30],
      [30, 60],
      [60, 100],
    ]);
    expect(fast.every((m) => m.ms <= m.allowanceMs)).toBe(true);
    const promotion = fast.at(-1)?.needed ?? 0;
    expect(promotion).toBeGreaterThan(217);
    // At a tenth of the traffic the same evidence takes ten times as long (one interval at least).
    const slow = rolloutForecast(a, { name: 'sr', mode: 'sequential' }, 0.2);
    expect(slow[0]?.ms).toBeGreaterThan(slow[0]?.allowanceMs ?? Infinity);
  });
});

describe('routeshift validate --prometheus: traffic warnings', () => {
  const signal = new AbortController().signal;
  const now = new Date('2026-03-01T12:00:00Z');

  it('warns when the last hour\'s traffic cannot reach a decision before the time-out, from the metric\'s own count queries', async () => {
    const p = provider(720); // 0.2 requests per second
    const w = await trafficWarnings(canary(), await loadTemplates(), p, signal, now);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^request-success-rate: at 0\.20 requests per second over the last hour \(stable and canary\), the step to weight 30 needs about \d+ clean canary requests: about 78m at weight 10, beyond the time-out \(40m at one weight at most/);
    expect(p.queries).toHaveLength(2);
    expect(p.queries.every((q) => q.includes('[1h]'))).toBe(true);
  });

  it('says nothing when the traffic suffices, and says so when it cannot read it', async () => {
    expect(await trafficWarnings(canary(), await loadTemplates(), provider(72_000), signal, now)).toEqual([]);
    const down = await trafficWarnings(canary(), await loadTemplates(), provider({ kind: 'error', code: 'PrometheusUnreachable', message: 'connect ECONNREFUSED', transient: true }), signal, now);
    expect(down).toEqual(["request-success-rate: cannot read the last hour's traffic: PrometheusUnreachable: connect ECONNREFUSED"]);
  });

  it('ignores threshold-mode metrics', async () => {
    const c = canary();
    c.spec.analysis.metrics = [{ name: 'request-success-rate', thresholdRange: { min: 99 } }];
    const p = provider(1);
    expect(await trafficWarnings(c, await loadTemplates(), p, signal, now)).toEqual([]);
    expect(p.queries).toEqual([]);
  });
});
