/**
 * The stable baseline (spec.analysis.metrics[].sequential.stableBaseline): the stable's counts over the window
 * before the rollout, rendered from the stable side's own count queries with that window, queried once at the
 * rollout's start, and not again once status holds them.
 */
import { describe, expect, it } from '@jest/globals';
import type { Canary, MetricSpec } from '../api/canary.js';
import type { MetricProvider, QueryOptions, QueryOutcome } from './provider.js';
import { measure } from './measure.js';
import { loadBuiltinTemplates, metricProblems, resolveMetric, TemplateSet } from './templates.js';
import { makeCanary } from '../../test/support/canary-fixture.js';

const templates = new TemplateSet(loadBuiltinTemplates());
const seq = (stableBaseline?: string): MetricSpec => ({ name: 'request-success-rate', mode: 'sequential', sequential: stableBaseline ? { stableBaseline } : {} });
const START = '2026-03-01T11:00:00.000Z';

function recordingProvider(): { provider: MetricProvider; calls: Array<{ q: string; time: string | undefined }> } {
  const calls: Array<{ q: string; time: string | undefined }> = [];
  const provider: MetricProvider = {
    async query(q: string, opts: QueryOptions): Promise<QueryOutcome> {
      calls.push({ q, time: opts.time?.toISOString() });
      return { kind: 'value', value: q.includes('[90m]') ? 5400 : 10 };
    },
    async queryVector(): Promise<never> {
      throw new Error('not used');
    },
    async ping(): Promise<void> {},
  };
  return { provider, calls };
}

function rollingOut(metric: MetricSpec, evidence: Canary['status'] = {}): Canary {
  const c = makeCanary([metric]);
  c.spec.analysis.interval = '1m';
  c.status = { phase: 'Progressing', rolloutStartTime: START, ...evidence };
  return c;
}

describe('stable baseline', () => {
  it('renders the stable side\'s count queries over the baseline window; the canary side has none', () => {
    const r = resolveMetric(rollingOut(seq('90m')), 0, 'istio', templates);
    expect(r.baseline?.window).toBe('90m');
    expect(r.baseline?.totalQuery).toBe(r.stable.totalQuery?.replace('[1m]', '[90m]'));
    expect(r.baseline?.badQuery).toBe(r.stable.badQuery?.replace('[1m]', '[90m]'));
    const c = rollingOut(seq('90m'));
    expect(r.baseline?.totalQuery).toContain(`"${c.spec.stable.name}"`);
    expect(r.baseline?.totalQuery).not.toContain(`"${c.spec.canary.name}"`);
    expect(resolveMetric(rollingOut(seq()), 0, 'istio', templates).baseline).toBeUndefined();
  });

  it('a window that is not a duration is a problem at its path', () => {
    const problems = metricProblems(rollingOut(seq('an hour')), 0, 'istio', templates);
    expect(problems.map((p) => p.path)).toContain('spec.analysis.metrics[0].sequential.stableBaseline');
  });

  it('measure reads it at the rollout start, once: not when status already holds it', async () => {
    const { provider, calls } = recordingProvider();
    const now = new Date('2026-03-01T11:05:00.000Z');
    const [m] = await measure({ canary: rollingOut(seq('90m')), templates, provider, signal: new AbortController().signal, time: now });
    const base = calls.filter((c) => c.q.includes('[90m]'));
    expect(base).toHaveLength(2);
    expect(base.every((c) => c.time === START)).toBe(true);
    expect(calls.filter((c) => !c.q.includes('[90m]')).every((c) => c.time === now.toISOString())).toBe(true);
    expect(m?.baseline).toEqual({ window: '90m', time: START, stableTotal: { kind: 'value', value: 5400 }, stableBad: { kind: 'value', value: 5400 } });

    const held = rollingOut(seq('90m'), {
      evidence: [{ name: 'request-success-rate', canaryTotal: 1, canaryBad: 0, stableTotal: 1, stableBad: 0, verdict: 'unknown', baseline: { window: '90m', time: START, total: 0, bad: 0 } }],
    });
    const again = recordingProvider();
    const [m2] = await measure({ canary: held, templates, provider: again.provider, signal: new AbortController().signal, time: now });
    expect(again.calls.some((c) => c.q.includes('[90m]'))).toBe(false);
    expect(m2?.baseline).toBeUndefined();
    expect(m2?.counts).toBeDefined();
  });

  it('without a rollout start (no rollout yet) nothing is read', async () => {
    const { provider, calls } = recordingProvider();
    const c = rollingOut(seq('90m'));
    delete c.status?.rolloutStartTime;
    const [m] = await measure({ canary: c, templates, provider, signal: new AbortController().signal });
    expect(m?.baseline).toBeUndefined();
    expect(calls.some((x) => x.q.includes('[90m]'))).toBe(false);
  });
});
