import type { Canary, MetricReport, SequentialEvidence } from '../api/canary.js';

/**
 * What one Canary did over time, as far as the dashboard has seen it: weights from every status it
 * watched (and, when Prometheus is there, from routeshift_canary_weight before the dashboard started),
 * and each analysis the controller wrote to status.lastAnalysis / status.evidence.
 */

export interface WeightPoint {
  /** Seconds since the epoch. */
  t: number;
  weight: number;
}

export interface AnalysisPoint {
  t: number;
  reports: MetricReport[];
  evidence: SequentialEvidence[];
}

/** Points kept per Canary and series: a week of 5 s ticks would be 120k; the view needs far fewer. */
export const MAX_POINTS = 2000;

function keepLast<T>(list: T[]): void {
  if (list.length > MAX_POINTS) list.splice(0, list.length - MAX_POINTS);
}

export class CanaryHistory {
  readonly weights: WeightPoint[] = [];
  readonly analyses: AnalysisPoint[] = [];
  /** Values of routeshift_canary_metric_value by metric, from Prometheus. */
  readonly promMetric = new Map<string, WeightPoint[]>();
  private promWeights: WeightPoint[] = [];

  /** Records what a watched status says at `nowSec`; returns whether anything new was learned. */
  observe(c: Canary, nowSec: number): boolean {
    const s = c.status ?? {};
    let changed = false;
    if (typeof s.canaryWeight === 'number') {
      const last = this.weights[this.weights.length - 1];
      if (!last || last.weight !== s.canaryWeight) {
        // A step holds its weight until the next: repeat the old value just before the change so the line is a staircase.
        if (last && nowSec > last.t) this.weights.push({ t: Math.max(last.t, nowSec - 0.001), weight: last.weight });
        this.weights.push({ t: nowSec, weight: s.canaryWeight });
        keepLast(this.weights);
        changed = true;
      }
    }
    const at = s.lastAnalysisTime ?? s.lastAnalysis?.[0]?.time;
    const t = at ? Date.parse(at) / 1000 : NaN;
    if (!Number.isNaN(t) && (s.lastAnalysis?.length || s.evidence?.length)) {
      const last = this.analyses[this.analyses.length - 1];
      if (!last || t > last.t) {
        this.analyses.push({ t, reports: s.lastAnalysis ?? [], evidence: s.evidence ?? [] });
        keepLast(this.analyses);
        changed = true;
      }
    }
    return changed;
  }

  /** Replaces what Prometheus said about the past (it is read again whole on each poll). */
  setPrometheus(weights: WeightPoint[], metrics: Map<string, WeightPoint[]>): void {
    this.promWeights = weights;
    this.promMetric.clear();
    for (const [k, v] of metrics) this.promMetric.set(k, v);
  }

  /** Weights from Prometheus before the first watched one, then the watched ones. */
  weightSeries(): WeightPoint[] {
    const first = this.weights[0]?.t ?? Infinity;
    return [...this.promWeights.filter((p) => p.t < first), ...this.weights];
  }
}
