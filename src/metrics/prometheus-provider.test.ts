import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { AbortedError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import { PrometheusError, PrometheusProvider, type PrometheusProviderOptions, type PrometheusRequestEvent } from './prometheus-provider.js';
import { createMetricProvider } from './index.js';
import { prom, startFakeHttp, type FakeHttpServer } from '../../test/support/fake-http.js';

let fake: FakeHttpServer;
const providers: PrometheusProvider[] = [];
const signal = new AbortController().signal;

/** Sleeps are recorded, not waited: Retry-After handling is asserted by what was asked for. */
function recordingClock(): Clock & { slept: number[] } {
  const slept: number[] = [];
  return { slept, now: () => Date.now(), sleep: async (ms) => void slept.push(ms) };
}

function provider(extra: Partial<PrometheusProviderOptions> = {}): PrometheusProvider {
  const p = new PrometheusProvider({ address: fake.url, retries: 2, retryMinDelayMs: 1, retryMaxDelayMs: 50, timeoutMs: 2000, ...extra });
  providers.push(p);
  return p;
}

beforeAll(async () => {
  fake = await startFakeHttp();
});
afterAll(async () => {
  for (const p of providers) p.close();
  await fake.stop();
});
beforeEach(() => {
  fake.requests.length = 0;
  fake.fallback = () => ({ status: 500, body: 'unexpected request' });
});

describe('PrometheusProvider outcomes', () => {
  it('maps a single sample to a value and sends the query', async () => {
    fake.reply({ body: prom.vector({ value: '99.5' }) });
    await expect(provider().query('sum(up)', { signal })).resolves.toEqual({ kind: 'value', value: 99.5 });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.method).toBe('GET');
    expect(fake.requests[0]?.url.pathname).toBe('/api/v1/query');
    expect(fake.requests[0]?.url.searchParams.get('query')).toBe('sum(up)');
  });

  it('maps an empty vector to no-data, never to 0', async () => {
    fake.reply({ body: prom.vector() });
    await expect(provider().query('x', { signal })).resolves.toEqual({ kind: 'no-data' });
  });

  it.each(['NaN', '+Inf', '-Inf'])('maps %s to not-a-number', async (raw) => {
    fake.reply({ body: prom.vector({ value: raw }) });
    await expect(provider().query('x', { signal })).resolves.toEqual({ kind: 'not-a-number', raw });
  });

  it('maps several series to multiple-series', async () => {
    fake.reply({ body: prom.vector({ metric: { a: '1' }, value: '1' }, { metric: { a: '2' }, value: '2' }, { metric: { a: '3' }, value: '3' }) });
    await expect(provider().query('x', { signal })).resolves.toEqual({ kind: 'multiple-series', count: 3 });
  });

  it('reads scalar results, including a NaN scalar', async () => {
    fake.reply({ body: prom.scalar('0.25') }, { body: prom.scalar('NaN') });
    const p = provider();
    await expect(p.query('0.25', { signal })).resolves.toEqual({ kind: 'value', value: 0.25 });
    await expect(p.query('0/0', { signal })).resolves.toEqual({ kind: 'not-a-number', raw: 'NaN' });
  });

  it('rejects a range vector result as a bad query', async () => {
    fake.reply({ body: prom.matrix() });
    const out = await provider().query('x[1m]', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusBadQuery', transient: false });
  });

  it('reports a non-JSON answer as PrometheusBadResponse without retrying', async () => {
    fake.reply({ status: 200, body: '<html>login</html>', headers: { 'Content-Type': 'text/html' } });
    const out = await provider().query('x', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusBadResponse', transient: false });
    expect(fake.requests).toHaveLength(1);
  });

  it('sends the evaluation time', async () => {
    fake.reply({ body: prom.vector({ value: '1' }) });
    await provider().query('x', { signal, time: new Date(1_700_000_123_456) });
    expect(fake.requests[0]?.url.searchParams.get('time')).toBe('1700000123.456');
  });

  it('sends long queries as a form POST', async () => {
    fake.reply({ body: prom.vector({ value: '7' }) });
    const long = `sum(up{job=~"${'a|'.repeat(50)}b"})`;
    await expect(provider({ postAboveLength: 40 }).query(long, { signal })).resolves.toEqual({ kind: 'value', value: 7 });
    const req = fake.requests[0];
    expect(req?.method).toBe('POST');
    expect(req?.headers['content-type']).toContain('application/x-www-form-urlencoded');
    expect(new URLSearchParams(req?.body).get('query')).toBe(long);
  });

  it('returns every series from queryVector, NaN included', async () => {
    fake.reply({ body: prom.vector({ metric: { svc: 'a' }, value: '1.5' }, { metric: { svc: 'b' }, value: 'NaN' }) });
    const out = await provider().queryVector('x', { signal });
    expect(out.kind).toBe('vector');
    if (out.kind !== 'vector') return;
    expect(out.samples[0]).toEqual({ labels: { svc: 'a' }, value: 1.5 });
    expect(out.samples[1]?.labels).toEqual({ svc: 'b' });
    expect(Number.isNaN(out.samples[1]?.value)).toBe(true);
  });
});

describe('PrometheusProvider retries', () => {
  it('retries a 503 then succeeds, reporting every attempt', async () => {
    const events: PrometheusRequestEvent[] = [];
    fake.reply({ status: 503, body: 'overloaded' }, { body: prom.vector({ value: '42' }) });
    const out = await provider({ onRequest: (e) => events.push(e) }).query('x', { signal });
    expect(out).toEqual({ kind: 'value', value: 42 });
    expect(fake.requests).toHaveLength(2);
    expect(events.map((e) => [e.attempt, e.outcome, e.status])).toEqual([
      [1, 'PrometheusHttpError', 503],
      [2, 'value', 200],
    ]);
    expect(events.every((e) => e.durationMs >= 0 && e.path === '/api/v1/query')).toBe(true);
  });

  it('honours Retry-After on 429 within the cap', async () => {
    const clock = recordingClock();
    fake.reply({ status: 429, headers: { 'Retry-After': '120' }, body: 'slow down' }, { status: 429, headers: { 'Retry-After': '0.02' } }, {
      body: prom.vector({ value: '1' }),
    });
    const out = await provider({ clock, retryMaxDelayMs: 50 }).query('x', { signal });
    expect(out).toEqual({ kind: 'value', value: 1 });
    expect(clock.slept).toEqual([50, 20]);
    expect(fake.requests).toHaveLength(3);
  });

  it('gives up after the retries with a transient error', async () => {
    fake.fallback = () => ({ status: 502, body: 'bad gateway' });
    const out = await provider({ retries: 2 }).query('x', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusHttpError', transient: true });
    expect(out.kind === 'error' && out.message).toContain('502');
    expect(fake.requests).toHaveLength(3);
  });

  it('does not retry a 400 bad_data and passes on Prometheus’ message', async () => {
    fake.reply({ status: 400, body: prom.error('bad_data', '1:5: parse error: unexpected end of input') });
    const out = await provider().query('sum(', { signal });
    expect(out).toEqual({
      kind: 'error',
      code: 'PrometheusBadQuery',
      message: '1:5: parse error: unexpected end of input',
      transient: false,
    });
    expect(fake.requests).toHaveLength(1);
  });

  it('does not retry a 401', async () => {
    fake.reply({ status: 401, body: 'Unauthorized' });
    const out = await provider().query('x', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusHttpError', transient: false });
    expect(fake.requests).toHaveLength(1);
  });

  it('maps a Prometheus query timeout (503 errorType timeout) to PrometheusTimeout', async () => {
    fake.fallback = () => ({ status: 503, body: prom.error('timeout', 'query timed out in expression evaluation') });
    const out = await provider({ retries: 1 }).query('x', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusTimeout', transient: true });
    expect(fake.requests).toHaveLength(2);
  });

  it('times out a request that gets no answer', async () => {
    fake.fallback = () => ({ hang: true });
    const out = await provider({ retries: 1, timeoutMs: 100 }).query('x', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusTimeout', transient: true });
    expect(fake.requests).toHaveLength(2);
  });

  it('retries a reset connection', async () => {
    fake.reply({ destroy: true }, { body: prom.vector({ value: '3' }) });
    await expect(provider().query('x', { signal })).resolves.toEqual({ kind: 'value', value: 3 });
    expect(fake.requests).toHaveLength(2);
  });

  it('reports a refused connection as transient PrometheusUnreachable', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const p = new PrometheusProvider({ address: `http://127.0.0.1:${port}`, retries: 1, retryMinDelayMs: 1 });
    providers.push(p);
    const out = await p.query('x', { signal });
    expect(out).toMatchObject({ kind: 'error', code: 'PrometheusUnreachable', transient: true });
    await expect(p.ping(signal)).rejects.toMatchObject({ code: 'PrometheusUnreachable', transient: true });
  });

  it('stops at once when the caller aborts', async () => {
    fake.fallback = () => ({ hang: true });
    const ctrl = new AbortController();
    const pending = provider({ timeoutMs: 60_000 }).query('x', { signal: ctrl.signal });
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    ctrl.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects an already aborted signal without a request', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(provider().query('x', { signal: ctrl.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('PrometheusProvider auth and ping', () => {
  it('sends a bearer token and custom headers', async () => {
    fake.reply({ body: prom.vector({ value: '1' }) });
    await provider({ bearerToken: 's3cret', headers: { 'X-Scope-OrgID': 'tenant-a' } }).query('x', { signal });
    expect(fake.requests[0]?.headers.authorization).toBe('Bearer s3cret');
    expect(fake.requests[0]?.headers['x-scope-orgid']).toBe('tenant-a');
  });

  it('sends basic auth', async () => {
    fake.reply({ body: prom.vector({ value: '1' }) });
    await provider({ basicAuth: { username: 'prom', password: 'p@ss' } }).query('x', { signal });
    expect(fake.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('prom:p@ss').toString('base64')}`);
  });

  it('keeps a path prefix in the address', async () => {
    fake.reply({ body: prom.scalar('1') });
    await provider({ address: `${fake.url}/prometheus/` }).ping(signal);
    expect(fake.requests[0]?.url.pathname).toBe('/prometheus/api/v1/query');
  });

  it('ping rejects with the typed error of a failed query', async () => {
    fake.reply({ status: 403, body: 'forbidden' });
    const err = await provider().ping(signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusError);
    expect(err).toMatchObject({ code: 'PrometheusHttpError', transient: false, status: undefined });
  });

  it('createMetricProvider builds a Prometheus provider', async () => {
    fake.reply({ body: prom.vector({ value: '5' }) });
    const p = createMetricProvider({ address: fake.url, bearerToken: 't' });
    try {
      await expect(p.query('x', { signal })).resolves.toEqual({ kind: 'value', value: 5 });
      expect(fake.requests[0]?.headers.authorization).toBe('Bearer t');
    } finally {
      p.close();
    }
  });
});
