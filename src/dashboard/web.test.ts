/**
 * The pure parts of `routeshift dashboard`: list rows, the decision time line, hook results, history
 * and charts, the poll interval, the Prometheus range, the bind and Host checks, and the state's
 * snapshots. (test/unit/dashboard.test.ts is about the Grafana dashboard JSON.)
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { fromRoot } from '../core/paths.js';
import type { Canary } from '../api/canary.js';
import type { EventSummary } from '../cli/render.js';
import { canaryDetail } from './detail.js';
import { CanaryHistory, MAX_POINTS } from './history.js';
import { canaryRow, decisionsFrom, formatAge, hookResultsFrom, pollIntervalMs } from './model.js';
import { checkBindAddress, DashboardBindError, hostAllowed, isLoopback, renderPage, startDashboardServer } from './server.js';
import { request } from 'node:http';
import { rangeFor, splitSeries } from './sources.js';
import { DashboardState } from './state.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function canary(status: Canary['status'] = {}, interval = '5s'): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'backend', namespace: 'shop', creationTimestamp: new Date(T0).toISOString() },
    spec: {
      routeRef: { name: 'backend-split' },
      stable: { name: 'backend-v1', port: 80 },
      canary: { name: 'backend-v2', port: 80 },
      analysis: {
        interval,
        threshold: 2,
        stepWeights: [10, 25, 50, 75],
        metrics: [
          { name: 'request-success-rate', thresholdRange: { min: 99 } },
          { name: 'errors', mode: 'sequential' },
        ],
      },
    },
    status,
  };
}

function ev(reason: string, message: string, at: number, type = 'Normal'): EventSummary {
  return { name: `e-${reason}-${at}`, type, reason, message, count: 1, firstTimestamp: new Date(at).toISOString(), lastTimestamp: new Date(at).toISOString() };
}

describe('list rows', () => {
  it('shows phase, both weights, the step of the steps, failed checks of the threshold and the age', () => {
    const row = canaryRow(canary({ phase: 'Progressing', canaryWeight: 25, stepIndex: 1, failedChecks: 1 }), T0 + 95_000);
    expect(row).toMatchObject({ key: 'shop/backend', phase: 'Progressing', stable: 'backend-v1', canary: 'backend-v2', canaryWeight: 25, stableWeight: 75, step: '2/4', failedChecks: 1, threshold: 2, ageSeconds: 95 });
    expect(canaryRow(canary({ stepIndex: -1 }), T0).step).toBe('0/4');
  });

  it('names the live slot stable when the Canary names its workloads (spec.workloads)', () => {
    const c = canary({ phase: 'Succeeded', canaryWeight: 0, workloads: { live: 'backend-v2' } });
    c.spec.workloads = { stable: { name: 'backend-v1' }, canary: { name: 'backend-v2' } };
    expect(canaryRow(c, T0)).toMatchObject({ stable: 'backend-v2', canary: 'backend-v1' });
  });

  it('a Canary the controller has not seen yet has no weights, no step and phase Unknown', () => {
    expect(canaryRow(canary(undefined), T0)).toMatchObject({ phase: 'Unknown', canaryWeight: null, stableWeight: null, step: '', failedChecks: 0 });
  });

  it('formats the age as kubectl does, roughly', () => {
    expect([formatAge(null), formatAge(42), formatAge(300), formatAge(7200), formatAge(200_000)]).toEqual(['', '42s', '5m', '2h', '2d']);
  });
});

describe('time line and hooks', () => {
  it('keeps the decisions, oldest first, and tells rollbacks, promotions and failed checks apart', () => {
    const d = decisionsFrom([ev('RolledBack', 'Rolled back', T0 + 3000), ev('WaitingForRoute', 'x', T0 + 500), ev('CheckFailed', 'rate 0% < 99', T0 + 1000), ev('RollbackStarted', 'request-success-rate failed 2 checks', T0 + 2000)]);
    expect(d.map((x) => [x.reason, x.kind, x.t])).toEqual([
      ['CheckFailed', 'failed-check', (T0 + 1000) / 1000],
      ['RollbackStarted', 'rollback', (T0 + 2000) / 1000],
      ['RolledBack', 'rollback', (T0 + 3000) / 1000],
    ]);
    expect(decisionsFrom([ev('Promoted', 'p', T0)])[0]?.kind).toBe('promote');
  });

  it("hooks' results are the HookFailed and WaitingForGate Events", () => {
    const hooks = hookResultsFrom([ev('HookFailed', 'pre-rollout check: HTTP 500', T0 + 10), ev('WeightAdvanced', 'x', T0), ev('WaitingForGate', 'gate closed', T0)]);
    expect(hooks.map((h) => h.reason)).toEqual(['WaitingForGate', 'HookFailed']);
  });
});

describe('poll interval', () => {
  it('is never shorter than the shortest analysis interval, nor than the floor, and at most the ceiling', () => {
    expect(pollIntervalMs([canary({}, '30s'), canary({}, '1m')], 1000, 60_000)).toBe(30_000);
    expect(pollIntervalMs([canary({}, '100ms')], 1000, 60_000)).toBe(1000);
    expect(pollIntervalMs([canary({}, '10m')], 1000, 60_000)).toBe(60_000);
    expect(pollIntervalMs([], 1000, 60_000)).toBe(60_000);
    expect(pollIntervalMs([canary({}, 'soon'), canary({}, '20s')], 1000, 60_000)).toBe(20_000);
  });
});

describe('history and charts', () => {
  it('records weight changes as a staircase and each new analysis once', () => {
    const h = new CanaryHistory();
    const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
    const report = (v: number, verdict: 'pass' | 'fail') => [{ name: 'request-success-rate', value: v, threshold: '>= 99', verdict, message: '', time: at(0) }];
    expect(h.observe(canary({ canaryWeight: 10, lastAnalysisTime: at(5), lastAnalysis: report(100, 'pass') }), T0 / 1000 + 5)).toBe(true);
    expect(h.observe(canary({ canaryWeight: 10, lastAnalysisTime: at(5), lastAnalysis: report(100, 'pass') }), T0 / 1000 + 6)).toBe(false);
    h.observe(canary({ canaryWeight: 25, lastAnalysisTime: at(10), lastAnalysis: report(50, 'fail') }), T0 / 1000 + 10);
    expect(h.weights.map((p) => p.weight)).toEqual([10, 10, 25]);
    expect(h.analyses).toHaveLength(2);

    const d = canaryDetail(canary({ phase: 'Progressing', canaryWeight: 25 }), h, [ev('WeightAdvanced', '10 -> 25', T0 + 10_000), ev('RolledBack', 'back', T0 + 12_000)], T0 + 20_000);
    expect(d.maxWeight).toBe(25);
    const [weights, metric, seq] = d.charts;
    expect(weights?.lines.map((l) => l.label)).toEqual(['canary %', 'stable %']);
    // The last weight is held up to now.
    expect(weights?.x[weights.x.length - 1]).toBe(T0 / 1000 + 20);
    expect(weights?.lines[1]?.values.slice(-1)).toEqual([75]);
    expect(weights?.marks.map((m) => m.color)).toEqual(['rgba(120,120,120,0.35)', '#d62728']);
    expect(metric?.lines.map((l) => l.label)).toEqual(['request-success-rate', 'min 99', 'failed check']);
    expect(metric?.lines[2]?.values).toEqual([null, 50]);
    expect(metric?.subtitle).toContain('threshold >= 99; 1 failed checks in 2 analyses');
    expect(seq?.lines.map((l) => l.label)).toEqual(['canary − stable (pp)', 'upper bound (pp)', 'worse']);
    expect(seq?.unit).toBe('pp');
  });

  it('draws a sequential metric as its evidence estimate against its upper bound and the tolerance', () => {
    const h = new CanaryHistory();
    const c = canary({ canaryWeight: 10, lastAnalysisTime: new Date(T0).toISOString(), evidence: [{ name: 'errors', canaryTotal: 100, canaryBad: 5, stableTotal: 900, stableBad: 9, estimate: 4, bound: 7.5, verdict: 'worse' }] });
    (c.spec.analysis.metrics ?? [])[1] = { name: 'errors', mode: 'sequential', sequential: { tolerance: 1 } };
    h.observe(c, T0 / 1000);
    const seq = canaryDetail(c, h, [], T0).charts[2];
    expect(seq?.lines.map((l) => [l.label, l.values])).toEqual([
      ['canary − stable (pp)', [4]],
      ['upper bound (pp)', [7.5]],
      ['tolerance 1', [1]],
      ['worse', [4]],
    ]);
  });

  it('takes weights from Prometheus only before the first watched one', () => {
    const h = new CanaryHistory();
    h.setPrometheus([{ t: 1, weight: 10 }, { t: 2, weight: 25 }, { t: 5, weight: 50 }], new Map());
    h.observe(canary({ canaryWeight: 50 }), 4);
    expect(h.weightSeries()).toEqual([{ t: 1, weight: 10 }, { t: 2, weight: 25 }, { t: 4, weight: 50 }]);
  });

  it('keeps at most MAX_POINTS weights', () => {
    const h = new CanaryHistory();
    for (let i = 0; i < MAX_POINTS + 10; i++) h.observe(canary({ canaryWeight: i % 2 ? 10 : 20 }), i);
    expect(h.weights.length).toBeLessThanOrEqual(MAX_POINTS);
  });
});

describe('Prometheus reads', () => {
  it('splits range results by Canary and by metric', () => {
    const out = splitSeries(
      [
        { metric: { namespace: 'shop', name: 'backend', metric: 'errors' }, values: [[2, '1'], [1, 'NaN']] },
        { metric: { namespace: 'shop', name: 'backend', metric: 'p99' }, values: [[1, '300']] },
      ],
      'metric',
    );
    expect(out.get('shop/backend')?.get('errors')).toEqual([{ t: 2, weight: 1 }]);
    expect(out.get('shop/backend')?.get('p99')).toEqual([{ t: 1, weight: 300 }]);
  });

  it('reads from the oldest Canary (at most 6 h back) in at most ~500 steps', () => {
    const now = T0 / 1000 + 3600;
    expect(rangeFor([canary()], now, 5)).toEqual({ start: T0 / 1000, end: now, step: 8 });
    expect(rangeFor([], now, 5)).toEqual({ start: now - 5, end: now, step: 5 });
    expect(rangeFor([canary()], T0 / 1000 + 86_400, 5).start).toBe(T0 / 1000 + 86_400 - 6 * 3600);
  });
});

describe('binding and Host', () => {
  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].map(isLoopback)).toEqual([true, true, true, true, true]);
    expect(['0.0.0.0', '10.0.0.1', '::', 'example.com'].map(isLoopback)).toEqual([false, false, false, false]);
  });

  it('refuses a non-loopback address unless allowed', () => {
    expect(() => checkBindAddress('0.0.0.0', false)).toThrow(DashboardBindError);
    expect(() => checkBindAddress('0.0.0.0', false)).toThrow(/--allow-remote/);
    expect(() => checkBindAddress('0.0.0.0', true)).not.toThrow();
    expect(() => checkBindAddress('127.0.0.1', false)).not.toThrow();
  });

  it('answers only loopback Host headers when it listens on loopback', () => {
    expect(hostAllowed('127.0.0.1:8642', true)).toBe(true);
    expect(hostAllowed('localhost:8642', true)).toBe(true);
    expect(hostAllowed('[::1]:8642', true)).toBe(true);
    expect(hostAllowed('evil.example:8642', true)).toBe(false);
    expect(hostAllowed(undefined, true)).toBe(false);
    expect(hostAllowed('dashboard.internal', false)).toBe(true);
  });
});

describe('state and page', () => {
  it('snapshots the list and the selected Canary with its Events, and tells listeners of changes', () => {
    const state = new DashboardState({ api: 'https://127.0.0.1:6443', prometheus: null }, () => T0 + 60_000);
    let changes = 0;
    state.onChange(() => changes++);
    state.resetCanaries([canary({ phase: 'Progressing', canaryWeight: 10 })]);
    state.resetEvents([{ metadata: { name: 'e1' }, involvedObject: { kind: 'Canary', namespace: 'shop', name: 'backend' }, reason: 'RollbackStarted', message: 'request-success-rate failed', lastTimestamp: new Date(T0).toISOString() }]);
    state.kubeEvent('ADDED', { metadata: { name: 'e2' }, involvedObject: { kind: 'Pod', namespace: 'shop', name: 'x' }, reason: 'Pulled', message: 'x' });
    state.setBanner('prometheus', 'down');
    state.setBanner('prometheus', 'down');
    expect(changes).toBe(4);
    const s = state.snapshot('shop/backend');
    expect(s.rows.map((r) => r.key)).toEqual(['shop/backend']);
    expect(s.banners).toEqual({ prometheus: 'down' });
    expect(s.detail?.decisions).toEqual([expect.objectContaining({ reason: 'RollbackStarted', message: 'request-success-rate failed', kind: 'rollback' })]);
    expect(s.detail?.events).toHaveLength(1);
    expect(state.snapshot('shop/gone').detail).toBeNull();
    state.canaryEvent('DELETED', canary());
    expect(state.snapshot(undefined).rows).toEqual([]);
  });

  it('the page carries uPlot, the chart code and its script, and loads nothing from elsewhere', () => {
    const page = renderPage();
    expect(page).toContain('uPlot');
    expect(page).toContain('window.routeshiftDrawCharts = ');
    expect(page).toContain("new EventSource('api/stream'");
    expect(page).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    // The only address in it is in uPlot's licence comment.
    expect([...page.matchAll(/https?:\/\/[^\s'"]+/g)].map((m) => m[0])).toEqual(['https://github.com/leeoniya/uPlot']);
  });
});

describe('product boundary', () => {
  it('src/dashboard imports neither the sandbox nor the benchmarks', () => {
    const dir = fromRoot('src/dashboard');
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(4);
    const offending = files.filter((f) => /from '\.\.\/(sandbox|bench)\//.test(readFileSync(`${dir}/${f}`, 'utf8')));
    expect(offending).toEqual([]);
  });
});

describe('the server', () => {
  it('streams a snapshot at once and another after each change, and refuses writes', async () => {
    const state = new DashboardState({ api: 'https://127.0.0.1:6443', prometheus: null }, () => T0);
    const ac = new AbortController();
    const srv = await startDashboardServer({ state, host: '127.0.0.1', port: 0, signal: ac.signal });
    try {
      const frames: string[] = [];
      let gotFrame: () => void = () => undefined;
      const req = request(`${srv.url}api/stream?canary=shop/backend`, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.on('data', (d: Buffer) => {
          frames.push(...d.toString().split('\n\n').filter((f) => f.startsWith('event: state')));
          gotFrame();
        });
      });
      req.end();
      const next = (n: number): Promise<void> => new Promise((resolve) => {
        gotFrame = () => frames.length >= n && resolve();
        gotFrame();
      });
      await next(1);
      expect(JSON.parse((frames[0] as string).split('data: ')[1] as string)).toMatchObject({ rows: [], detail: null });
      state.resetCanaries([canary({ phase: 'Progressing', canaryWeight: 10 })]);
      await next(2);
      expect(JSON.parse((frames[1] as string).split('data: ')[1] as string)).toMatchObject({ rows: [{ key: 'shop/backend', canaryWeight: 10 }], detail: { row: { phase: 'Progressing' } } });
      req.destroy();
      const post = await fetch(`${srv.url}api/state`, { method: 'POST' });
      expect(post.status).toBe(405);
      const get = await fetch(`${srv.url}api/state`);
      expect(((await get.json()) as { rows: unknown[] }).rows).toHaveLength(1);
      expect((await fetch(`${srv.url}nothing`)).status).toBe(404);
    } finally {
      ac.abort();
      await srv.closed;
    }
  });
});
