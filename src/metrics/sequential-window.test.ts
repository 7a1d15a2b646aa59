/**
 * The sequential test sums one `increase(...[window])` per tick, and ticks come one analysis interval apart,
 * so each request must fall in exactly one window: validation rejects a sequential metric's own `interval`
 * when it differs from the analysis interval, and resolution (hence measure) uses the analysis interval for
 * the counts whatever the metric says.
 */
import { describe, expect, it } from '@jest/globals';
import type { MetricSpec } from '../api/canary.js';
import type { MetricProvider, QueryOutcome } from './provider.js';
import { measure } from './measure.js';
import { loadBuiltinTemplates, resolveMetric, sequentialWindow, TemplateSet } from './templates.js';
import { validateCanary } from './validate.js';
import { makeCanary } from '../../test/support/canary-fixture.js';

const templates = new TemplateSet(loadBuiltinTemplates());
const seq = (extra: Partial<MetricSpec> = {}): MetricSpec => ({ name: 'request-success-rate', mode: 'sequential', ...extra });
const withInterval = (interval: string, metric: MetricSpec) => {
  const c = makeCanary([metric]);
  c.spec.analysis.interval = interval;
  return c;
};

/** The `[...]` range of every rendered count query. */
function countWindows(interval: string, metric: MetricSpec): string[] {
  const r = resolveMetric(withInterval(interval, metric), 0, 'istio', templates);
  const queries = [r.canary.totalQuery, r.canary.badQuery, r.stable.totalQuery, r.stable.badQuery];
  return queries.flatMap((q) => [...(q ?? '').matchAll(/\[([^\]]+)\]/g)].map((m) => m[1] as string));
}

describe('sequential metric window', () => {
  it('validation rejects a sequential metric interval longer or shorter than the analysis interval, naming its path', () => {
    expect(validateCanary(withInterval('10s', seq({ interval: '1m' })), templates)).toEqual([
      {
        path: 'spec.analysis.metrics[0].interval',
        message:
          'a sequential metric counts the requests of each analysis interval once: its window must be the analysis interval (10s), not 1m; remove interval',
      },
    ]);
    expect(validateCanary(withInterval('1m', seq({ interval: '30s' })), templates).map((p) => p.path)).toEqual(['spec.analysis.metrics[0].interval']);
  });

  it('validation accepts the same duration spelt differently, no interval at all, and any interval in threshold mode', () => {
    expect(validateCanary(withInterval('1m', seq({ interval: '60s' })), templates)).toEqual([]);
    expect(validateCanary(withInterval('10s', seq()), templates)).toEqual([]);
    expect(validateCanary(withInterval('10s', { name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } }), templates)).toEqual([]);
  });

  it('reports the right metric among several', () => {
    const c = makeCanary([{ name: 'request-duration', interval: '5m', thresholdRange: { max: 500 } }, seq({ interval: '2m' })]);
    expect(validateCanary(c, templates).map((p) => p.path)).toEqual(['spec.analysis.metrics[1].interval']);
  });

  it('resolves the counts over the analysis interval even when the metric names another window', () => {
    expect(countWindows('10s', seq({ interval: '1m' }))).toEqual(['10s', '10s', '10s', '10s']);
    expect(countWindows('2m', seq())).toEqual(['2m', '2m', '2m', '2m']);
    // A threshold metric keeps its own window.
    const r = resolveMetric(withInterval('10s', { name: 'request-success-rate', interval: '1m', thresholdRange: { min: 99 } }), 0, 'istio', templates);
    expect(r.window).toBe('1m');
  });

  it('does not round a sub-second interval up to whole seconds (1500ms every 1.5s must not read 2s windows)', () => {
    expect(sequentialWindow('1500ms')).toBe('1500ms');
    expect(sequentialWindow('1.5s')).toBe('1500ms');
    expect(sequentialWindow('90s')).toBe('90s');
    expect(sequentialWindow('1m30s')).toBe('90s');
    expect(sequentialWindow('2m')).toBe('2m');
    expect(countWindows('1500ms', seq())).toEqual(['1500ms', '1500ms', '1500ms', '1500ms']);
  });

  it('measure queries the counts over the analysis interval without validation in front of it', async () => {
    const queries: string[] = [];
    const provider: MetricProvider = {
      async query(promql: string): Promise<QueryOutcome> {
        queries.push(promql);
        return { kind: 'value', value: 10 };
      },
      async queryVector(): Promise<never> {
        throw new Error('not used');
      },
      async ping(): Promise<void> {},
    };
    const out = await measure({ canary: withInterval('10s', seq({ interval: '1m' })), templates, provider, signal: new AbortController().signal });
    expect(out[0]?.counts).toBeDefined();
    const counts = queries.filter((q) => q.startsWith('sum(increase('));
    expect(counts).toHaveLength(4);
    for (const q of queries) {
      expect(q).toContain('[10s]');
      expect(q).not.toContain('[1m]');
    }
  });
});
