/**
 * Query batching against the real Prometheus: every query the built-in Istio templates produce for a
 * set of Services (healthy, flaky and slow, all 5xx, no traffic, absent), plus a scalar and a
 * many-series query, answered once each on their own and once through one batched request at the
 * same evaluation time. The outcomes must be identical, and the batch must take a handful of requests.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { MetricSpec } from '../../src/api/canary.js';
import { silentLogger } from '../../src/core/logger.js';
import { BatchingProvider } from '../../src/metrics/batch.js';
import { PrometheusProvider } from '../../src/metrics/prometheus-provider.js';
import type { QueryOutcome } from '../../src/metrics/provider.js';
import { loadBuiltinTemplates, resolveMetric, TemplateSet } from '../../src/metrics/templates.js';
import { startPrometheus, type PrometheusServer } from '../../src/sandbox/prometheus.js';
import { makeCanary } from '../support/canary-fixture.js';
import { startMeshTarget, type MeshTarget } from '../support/mesh-target.js';

jest.setTimeout(120_000);

const signal = new AbortController().signal;
const templates = new TemplateSet(loadBuiltinTemplates());
const SERVICES = ['healthy', 'flaky', 'dead', 'quiet', 'absent'];

let prometheus: PrometheusServer;
let target: MeshTarget;
let plain: PrometheusProvider;
let requests = 0;

beforeAll(async () => {
  target = await startMeshTarget([
    { service: 'healthy', namespace: 'shop', route: 'r', ok: 50, errors: 0, latencyMs: 20 },
    { service: 'flaky', namespace: 'shop', route: 'r', ok: 49, errors: 1, latencyMs: 700 },
    { service: 'dead', namespace: 'shop', route: 'r', ok: 0, errors: 20, latencyMs: 5 },
    { service: 'quiet', namespace: 'shop', route: 'r', ok: 0, errors: 0, latencyMs: 5 },
  ]);
  prometheus = await startPrometheus({ scrapeIntervalMs: 1000, targets: [{ job: 'mesh', address: target.address }], logger: silentLogger() });
  await prometheus.waitForTarget('mesh', signal, 60_000);
  plain = new PrometheusProvider({ address: prometheus.url, retries: 0, timeoutMs: 10_000, onRequest: () => requests++ });
});

afterAll(async () => {
  plain?.close();
  await prometheus?.stop();
  await target?.stop();
});

function queriesFor(service: string): string[] {
  const metrics: MetricSpec[] = [
    { name: 'request-success-rate', interval: '10s', thresholdRange: { min: 99 }, minRequests: 10 },
    { name: 'request-duration', interval: '10s', thresholdRange: { max: 500 }, minRequests: 10 },
    { name: 'request-success-rate', mode: 'sequential' },
  ];
  const c = makeCanary(metrics, { provider: 'istio' });
  c.spec.canary.name = service;
  c.spec.analysis.interval = '10s';
  return metrics.flatMap((_, i) => {
    const m = resolveMetric(c, i, 'istio', templates);
    return [m.canary.query, m.canary.requestsQuery, m.canary.totalQuery, m.canary.badQuery].filter((q): q is string => typeof q === 'string');
  });
}

const round = (o: QueryOutcome): QueryOutcome => (o.kind === 'value' ? { kind: 'value', value: Number(o.value.toPrecision(12)) } : o);

describe('batched queries against real Prometheus', () => {
  it('answer exactly as the same queries sent one by one, in a few requests', async () => {
    // An evaluation time with enough scrapes behind it for a 10 s rate on every series.
    const probes = [queriesFor('healthy')[0] as string, queriesFor('dead')[0] as string];
    const deadline = Date.now() + 30_000;
    let time = new Date(Date.now() - 1_000);
    for (;;) {
      const t = time;
      const answers = await Promise.all(probes.map((q) => plain.query(q, { signal, time: t })));
      if (answers.every((a) => a.kind === 'value') || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
      time = new Date(Date.now() - 1_000);
    }

    const queries = [...new Set([...SERVICES.flatMap(queriesFor), '1', 'rate(istio_requests_total[10s])'])];
    const alone = await Promise.all(queries.map((q) => plain.query(q, { signal, time })));

    requests = 0;
    const batched = new BatchingProvider(plain, { windowMs: 20 });
    const together = await Promise.all(queries.map((q) => batched.query(q, { signal, time })));

    expect(together.map(round)).toEqual(alone.map(round));
    // The cases that make batching delicate are all here: every 5xx (`or vector(0)` per query), 0/0 and no series.
    const byQuery = new Map(queries.map((q, i) => [q, alone[i] as QueryOutcome]));
    const successRate = (svc: string): QueryOutcome | undefined => byQuery.get(queriesFor(svc)[0] as string);
    expect(successRate('dead')).toEqual({ kind: 'value', value: 0 });
    expect(successRate('quiet')?.kind).toBe('not-a-number');
    expect(successRate('absent')?.kind).toBe('no-data');
    expect(byQuery.get('rate(istio_requests_total[10s])')?.kind).toBe('multiple-series');
    // One combined request, then the scalar found by halving (two requests a level) and sent alone.
    process.stdout.write(`metrics-batch: ${queries.length} queries, ${requests} requests batched\n`);
    expect(queries.length).toBeGreaterThan(25);
    expect(requests).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(queries.length)) + 2);
  });
});
