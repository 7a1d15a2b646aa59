import type { Canary, MetricSpec } from '../api/canary.js';
import type { EventSummary } from '../cli/render.js';
import type { ChartLine, ChartMark, ChartSpec } from '../report/charts.js';
import type { CanaryHistory, WeightPoint } from './history.js';
import { canaryRow, decisionsFrom, hookResultsFrom, type CanaryRow, type Decision } from './model.js';

/** One Canary's page: the row, the charts (replay's chart format), the time line, Events and hook results. */
export interface CanaryDetail {
  row: CanaryRow;
  charts: ChartSpec[];
  decisions: Decision[];
  events: EventSummary[];
  hooks: EventSummary[];
  /** Highest canary weight on the weight chart, so a reader (or a test) need not parse the chart. */
  maxWeight: number | null;
}

const COLORS = { canary: '#1f6fd1', stable: '#7a7a7a', bound: '#d62728', fail: '#d62728', rollback: '#d62728', promote: 'rgba(44,160,44,0.6)', other: 'rgba(120,120,120,0.35)' };

function marksOf(decisions: readonly Decision[]): ChartMark[] {
  return decisions
    .filter((d) => d.kind !== 'failed-check')
    .map((d) => {
      if (d.kind === 'rollback') return { t: d.t, label: `${d.reason}: ${d.message}`, color: COLORS.rollback, width: 2.5 };
      if (d.kind === 'promote') return { t: d.t, label: `${d.reason}: ${d.message}`, color: COLORS.promote, width: 2 };
      return { t: d.t, label: `${d.reason}: ${d.message}`, color: COLORS.other, width: 1 };
    });
}

function weightChart(points: readonly WeightPoint[], marks: ChartMark[], nowSec: number): ChartSpec {
  // The last weight holds until now: extend it, so a finished rollout's line reaches the right edge.
  const last = points[points.length - 1];
  const all = last && nowSec > last.t ? [...points, { t: nowSec, weight: last.weight }] : [...points];
  const reached = [...new Set(points.map((p) => p.weight))];
  return {
    id: 'weights',
    title: 'Weights',
    subtitle: points.length ? `canary weights seen: ${reached.join(' → ')}; red lines: rollbacks, green: promotions, grey: other decisions` : 'no weight seen yet',
    x: all.map((p) => p.t),
    lines: [
      { label: 'canary %', color: COLORS.canary, values: all.map((p) => p.weight) },
      { label: 'stable %', color: COLORS.stable, values: all.map((p) => 100 - p.weight) },
    ],
    marks,
    unit: '%',
  };
}

/** One chart per metric: measured value (watched analyses, else Prometheus), stable value, bounds, failed checks. */
function metricChart(m: MetricSpec, i: number, h: CanaryHistory, marks: ChartMark[]): ChartSpec {
  const seq = m.mode === 'sequential';
  const rows = h.analyses.map((a) => ({ t: a.t, r: a.reports.find((q) => q.name === m.name), e: a.evidence.find((q) => q.name === m.name) }));
  const firstWatched = rows[0]?.t ?? Infinity;
  // Prometheus has the measured value only, which the sequential chart does not draw.
  const earlier = seq ? [] : (h.promMetric.get(m.name) ?? []).filter((p) => p.t < firstWatched);
  const x = [...earlier.map((p) => p.t), ...rows.map((q) => q.t)];
  const pad = <T>(vals: T[]): Array<T | null> => [...earlier.map(() => null), ...vals];
  const range = m.thresholdRange;
  const lines: ChartLine[] = [];
  if (seq) {
    // The sequential test judges canary − stable bad share (percentage points): its estimate, and the
    // upper confidence bound that must fall to the tolerance for a promotion (docs/analysis.md).
    lines.push({ label: 'canary − stable (pp)', color: COLORS.canary, values: pad(rows.map((q) => q.e?.estimate ?? null)) });
    lines.push({ label: 'upper bound (pp)', color: COLORS.bound, dash: true, values: pad(rows.map((q) => q.e?.bound ?? null)) });
    const tol = m.sequential?.tolerance;
    if (tol !== undefined) lines.push({ label: `tolerance ${tol}`, color: COLORS.stable, dash: true, values: x.map(() => tol) });
    lines.push({ label: 'worse', color: COLORS.fail, pointsOnly: true, values: pad(rows.map((q) => (q.e?.verdict === 'worse' ? (q.e.estimate ?? null) : null))) });
  } else {
    lines.push({ label: m.name, color: COLORS.canary, values: [...earlier.map((p) => p.weight), ...rows.map((q) => q.r?.value ?? null)] });
    if (rows.some((q) => q.r?.stableValue !== undefined)) lines.push({ label: 'stable', color: COLORS.stable, values: pad(rows.map((q) => q.r?.stableValue ?? null)) });
    if (range?.min !== undefined) lines.push({ label: `min ${range.min}`, color: COLORS.bound, dash: true, values: x.map(() => range.min as number) });
    if (range?.max !== undefined) lines.push({ label: `max ${range.max}`, color: COLORS.bound, dash: true, values: x.map(() => range.max as number) });
    lines.push({ label: 'failed check', color: COLORS.fail, pointsOnly: true, values: pad(rows.map((q) => (q.r?.verdict === 'fail' ? (q.r.value ?? null) : null))) });
  }
  const failed = rows.filter((q) => q.r?.verdict === 'fail').length;
  const threshold = rows.find((q) => q.r)?.r?.threshold ?? (range ? [range.min !== undefined ? `>= ${range.min}` : '', range.max !== undefined ? `<= ${range.max}` : ''].filter(Boolean).join(', ') : '');
  return {
    id: `metric-${i}`,
    title: m.name,
    subtitle: `${seq ? 'sequential test: canary − stable bad share and its upper bound, in percentage points' : `threshold ${threshold}`}; ${failed} failed checks in ${rows.length} analyses seen`,
    ...(seq ? { unit: 'pp' } : {}),
    x,
    lines,
    marks,
  };
}

export function canaryDetail(c: Canary, h: CanaryHistory, events: readonly EventSummary[], nowMs: number): CanaryDetail {
  const decisions = decisionsFrom(events);
  const marks = marksOf(decisions);
  const weights = h.weightSeries();
  return {
    row: canaryRow(c, nowMs),
    charts: [weightChart(weights, marks, nowMs / 1000), ...(c.spec.analysis?.metrics ?? []).map((m, i) => metricChart(m, i, h, marks))],
    decisions,
    events: [...events].sort((a, b) => (a.lastTimestamp ?? '').localeCompare(b.lastTimestamp ?? '')),
    hooks: hookResultsFrom(events),
    maxWeight: weights.length ? Math.max(...weights.map((p) => p.weight)) : null,
  };
}
