import type { Forecast } from './sequential.js';
import type { AnalysisSpec, CanaryStatus, InconclusiveLimitAction, MetricReport, MetricSpec, NoDataPolicy, SequentialEvidence } from '../api/canary.js';

/** How one metric counts in this tick's decision. */
export type Effect = 'pass' | 'fail' | 'inconclusive';

/** One metric's assessment for this tick: the report users see, and how the decision counts it. */
export interface MetricOutcome {
  report: MetricReport;
  effect: Effect;
  /** `name message`, for decision messages. */
  summary: string;
  /** Query errors in a row after this tick (0 once every query of the metric answered). */
  errorStreak: number;
  /** The sequential test asks for an immediate rollback, whatever the failed-check count. */
  rollback?: 'SequentialWorse' | 'Catastrophic';
  /** Updated evidence of a sequential metric. */
  evidence?: SequentialEvidence;
  /** A sequential metric's estimate of when it can answer for the next move (lazy: a search over the test). */
  forecast?: () => Forecast | undefined;
  /** The same for the promotion, at the last step's weight. */
  promotionForecast?: () => Forecast | undefined;
}

export const DEFAULT_NO_DATA: NoDataPolicy = 'hold';

/**
 * How much longer than it has already waited at a weight a rollout waits for an answer the evidence says is
 * coming (decide(), rule 8). Fixed before any data (like SEQUENTIAL_TUNING), chosen with bench:decisions and the
 * sandbox: 1 handed over healthy canaries whose first consideration came a few intervals early (27 s away after
 * 20 s at the sandbox's 20 rps), 2 some whose first evidence the metrics pipeline showed late (55 s after 20 s).
 */
export const PATIENCE = 3;
export const DEFAULT_ERRORS_BEFORE_FAILURE = 2;

export function noDataPolicy(metric: MetricSpec): NoDataPolicy {
  return metric.noData ?? DEFAULT_NO_DATA;
}

export function errorsBeforeFailure(metric: MetricSpec): number {
  const n = metric.errorsBeforeFailure;
  return n !== undefined && n >= 1 ? Math.floor(n) : DEFAULT_ERRORS_BEFORE_FAILURE;
}

/** Failed checks that end the rollout (at least 1). */
export function failureThreshold(analysis: AnalysisSpec): number {
  return Math.max(1, Math.floor(analysis.threshold || 1));
}

/** Inconclusive ticks in a row that end the rollout; default threshold × 2. */
export function inconclusiveLimit(analysis: AnalysisSpec): number {
  const n = analysis.inconclusiveLimit;
  return n !== undefined && n >= 1 ? Math.floor(n) : failureThreshold(analysis) * 2;
}

/**
 * What reaching inconclusiveLimit does; default pause: a time-out is no evidence that the canary is worse, so by
 * default a person decides. `rollback` is the user's choice, and ends the rollout TimedOut, not Failed.
 */
export function onInconclusiveLimit(analysis: AnalysisSpec): InconclusiveLimitAction {
  return analysis.onInconclusiveLimit === 'rollback' ? 'rollback' : 'pause';
}

/**
 * The rollout timed out into a person's decision (onInconclusiveLimit: pause) and nobody has decided yet: it holds
 * at its weight until `routeshift resume` (analyse again), `promote` or `abort`. Derived from spec and status, so a
 * restarted controller keeps waiting.
 */
export function handedOver(analysis: AnalysisSpec, status: Pick<CanaryStatus, 'inconclusiveChecks'>): boolean {
  return onInconclusiveLimit(analysis) === 'pause' && (status.inconclusiveChecks ?? 0) >= inconclusiveLimit(analysis);
}

/** The effect of "nothing was measured" under the metric's noData policy, and the report verdict. */
export function applyNoData(metric: MetricSpec): { effect: Effect; verdict: MetricReport['verdict']; note: string } {
  const policy = noDataPolicy(metric);
  const note = `(noData=${policy})`;
  switch (policy) {
    case 'fail':
      return { effect: 'fail', verdict: 'fail', note };
    case 'pass':
      return { effect: 'pass', verdict: 'pass', note };
    default:
      return { effect: 'inconclusive', verdict: 'inconclusive', note };
  }
}

/**
 * A query error is inconclusive until the metric has failed `errorsBeforeFailure` ticks in a row; from then
 * on each erroring tick is a failed check. A flaky Prometheus should not roll a good canary back at once,
 * and a broken query should not hold a rollout forever either.
 */
export function applyQueryError(metric: MetricSpec, previousStreak: number): { effect: Effect; streak: number; limit: number } {
  const streak = previousStreak + 1;
  const limit = errorsBeforeFailure(metric);
  return { effect: streak >= limit ? 'fail' : 'inconclusive', streak, limit };
}
