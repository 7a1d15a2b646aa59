import { describe, expect, it } from '@jest/globals';
import type { QueryOptions, QueryOutcome, RangeOutcome, RangeQueryOptions, VectorOutcome } from '../metrics/provider.js';
import { loadBuiltinTemplates, TemplateSet } from '../metrics/templates.js';
import { parseTime } from '../cli/commands/replay.js';
import { againstItself, replay } from './engine.js';
import { ReplayInputError, ReplayNoDataError, ReplayUnavailableError } from './errors.js';
import { makeGrid } from './grid.js';
import { prefetch } from './prefetch.js';
import { renderReplayTable } from './table.js';
import { replayCharts } from '../report/replay-report.js';
import { makeCanary } from '../../test/support/canary-fixture.js';

const signal = new AbortController().signal;
const templates = new TemplateSet(loadBuiltinTemplates());
const T0 = Date.parse('2026-12-01T00:00:00Z');
const MIN = 60_000;

/** A Prometheus stand-in: `value(query, t)` answers both instant and range queries; counts requests. */
class FakeProm {
  instant = 0;
  range = 0;
  constructor(
    private readonly value: (query: string, t: number) => number | undefined | 'many',
    private readonly down = false,
  ) {}
  async query(q: string, o: QueryOptions): Promise<QueryOutcome> {
    this.instant++;
    if (this.down) return { kind: 'error', code: 'PrometheusUnreachable', message: 'cannot reach Prometheus', transient: true };
    const v = this.value(q, o.time?.getTime() ?? Date.now());
    if (v === undefined) return { kind: 'no-data' };
    if (v === 'many') return { kind: 'multiple-series', count: 2 };
    return Number.isFinite(v) ? { kind: 'value', value: v } : { kind: 'not-a-number', raw: 'NaN' };
  }
  async queryVector(): Promise<VectorOutcome> {
    throw new Error('not used');
  }
  async ping(): Promise<void> {
    if (this.down) throw new Error('cannot reach Prometheus at http://nowhere');
  }
  async queryRange(q: string, o: RangeQueryOptions): Promise<RangeOutcome> {
    this.range++;
    const a: Array<[number, number]> = [];
    const b: Array<[number, number]> = [];
    for (let t = o.start.getTime(); t <= o.end.getTime(); t += o.stepMs) {
      const v = this.value(q, t);
      if (v === 'many') {
        a.push([t, 1]);
        b.push([t, 2]);
      } else if (v !== undefined) a.push([t, v]);
    }
    return { kind: 'matrix', series: [{ labels: { s: 'a' }, points: a }, { labels: { s: 'b' }, points: b }] };
  }
}

const canary = makeCanary([{ name: 'request-success-rate', thresholdRange: { min: 99 } }], { provider: 'app', analysis: { interval: '1m', threshold: 2, stepWeights: [10, 50] } });
const isSuccess = (q: string): boolean => q.includes('status!~');

