import type { Canary } from '../api/canary.js';
import { rolloutForecast, type MoveForecast } from '../analysis/forecast.js';
import { errorMessage } from '../core/errors.js';
import type { MetricProvider, QueryOutcome } from '../metrics/provider.js';
import { resolveMetric, type TemplateSet } from '../metrics/templates.js';

/** The traffic window the check reads, and how the warnings print durations. */
const WINDOW = '1h';
const WINDOW_SECONDS = 3600;

function minutes(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  const m = ms / 60_000;
  return m < 2 ? `${Math.round(ms / 1000)}s` : m < 120 ? `${Math.round(m)}m` : `${(m / 60).toFixed(1)}h`;
}

const value = (o: QueryOutcome): number | undefined => (o.kind === 'value' ? o.value : o.kind === 'no-data' ? 0 : undefined);

/**
 * Warnings for a Canary whose sequential metrics cannot reach a decision before the time-out at the traffic its
 * Services had over the last hour: the stable's and the canary's request counts (the metric's own totalQuery
 * over 1h), spread over the planned steps by rolloutForecast(). Never an error: traffic changes.
 */
export async function trafficWarnings(canary: Canary, templates: TemplateSet, provider: MetricProvider, signal: AbortSignal, now: Date): Promise<string[]> {
  const warnings: string[] = [];
  const metrics = canary.spec.analysis.metrics ?? [];
  // The metric's counts over the last hour: the same templates, rendered with the window set to 1h.
  const wide: Canary = { ...canary, spec: { ...canary.spec, analysis: { ...canary.spec.analysis, interval: WINDOW, metrics: metrics.map((m) => ({ ...m, interval: WINDOW })) } } };
  for (const [i, metric] of metrics.entries()) {
    if (metric.mode !== 'sequential') continue;
    let total: number | undefined;
    try {
      const r = resolveMetric(wide, i, canary.spec.provider ?? 'istio', templates);
      const queries = [r.stable.totalQuery, r.canary.totalQuery].filter((q): q is string => q !== undefined);
      const outcomes = await Promise.all(queries.map((q) => provider.query(q, { signal, time: now })));
      const bad = outcomes.find((o) => value(o) === undefined);
      if (bad) {
        warnings.push(`${metric.name}: cannot read the last hour's traffic: ${bad.kind === 'error' ? `${bad.code}: ${bad.message}` : bad.kind}`);
        continue;
      }
      total = outcomes.reduce((s, o) => s + (value(o) ?? 0), 0);
    } catch (err) {
      warnings.push(`${metric.name}: cannot read the last hour's traffic: ${errorMessage(err)}`);
      continue;
    }
    const rps = total / WINDOW_SECONDS;
    const slow = rolloutForecast(canary.spec.analysis, metric, rps).filter((m) => m.ms > m.allowanceMs);
    if (slow.length > 0) warnings.push(`${metric.name}: ${slowText(rps, slow)}`);
  }
  return warnings;
}

function slowText(rps: number, slow: MoveForecast[]): string {
  const first = slow[0] as MoveForecast;
  const what = first.to === 100 ? 'the promotion' : `the step to weight ${first.to}`;
  const needs = first.needed === undefined ? 'cannot be reached' : `needs about ${first.needed} clean canary requests: about ${minutes(first.ms)} at weight ${first.at}`;
  return (
    `at ${rps < 1 ? rps.toPrecision(2) : rps.toFixed(1)} requests per second over the last hour (stable and canary), ${what} ${needs}, ` +
    `beyond the time-out (${minutes(first.allowanceMs)} at one weight at most, waiting for an answer that is coming); ` +
    `${slow.length > 1 ? `${slow.length} moves are that slow; ` : ''}the rollout would be handed to a person (onInconclusiveLimit). ` +
    'More traffic, fewer or higher steps, a longer interval or inconclusiveLimit, or a larger tolerance shorten it.'
  );
}
