import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Canary, MeshProvider, MetricSpec } from '../../src/api/canary.js';
import { silentLogger } from '../../src/core/logger.js';
import { measure } from '../../src/metrics/measure.js';
import { PrometheusProvider } from '../../src/metrics/prometheus-provider.js';
import type { QueryOutcome } from '../../src/metrics/provider.js';
import { loadBuiltinTemplates, resolveMetric, TemplateSet } from '../../src/metrics/templates.js';
import { PrometheusMissingError, startPrometheus, type PrometheusServer } from '../../src/sandbox/prometheus.js';
import { makeCanary } from '../support/canary-fixture.js';
import { startMeshTarget, startRecordingProxy, type MeshTarget } from '../support/mesh-target.js';

/**
 * The real Prometheus (Debian's binary) scraping a target with every mesh's request metrics every
 * second. The canary Service answers 99 OK + 1 error per tick at 180 ms; stable 100 OK at 20 ms.
 */

// The project's testTimeout is not applied per project in jest 30; Prometheus needs ~5 s to discover a target.
jest.setTimeout(120_000);

const templates = new TemplateSet(loadBuiltinTemplates());
const signal = new AbortController().signal;
const WINDOW = '10s';

let prometheus: PrometheusServer;
let target: MeshTarget;
let provider: PrometheusProvider;

function canaryFor(metrics: MetricSpec[], canaryService = 'backend-v2', provider: MeshProvider = 'istio'): Canary {
  const c = makeCanary(metrics, { provider });
  c.spec.canary.name = canaryService;
  return c;
}

/** Polls until the query gives a value (the series need a couple of scrapes to have a rate). */
async function waitForValue(query: string, timeoutMs = 30_000): Promise<QueryOutcome> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = await provider.query(query, { signal });
    if (out.kind === 'value' || Date.now() > deadline) return out;
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  target = await startMeshTarget([
    { service: 'backend-v2', namespace: 'shop', route: 'backend', ok: 99, errors: 1, latencyMs: 180 },
    { service: 'backend-v1', namespace: 'shop', route: 'backend', ok: 100, errors: 0, latencyMs: 20 },
  ]);
  prometheus = await startPrometheus({ scrapeIntervalMs: 1000, targets: [{ job: 'mesh', address: target.address }], logger: silentLogger() });
  await prometheus.waitForTarget('mesh', signal, 60_000);
  provider = new PrometheusProvider({ address: prometheus.url, retries: 1, retryMinDelayMs: 50, timeoutMs: 5000 });
});

afterAll(async () => {
  provider?.close();
  await prometheus?.stop();
  await target?.stop();
});

describe('built-in Istio templates against real Prometheus', () => {
  it('measures the canary success rate at 99% and stable at 100%', async () => {
    const r = resolveMetric(canaryFor([{ name: 'request-success-rate', interval: WINDOW, thresholdRange: { min: 99 } }]), 0, 'istio', templates);
    const canary = await waitForValue(r.canary.query);
    expect(canary.kind).toBe('value');
    expect(canary.kind === 'value' && canary.value).toBeCloseTo(99, 1);
    const stable = await waitForValue(r.stable.query);
    expect(stable.kind === 'value' && stable.value).toBeCloseTo(100, 6);
  });

  it('measures p99 latency in the bucket holding the observations', async () => {
    const r = resolveMetric(canaryFor([{ name: 'request-duration', interval: WINDOW, thresholdRange: { max: 500 } }]), 0, 'istio', templates);
    const canary = await waitForValue(r.canary.query);
    const stable = await waitForValue(r.stable.query);
    // 180 ms falls in (100, 250]; 20 ms in (10, 25]. histogram_quantile interpolates inside the bucket.
    expect(canary.kind === 'value' && canary.value > 100 && canary.value <= 250).toBe(true);
    expect(stable.kind === 'value' && stable.value > 10 && stable.value <= 25).toBe(true);
  });

  it('measures a whole Canary: relative, request counts and sequential per-side counts', async () => {
    const c = canaryFor([
      { name: 'request-success-rate', interval: WINDOW, thresholdRange: { min: 99 }, relative: { compare: 'difference', min: -2 }, minRequests: 10 },
      { name: 'request-duration', interval: WINDOW, mode: 'sequential', sequential: { latencyBoundMs: 100 } },
    ]);
    await waitForValue(resolveMetric(c, 0, 'istio', templates).canary.query);
    const [sr, lat] = await measure({ canary: c, templates, provider, signal });
    expect(sr?.canary.kind === 'value' && sr.canary.value).toBeCloseTo(99, 1);
    expect(sr?.stable?.kind === 'value' && sr.stable.value).toBeCloseTo(100, 6);
    expect(sr?.requests?.kind === 'value' && sr.requests.value).toBeGreaterThan(100);
    const counts = lat?.counts;
    expect(counts?.canaryTotal.kind).toBe('value');
    // Every canary request (180 ms) is slower than 100 ms; no stable request (20 ms) is.
    if (counts?.canaryTotal.kind === 'value' && counts.canaryBad.kind === 'value') {
      expect(counts.canaryTotal.value).toBeGreaterThan(100);
      expect(counts.canaryBad.value).toBeCloseTo(counts.canaryTotal.value, 6);
    }
    expect(counts?.stableBad).toEqual({ kind: 'value', value: 0 });
  });
});

