import type { MetricReport, MetricSpec } from '../api/canary.js';
import type { QueryOutcome } from '../api/query-outcome.js';
import { applyNoData, applyQueryError, type Effect, type MetricOutcome } from './policy.js';
import { formatNumber, formatValue, thresholdText, valueKind, type ValueKind } from './report.js';
import type { Measurement } from './types.js';

/** Outcome plus a label saying which query it came from, for messages. */
interface Labeled {
  label: string;
  outcome: QueryOutcome | undefined;
}

function outcome(
  metric: MetricSpec,
  time: string,
  threshold: string,
  verdict: MetricReport['verdict'],
  effect: Effect,
  message: string,
  errorStreak: number,
  values: { value?: number | undefined; stableValue?: number | undefined } = {},
): MetricOutcome {
  const report: MetricReport = { name: metric.name, threshold, verdict, message, time };
  if (values.value !== undefined) report.value = values.value;
  if (values.stableValue !== undefined) report.stableValue = values.stableValue;
  return { report, effect, summary: `${metric.name} ${message}`, errorStreak };
}

/**
 * Query errors and spec-shaped problems shared by both modes. Returns an outcome when the metric cannot be
 * judged on its values this tick, undefined when the values can be looked at.
 */
export function screenOutcomes(
  metric: MetricSpec,
  queries: Labeled[],
  previousStreak: number,
  time: string,
  threshold: string,
): MetricOutcome | undefined {
  for (const q of queries) {
    const o = q.outcome;
    if (o?.kind === 'error' && o.transient) {
      // The metrics backend is down or slow: that says nothing about the canary. Hold (inconclusive,
      // bounded by inconclusiveLimit) instead of counting toward a rollback of a possibly healthy canary.
      const msg = `${q.label}metrics unavailable (${o.code}: ${o.message}); holding`;
      return outcome(metric, time, threshold, 'error', 'inconclusive', msg, previousStreak);
    }
    if (o?.kind === 'error') {
      const e = applyQueryError(metric, previousStreak);
      const counted = e.effect === 'fail' ? `, counted as a failed check` : '';
      const msg = `${q.label}query error ${e.streak}/${e.limit}${counted}: ${o.code}: ${o.message}`;
      return outcome(metric, time, threshold, 'error', e.effect, msg, e.streak);
    }
  }
  for (const q of queries) {
    const o = q.outcome;
    if (o?.kind === 'multiple-series') {
      const msg = `${q.label}query returned ${o.count} series where one number was expected: aggregate it (e.g. sum(...))`;
      return outcome(metric, time, threshold, 'error', 'fail', msg, 0);
    }
  }
  return undefined;
}

function isNumber(o: QueryOutcome | undefined): o is { kind: 'value'; value: number } {
  return o?.kind === 'value' && Number.isFinite(o.value);
}

function describeMissing(o: QueryOutcome | undefined): string {
  if (o === undefined) return 'not measured';
  if (o.kind === 'not-a-number') return `not a number (${o.raw})`;
  return 'no data';
}

interface Check {
  effect: Effect;
  text: string;
}

function checkRange(v: number, min: number | undefined, max: number | undefined, shown: string, subject?: string): Check {
  const n = (x: number): string => formatNumber(x, 6);
  const prefix = subject ? `${subject} = ` : '';
  if (min !== undefined && v < min) return { effect: 'fail', text: `${prefix}${shown} < ${n(min)}` };
  if (max !== undefined && v > max) return { effect: 'fail', text: `${prefix}${shown} > ${n(max)}` };
  if (min !== undefined && max !== undefined) return { effect: 'pass', text: `${n(min)} <= ${prefix}${shown} <= ${n(max)}` };
  if (min !== undefined) return { effect: 'pass', text: `${prefix}${shown} >= ${n(min)}` };
  return { effect: 'pass', text: `${prefix}${shown} <= ${n(max as number)}` };
}

