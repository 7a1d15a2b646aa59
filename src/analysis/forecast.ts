import type { AnalysisSpec, MetricSpec } from '../api/canary.js';
import { parseDuration } from '../core/duration.js';
import { inconclusiveLimit, PATIENCE } from './policy.js';
import { exposureBudget, requestsNeeded, sequentialParams } from './sequential.js';
import { stepsOf } from './steps.js';

/** One move of a planned rollout: the evidence it needs and the time that takes at a given traffic. */
export interface MoveForecast {
  /** The weight the evidence is gathered at, and the weight it lets the canary move to (100: promotion). */
  at: number;
  to: number;
  /** Clean canary requests needed in all before the move. */
  needed: number | undefined;
  /** Ms at `at` until the move (at least one interval). */
  ms: number;
  /** The longest the time-out waits at one weight for an answer that is coming (decide(), rule 8). */
  allowanceMs: number;
}

/**
 * For a sequential metric, at a total request rate over the stable and canary Services (requests per second,
 * assumed steady), the moves of a healthy canary (no bad request on either side): how many clean canary
 * requests each needs and how long it spends at each weight gathering them. A move slower than the allowance
 * will time out (by default into a person's hands). An estimate, for `routeshift validate --prometheus`.
 */
export function rolloutForecast(analysis: AnalysisSpec, metric: MetricSpec, totalRps: number): MoveForecast[] {
  const p = sequentialParams(metric.sequential);
  const intervalMs = parseDuration(analysis.interval, 'spec.analysis.interval');
  // Considered at inconclusiveLimit intervals; then it waits while the rest is at most PATIENCE times the time spent.
  const allowanceMs = (1 + PATIENCE) * inconclusiveLimit(analysis) * intervalMs;
  const steps = stepsOf(analysis);
  const moves: MoveForecast[] = [];
  let have = 0;
  let stable = 0;
  steps.forEach((at, i) => {
    const to = steps[i + 1] ?? 100;
    const needed = requestsNeeded({ canaryTotal: have, canaryBad: 0, stableTotal: stable, stableBad: 0 }, p, exposureBudget(p, to), at);
    const rate = (totalRps * at) / 100;
    const missing = needed === undefined ? Infinity : Math.max(0, needed - have);
    const ms = Math.max(intervalMs, rate > 0 ? (missing / rate) * 1000 : Infinity);
    moves.push({ at, to, needed, ms, allowanceMs });
    const gathered = Number.isFinite(ms) ? (rate * ms) / 1000 : 0;
    have += gathered;
    stable += (gathered * (100 - at)) / Math.max(1, at);
  });
  return moves;
}