describe.each(['linkerd', 'cilium', 'kuma', 'traefik', 'app'] as const)('built-in %s templates against real Prometheus', (mesh) => {
  it('measure success rate, p99 in ms and per-side counts', async () => {
    const c = canaryFor(
      [
        { name: 'request-success-rate', interval: WINDOW, mode: 'sequential', relative: { compare: 'difference', min: -2 } },
        { name: 'request-duration', interval: WINDOW, mode: 'sequential', sequential: { latencyBoundMs: 100 }, relative: { compare: 'ratio', max: 2 } },
      ],
      'backend-v2',
      mesh,
    );
    await waitForValue(resolveMetric(c, 0, 'istio', templates).canary.query);
    await waitForValue(resolveMetric(c, 1, 'istio', templates).canary.query);
    const [sr, lat] = await measure({ canary: c, templates, provider, signal });
    expect(sr?.canary.kind === 'value' && sr.canary.value).toBeCloseTo(99, 1);
    expect(sr?.stable?.kind === 'value' && sr.stable.value).toBeCloseTo(100, 6);
    const srCounts = sr?.counts;
    if (srCounts?.canaryTotal.kind !== 'value' || srCounts.canaryBad.kind !== 'value') throw new Error(`no counts: ${JSON.stringify(srCounts)}`);
    expect(srCounts.canaryBad.value / srCounts.canaryTotal.value).toBeCloseTo(0.01, 4);
    expect(srCounts.stableBad).toEqual({ kind: 'value', value: 0 });
    // The mesh's unit (ms or s) is converted: p99 of 180 ms observations lies in (100, 250] ms.
    expect(lat?.canary.kind === 'value' && lat.canary.value > 100 && lat.canary.value <= 250).toBe(true);
    expect(lat?.stable?.kind === 'value' && lat.stable.value > 10 && lat.stable.value <= 25).toBe(true);
    const latCounts = lat?.counts;
    if (latCounts?.canaryTotal.kind !== 'value' || latCounts.canaryBad.kind !== 'value') throw new Error(`no counts: ${JSON.stringify(latCounts)}`);
    expect(latCounts.canaryTotal.value).toBeGreaterThan(100);
    expect(latCounts.canaryBad.value).toBeCloseTo(latCounts.canaryTotal.value, 6);
    expect(latCounts.stableBad).toEqual({ kind: 'value', value: 0 });
  });
});

describe('PrometheusProvider outcomes against real Prometheus', () => {
  it('gives no-data for a Service without traffic', async () => {
    const r = resolveMetric(canaryFor([{ name: 'request-success-rate', interval: WINDOW, thresholdRange: { min: 99 } }], 'ghost'), 0, 'istio', templates);
    await expect(provider.query(r.canary.query, { signal })).resolves.toEqual({ kind: 'no-data' });
  });

  it('gives not-a-number for 0/0', async () => {
    await expect(provider.query('0/0', { signal })).resolves.toEqual({ kind: 'not-a-number', raw: 'NaN' });
  });

  it('gives multiple-series for an unaggregated selector', async () => {
    await expect(provider.query('istio_requests_total{destination_service_namespace="shop"}', { signal })).resolves.toEqual({
      kind: 'multiple-series',
      count: 3,
    });
  });

  it('gives a non-transient PrometheusBadQuery with Prometheus’ message for a bad query', async () => {
    const out = await provider.query('sum(rate(istio_requests_total[10s])', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusBadQuery', transient: false });
    expect(out.kind === 'error' && out.message).toMatch(/parse error/);
  });

  it('returns every series from queryVector', async () => {
    const out = await provider.queryVector('sum by (destination_service_name) (istio_requests_total)', { signal });
    expect(out.kind === 'vector' && out.samples.map((s) => s.labels.destination_service_name).sort()).toEqual(['backend-v1', 'backend-v2']);
  });

  it('sends the bearer token (seen by a recording proxy in front of Prometheus)', async () => {
    const proxy = await startRecordingProxy(prometheus.url);
    const viaProxy = new PrometheusProvider({ address: proxy.url, bearerToken: 'tok-123', headers: { 'X-Scope-OrgID': 'team-a' } });
    try {
      await expect(viaProxy.query('vector(1)', { signal })).resolves.toEqual({ kind: 'value', value: 1 });
      expect(proxy.headers[0]?.authorization).toBe('Bearer tok-123');
      expect(proxy.headers[0]?.['x-scope-orgid']).toBe('team-a');
    } finally {
      viaProxy.close();
      await proxy.stop();
    }
  });

  it('gives a transient PrometheusUnreachable once Prometheus is stopped', async () => {
    const other = await startPrometheus({ logger: silentLogger() });
    const p = new PrometheusProvider({ address: other.url, retries: 1, retryMinDelayMs: 10 });
    try {
      await p.ping(signal);
      await other.stop();
      await expect(p.query('vector(1)', { signal })).resolves.toMatchObject({ kind: 'error', code: 'PrometheusUnreachable', transient: true });
      expect(() => process.kill(other.pid, 0)).toThrow();
    } finally {
      p.close();
      await other.stop();
    }
  });
});

describe('startPrometheus', () => {
  it('reloads targets and waits for the new job', async () => {
    await prometheus.setTargets([
      { job: 'mesh', address: target.address },
      { job: 'mesh-copy', address: target.address },
    ]);
    await prometheus.waitForTarget('mesh-copy', signal, 60_000);
    const out = await provider.query('up{job="mesh-copy"}', { signal });
    expect(out).toEqual({ kind: 'value', value: 1 });
  });

  it('names the Debian package when the binary is missing', async () => {
    const err = await startPrometheus({ binary: '/nonexistent/prometheus' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusMissingError);
    expect(err).toMatchObject({ code: 'PrometheusMissing', message: expect.stringContaining('apt-get install -y --no-install-recommends prometheus') });
  });
});