/** Threshold mode: one number per side and tick, checked against thresholdRange and/or relative. */
export function evaluateThresholdMetric(
  metric: MetricSpec,
  m: Measurement | undefined,
  previousStreak: number,
  time: string,
): MetricOutcome {
  const threshold = thresholdText(metric);
  if (m === undefined) {
    // The measuring half gave nothing for this metric: as unreliable as a query error.
    const e = applyQueryError(metric, previousStreak);
    const counted = e.effect === 'fail' ? ', counted as a failed check' : '';
    return outcome(metric, time, threshold, 'error', e.effect, `not measured ${e.streak}/${e.limit}${counted}`, e.streak);
  }
  const minRequests = metric.minRequests ?? 0;
  const queries: Labeled[] = [{ label: '', outcome: m.canary }];
  if (metric.relative) queries.push({ label: 'stable ', outcome: m.stable });
  if (minRequests > 0) queries.push({ label: 'request count ', outcome: m.requests });
  const screened = screenOutcomes(metric, queries, previousStreak, time, threshold);
  if (screened) return screened;

  if (!metric.thresholdRange && !metric.relative) {
    return outcome(metric, time, threshold, 'error', 'fail', 'nothing to check: set thresholdRange or relative', 0);
  }

  if (minRequests > 0) {
    if (!isNumber(m.requests)) {
      return outcome(metric, time, threshold, 'inconclusive', 'inconclusive', `request count ${describeMissing(m.requests)} (minRequests ${minRequests})`, 0);
    }
    if (m.requests.value < minRequests) {
      return outcome(
        metric,
        time,
        threshold,
        'inconclusive',
        'inconclusive',
        `${formatNumber(m.requests.value, 1)} requests < minRequests ${minRequests}`,
        0,
      );
    }
  }

  if (!isNumber(m.canary)) {
    const p = applyNoData(metric);
    return outcome(metric, time, threshold, p.verdict, p.effect, `${describeMissing(m.canary)} ${p.note}`, 0);
  }
  const value = m.canary.value;
  const kind: ValueKind = valueKind(metric.name, m.unit);
  const shown = formatValue(value, kind);
  const checks: Check[] = [];
  let stableValue: number | undefined;

  if (metric.thresholdRange) {
    const { min, max } = metric.thresholdRange;
    if (min === undefined && max === undefined) checks.push({ effect: 'pass', text: `${shown} (empty thresholdRange)` });
    else checks.push(checkRange(value, min, max, shown));
  }
  if (metric.relative) {
    const r = metric.relative;
    if (!isNumber(m.stable)) {
      checks.push({ effect: 'inconclusive', text: `stable ${describeMissing(m.stable)} (relative check needs it)` });
    } else {
      stableValue = m.stable.value;
      const sides = `canary ${shown}, stable ${formatValue(stableValue, kind)}`;
      if (r.compare === 'ratio' && stableValue === 0) {
        checks.push({ effect: 'inconclusive', text: `${sides}: canary / stable undefined (stable is 0)` });
      } else {
        const cmp = r.compare === 'ratio' ? value / stableValue : value - stableValue;
        const subject = r.compare === 'ratio' ? 'canary / stable' : 'canary - stable';
        const c = r.min === undefined && r.max === undefined
          ? { effect: 'pass' as const, text: `${subject} = ${formatNumber(cmp, 4)} (no bounds)` }
          : checkRange(cmp, r.min, r.max, formatNumber(cmp, 4), subject);
        checks.push({ effect: c.effect, text: `${sides}: ${c.text}` });
      }
    }
  }
  const failed = checks.filter((c) => c.effect === 'fail');
  const inconclusive = checks.filter((c) => c.effect === 'inconclusive');
  const effect: Effect = failed.length > 0 ? 'fail' : inconclusive.length > 0 ? 'inconclusive' : 'pass';
  // Say first what decided the verdict.
  const ordered = [...failed, ...inconclusive, ...checks.filter((c) => c.effect === 'pass')];
  const message = ordered.map((c) => c.text).join('; ');
  return outcome(metric, time, threshold, effect, effect, message, 0, { value, stableValue });
}
