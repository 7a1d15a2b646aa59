import type { MetricSpec, RelativeCheck, ThresholdRange } from '../api/canary.js';

/**
 * Formatting for reports and decision messages. Messages are read by people in `kubectl describe`, Events
 * and alerts, so they carry the measured value next to the threshold it was checked against.
 */

export type ValueKind = 'percent' | 'duration-ms' | 'duration-s' | 'plain';

const PERCENT_UNITS = new Set(['%', 'percent', 'percentage']);
const MS_UNITS = new Set(['ms', 'milliseconds', 'millisecond']);
const S_UNITS = new Set(['s', 'seconds', 'second']);

/** How to print a metric's values: from the template's unit when given, else from its name. */
export function valueKind(name: string, unit?: string): ValueKind {
  if (unit !== undefined) {
    const u = unit.trim().toLowerCase();
    if (PERCENT_UNITS.has(u)) return 'percent';
    if (MS_UNITS.has(u)) return 'duration-ms';
    if (S_UNITS.has(u)) return 'duration-s';
    return 'plain';
  }
  const n = name.toLowerCase();
  if (/(success|error|failure|availability|percent|percentage)/.test(n)) return 'percent';
  if (/(duration|latency|response-time|response_time|p\d\d)/.test(n)) return 'duration-ms';
  return 'plain';
}

/** A number with at most `digits` decimals and no trailing zeros ("99.8", "212", "0.05"). */
export function formatNumber(v: number, digits = 2): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  const d = abs >= 1000 ? 0 : digits;
  const text = v.toFixed(d);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

export function formatValue(v: number, kind: ValueKind): string {
  switch (kind) {
    case 'percent':
      return `${formatNumber(v)}%`;
    case 'duration-ms':
      return `${formatNumber(v, Math.abs(v) >= 100 ? 0 : 1)}ms`;
    case 'duration-s':
      return `${formatNumber(v, 3)}s`;
    default:
      return formatNumber(v, 4);
  }
}

/** Fraction (0..1) as a percentage with enough digits for small shares ("0.12%", "3.1%"). */
export function formatShare(fraction: number): string {
  const pct = fraction * 100;
  const digits = Math.abs(pct) < 1 ? 2 : 1;
  return `${formatNumber(pct, digits)}%`;
}

/** Difference of two fractions in percentage points, signed ("+0.35pp", "-0.1pp"). */
export function formatPoints(fraction: number): string {
  const pp = fraction * 100;
  const digits = Math.abs(pp) < 1 ? 2 : 1;
  const text = formatNumber(pp, digits);
  return `${pp >= 0 && !text.startsWith('-') ? '+' : ''}${text}pp`;
}

function rangeText(subject: string, r: { min?: number | undefined; max?: number | undefined }): string | undefined {
  const { min, max } = r;
  if (min !== undefined && max !== undefined) return `${formatNumber(min, 6)} <= ${subject} <= ${formatNumber(max, 6)}`;
  if (min !== undefined) return subject === 'x' ? `>= ${formatNumber(min, 6)}` : `${subject} >= ${formatNumber(min, 6)}`;
  if (max !== undefined) return subject === 'x' ? `<= ${formatNumber(max, 6)}` : `${subject} <= ${formatNumber(max, 6)}`;
  return undefined;
}

export function thresholdRangeText(r: ThresholdRange): string | undefined {
  return rangeText('x', r);
}

export function relativeText(r: RelativeCheck): string | undefined {
  return rangeText(r.compare === 'ratio' ? 'canary / stable' : 'canary - stable', r);
}

/** MetricReport.threshold for a threshold-mode metric: ">= 99", "<= 500", "99 <= x <= 100", "canary - stable <= 0.5". */
export function thresholdText(metric: MetricSpec): string {
  const parts: string[] = [];
  if (metric.thresholdRange) {
    const t = thresholdRangeText(metric.thresholdRange);
    if (t) parts.push(t);
  }
  if (metric.relative) {
    const t = relativeText(metric.relative);
    if (t) parts.push(t);
  }
  return parts.length > 0 ? parts.join(', ') : 'none';
}