describe('replay engine', () => {
  it('walks the plan: start, advance, promote, and starts the next rollout after a promotion', async () => {
    const prom = new FakeProm((q) => (isSuccess(q) ? 99.5 : 1000));
    const r = await replay({ canary, templates, provider: prom, from: T0, to: T0 + 5 * MIN, signal });
    expect(r.steps.map((s) => `${s.weight}:${s.decision.action}`)).toEqual(['0:advance', '10:advance', '50:promote', '0:advance', '10:advance', '50:promote']);
    expect(r.rollouts.map((x) => x.outcome)).toEqual(['promoted', 'promoted']);
    expect(r.reads).toBe('range');
    expect(prom.instant).toBe(0);
  });

  it('gives the same steps from instant queries as from range queries', async () => {
    const value = (q: string, t: number): number | undefined => (isSuccess(q) ? (t >= T0 + 3 * MIN ? 90 : 100) : undefined);
    const range = await replay({ canary, templates, provider: new FakeProm(value), from: T0, to: T0 + 8 * MIN, signal });
    const instant = await replay({ canary, templates, provider: new FakeProm(value), from: T0, to: T0 + 8 * MIN, signal, range: false });
    expect(instant.steps).toEqual(range.steps);
    // 0 start, 1m advance, 2m promote, 3m the next rollout starts, 4m the first failed check, 5m the second.
    expect(range.steps.find((s) => s.decision.action === 'rollback')?.time).toBe(new Date(T0 + 5 * MIN).toISOString());
  });

  it('refuses a window where a metric never had data', async () => {
    await expect(replay({ canary, templates, provider: new FakeProm(() => undefined), from: T0, to: T0 + 5 * MIN, signal })).rejects.toBeInstanceOf(ReplayNoDataError);
  });

  it('stops when Prometheus is down instead of recording holds', async () => {
    await expect(replay({ canary, templates, provider: new FakeProm(() => 1, true), from: T0, to: T0 + 5 * MIN, signal })).rejects.toBeInstanceOf(ReplayUnavailableError);
  });

  it('refuses an empty or reversed window', async () => {
    await expect(replay({ canary, templates, provider: new FakeProm(() => 1), from: T0, to: T0, signal })).rejects.toBeInstanceOf(ReplayInputError);
  });

  it('follows recorded weights and analyses only while the canary had a share', async () => {
    // 10 is the first step: every analysis advances, and the weight stays what was recorded.
    const weight = (t: number): number | undefined => (t >= T0 + 2 * MIN && t <= T0 + 6 * MIN ? 10 : 0);
    const prom = new FakeProm((q, t) => (q.includes('routeshift_canary_weight') ? weight(t) : isSuccess(q) ? 100 : undefined));
    const r = await replay({ canary, templates, provider: prom, from: T0, to: T0 + 9 * MIN, signal, weights: 'recorded' });
    expect(r.steps.map((s) => new Date(s.time).getTime() - T0)).toEqual([3, 4, 5, 6].map((m) => m * MIN));
    expect(r.steps.map((s) => `${s.weight}:${s.decision.action}`)).toEqual(['10:advance', '10:advance', '10:advance', '10:advance']);
    expect(r.rollouts).toEqual([expect.objectContaining({ outcome: 'unfinished', end: new Date(T0 + 7 * MIN).toISOString() })]);
  });

  it('the table and the charts show the rollback', async () => {
    const prom = new FakeProm((q, t) => (isSuccess(q) ? (t >= T0 + 2 * MIN ? 95 : 100) : undefined));
    const r = await replay({ canary, templates, provider: prom, from: T0, to: T0 + 4 * MIN, signal });
    expect(renderReplayTable(r, new Set(['rollback']))).toMatch(/rollback \(ThresholdReached\)\s+request-success-rate=95 fail/);
    const [chart] = replayCharts(r);
    expect(chart?.lines.map((l) => l.label)).toEqual(['request-success-rate', 'min 99', 'failed check']);
    expect(chart?.marks.map((m) => m.t * 1000)).toEqual([T0 + 3 * MIN]);
  });
});

describe('prefetch', () => {
  it('reads a value, no data, NaN and several series per step, in chunks under the points limit', async () => {
    const grid = makeGrid(T0, T0 + 3 * MIN, MIN);
    const prom = new FakeProm((_q, t) => [5, undefined, NaN, 'many' as const][(t - T0) / MIN]);
    const tables = await prefetch(prom, ['q'], grid, signal);
    expect(tables.get('q')).toEqual([{ kind: 'value', value: 5 }, undefined, { kind: 'not-a-number', raw: 'NaN' }, { kind: 'multiple-series', count: 2 }]);
    const long = makeGrid(T0, T0 + 25_000 * MIN, MIN);
    const counter = new FakeProm(() => 1);
    await prefetch(counter, ['q'], long, signal);
    expect(counter.range).toBe(3);
  });
});

describe('stable only and times', () => {
  it('points the canary side at the stable', () => {
    const c = againstItself(canary);
    expect(c.spec.canary).toEqual(canary.spec.stable);
    expect(canary.spec.canary.name).toBe('backend-v2');
  });

  it('parses RFC 3339, Unix seconds and now-<duration>', () => {
    expect(parseTime('2026-12-01T00:00:00Z', '--from', 0)).toBe(T0);
    expect(parseTime(String(T0 / 1000), '--from', 0)).toBe(T0);
    expect(parseTime('now-90m', '--from', T0)).toBe(T0 - 90 * MIN);
    expect(parseTime('now', '--to', T0)).toBe(T0);
    expect(() => parseTime('yesterday', '--from', T0)).toThrow(/not a time/);
  });
});
