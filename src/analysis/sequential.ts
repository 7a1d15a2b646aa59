import type { MetricReport, MetricSpec, SequentialEvidence, SequentialSpec } from '../api/canary.js';
import type { MixingPrior } from './binomial-cs.js';
import { logEvidenceCatastrophic, type GuardDesign } from './catastrophic.js';
import { TwoSample, type Counts, type SidePriors } from './two-sample.js';
import { addBaseline, addCounts, readBaseline, readCounts } from './evidence.js';
import { applyNoData, applyQueryError, type Effect, type MetricOutcome } from './policy.js';
import { formatNumber, formatPoints, formatShare } from './report.js';
import type { Measurement } from './types.js';

/**
 * The sequential mode (issue 8): an anytime-valid comparison of the canary's and the stable's bad-request
 * shares, evaluated every tick on all requests seen since the rollout started. docs/analysis.md derives it.
 */

/** SequentialSpec with defaults applied, shares as fractions (0.005 = 0.5 percentage points). */
export interface SequentialParams {
  tolerance: number;
  falseRollback: number;
  badPromotion: number;
  catastrophic: number;
}

/** Defaults, in the spec's units (percentage points / percent). */
export const SEQUENTIAL_DEFAULTS = {
  tolerance: 2,
  falseRollback: 0.01,
  badPromotion: 0.01,
  catastrophicErrorRate: 20,
} as const;

/**
 * Design constants of the test, chosen with the decision benchmark (src/bench/decisions.ts) and fixed before
 * any data is seen: a choice made from the data itself would void the guarantees.
 */
export const SEQUENTIAL_TUNING: Readonly<{
  /** Mixing distribution of both sides' shares in the e-values' numerators. */
  prior: MixingPrior;
  /**
   * Numerator of the "worse" test (and of the lower bound): the canary's share mixed over the shares a worse
   * canary has (Beta(1, b) means 9%, 3.2%, 1%, 0.33%, 0.1%; catastrophic shares are the guard's), the stable's
   * over a healthy stable's small shares (the guard's stablePrior). Both sides over the broad `prior` wasted
   * most of the weight on canaries no worse than the stable, which never count against "not worse".
   */
  worse: SidePriors;
  /** Share of α spent on the catastrophic guard; the rest goes to the "worse" test. */
  catastrophicShare: number;
  /** "Worse" means canary − stable above this fraction of the tolerance (0: worse than stable at all). */
  rollbackMargin: number;
  /** The catastrophic guard's numerators (catastrophic.ts). */
  guard: GuardDesign;
}> = tuning();

function tuning(): typeof SEQUENTIAL_TUNING {
  const beta = (pairs: ReadonlyArray<readonly [number, number]>): MixingPrior =>
    Object.freeze(pairs.map(([b, weight]) => Object.freeze({ a: 1, b, weight })));
  // The same components as `prior`, weighted towards the small shares of a healthy stable.
  const stablePrior = beta([
    [1, 0.02],
    [10, 0.03],
    [100, 0.05],
    [1000, 0.4],
    [10000, 0.5],
  ]);
  return Object.freeze({
    // Uniform, and Beta(1, b) with means 9%, 1%, 0.1%, 0.01%: one of them sits near any bad share a service has.
    prior: Object.freeze([1, 10, 100, 1000, 10000].map((b) => Object.freeze({ a: 1, b, weight: 0.2 }))),
    catastrophicShare: 0.5,
    rollbackMargin: 1 / 8,
    guard: Object.freeze({
      // c and halfway from c to 100%: 20% and 60% with the default rate.
      alternatives: Object.freeze([0, 0.5]),
      stablePrior,
    }),
    // Beta(1, b) with means 9%, 3.2%, 1%, 0.33%, 0.1%: the shares of a canary worse than a healthy stable.
    worse: Object.freeze({ canary: beta([10, 30, 100, 300, 1000].map((b) => [b, 0.2] as const)), stable: stablePrior }),
  });
}

export function sequentialParams(spec: SequentialSpec | undefined): SequentialParams {
  const s = spec ?? {};
  return {
    tolerance: (s.tolerance ?? SEQUENTIAL_DEFAULTS.tolerance) / 100,
    falseRollback: s.falseRollback ?? SEQUENTIAL_DEFAULTS.falseRollback,
    badPromotion: s.badPromotion ?? SEQUENTIAL_DEFAULTS.badPromotion,
    catastrophic: (s.catastrophicErrorRate ?? SEQUENTIAL_DEFAULTS.catastrophicErrorRate) / 100,
  };
}

/** Where the rollout stands: what a pass would do next. */
export interface Stage {
  /** A pass promotes (the current step is the last). */
  promoteNext: boolean;
  /** Weight a pass moves to (100 when it promotes). */
  nextWeight: number;
  /** The current weight and the analysis interval, for forecasts (absent: no forecast). */
  weight?: number;
  intervalMs?: number;
  /** The last step's weight: where the promotion proof is gathered. */
  lastWeight?: number;
  /** Ms since the rollout started, for the canary's average request rate. */
  sinceStartMs?: number;
}

/**
 * The excess bad share (canary − stable, a fraction) the tolerance allows at `weight`: an excess d served at
 * weight w is d·w/100 of all requests, so the budget is T·100/w (T itself at 100, the promotion).
 */
export function exposureBudget(p: SequentialParams, weight: number): number {
  return weight > 0 ? (p.tolerance * 100) / weight : 1;
}

/**
 * Canary requests the test needs in all, at the shares seen so far, before the upper bound on canary − stable
 * is within `budget` at level β: the smallest n whose counts, scaled from the evidence (the stable growing
 * (100 − w)/w times as fast at weight w), reach ln(1/β) against "canary − stable ≥ budget". Undefined when no
 * amount of such traffic would (the canary's share so far is over the budget). An estimate for messages and
 * the time-out, never for the decision itself.
 */
export function requestsNeeded(c: Counts, p: SequentialParams, budget: number, weight: number): number | undefined {
  if (budget >= 1) return c.canaryTotal;
  const need = Math.log(1 / p.badPromotion);
  const canaryShare = c.canaryTotal > 0 ? c.canaryBad / c.canaryTotal : 0;
  const stableShare = c.stableTotal > 0 ? c.stableBad / c.stableTotal : 0;
  const ratio = (100 - Math.min(99, Math.max(1, weight))) / Math.min(99, Math.max(1, weight));
  const at = (n: number): Counts => {
    const more = Math.max(0, n - c.canaryTotal) * ratio;
    return {
      canaryTotal: n,
      canaryBad: Math.round(canaryShare * n),
      stableTotal: c.stableTotal + Math.round(more),
      stableBad: c.stableBad + Math.round(more * stableShare),
    };
  };
  const enough = (n: number): boolean => new TwoSample(at(n), SEQUENTIAL_TUNING.prior).logEvidenceWithin(budget) >= need;
  let lo = Math.max(1, c.canaryTotal);
  if (enough(lo)) return lo;
  let hi = lo * 2;
  while (!enough(hi)) {
    if (hi > 1e6) return undefined;
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > Math.max(1, lo * 0.02)) {
    const mid = Math.floor((lo + hi) / 2);
    if (enough(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** When the test may answer, from the canary's request rate this interval (MetricOutcome.forecast). */
export interface Forecast {
  /** What the evidence is gathered for: the promotion, or the next weight. */
  target: 'promotion' | number;
  /** Canary requests needed in all, and seen so far. */
  needed: number;
  have: number;
  /** Canary requests per second at the target's weight (the higher of this interval's and the rollout's average). */
  ratePerSec: number;
  /** Ms until the requests still needed arrive at that rate; undefined when they never will at this rate. */
  etaMs: number | undefined;
}

export interface Assessment {
  verdict: SequentialEvidence['verdict'];
  catastrophic: boolean;
  canaryShare: number | undefined;
  stableShare: number | undefined;
  /** canary − stable bad share (fractions), when both sides have requests. */
  estimate: number | undefined;
  /** Confidence bounds on canary − stable: lower at level α (rollback side), upper at level β (promotion side). */
  lower: number;
  upper: number;
  /** ln of the e-value against "canary − stable ≤ rollbackMargin" (rollback at ln(1/α')). */
  logLR: number;
  /** ln of the catastrophic guard's e-value (rollback at ln(1/α_cat)). */
  logGuard: number;
  /** Why, in words. */
  reason: string;
}

function confidence(level: number): string {
  return `${formatNumber((1 - level) * 100, 2)}%`;
}

/**
 * The test on accumulated evidence (docs/analysis.md, "Sequential mode").
 * - worse: the e-value against "canary − stable ≤ margin" reaches 1/α' (α' = α minus the catastrophic share):
 *   a canary no worse than that is rolled back with probability ≤ α over the whole rollout.
 * - catastrophic: the guard's e-value against "canary − stable ≤ margin and canary ≤ rate" (catastrophic.ts)
 *   reaches 1/α_cat, α_cat = α·catastrophicShare; reported as catastrophic when the canary's measured share is
 *   at least the rate, otherwise as worse. Both rules together: a canary within the margin and below the rate
 *   is rolled back with probability ≤ α_cat + α' = α.
 * - not worse, before promotion: the e-value against "canary − stable ≥ tolerance" reaches 1/β: a canary worse
 *   by the tolerance or more is promoted with probability ≤ β.
 * - not worse, before the last step: the measured difference, scaled to the traffic share the canary would
 *   get next, stays within the tolerance. Exposure grows with evidence; the guarantee is on promotion.
 * A stable baseline (spec stableBaseline) counts in the rollback tests, not in the promotion test.
 */
export function assessEvidence(ev: SequentialEvidence, p: SequentialParams, stage: Stage): Assessment {
  const { prior, catastrophicShare } = SEQUENTIAL_TUNING;
  const margin = SEQUENTIAL_TUNING.rollbackMargin * p.tolerance;
  const c = { canaryBad: ev.canaryBad, canaryTotal: ev.canaryTotal, stableBad: ev.stableBad, stableTotal: ev.stableTotal };
  const alphaCat = p.falseRollback * catastrophicShare;
  const alphaWorse = p.falseRollback - alphaCat;

  const test = new TwoSample(c, prior, SEQUENTIAL_TUNING.worse);
  // The promotion side leaves the stable baseline out: it gains next to nothing from a stable already known to
  // 0.1% (the sup could move it by as much as the data allow, a fraction of the tolerance) and the mixture's
  // cost grows with every stable request (the benchmark promoted fewer good canaries with it). Without it, the
  // bad-promotion bound also holds whether or not the stable's share was the same before the rollout.
  const within = ev.baseline ? new TwoSample(concurrentCounts(c, ev.baseline), prior) : test;
  const logLR = test.logEvidenceWorse(margin);
  const logGuard = logEvidenceCatastrophic(c, margin, p.catastrophic, SEQUENTIAL_TUNING.guard);
  const lower = test.lowerBound(alphaWorse);
  const upper = within.upperBound(p.badPromotion);
  const canaryShare = c.canaryTotal > 0 ? c.canaryBad / c.canaryTotal : undefined;
  const stableShare = c.stableTotal > 0 ? c.stableBad / c.stableTotal : undefined;
  const estimate = canaryShare !== undefined && stableShare !== undefined ? canaryShare - stableShare : undefined;

  const sides =
    `canary ${canaryShare === undefined ? 'n/a' : formatShare(canaryShare)} bad of ${c.canaryTotal}` +
    ` vs stable ${stableShare === undefined ? 'n/a' : formatShare(stableShare)} bad of ${c.stableTotal}` +
    (ev.baseline ? ` (${ev.baseline.total} of them in the ${ev.baseline.window} before the rollout)` : '');
  const base = { canaryShare, stableShare, estimate, lower, upper, logLR, logGuard };

  // What the guard shows: not (canary − stable ≤ margin and canary ≤ rate). With the canary measured at or above
  // the rate that is a catastrophe; below it, the canary is shown worse, as by the "worse" test.
  const guardShown = logGuard >= Math.log(1 / alphaCat);
  const guardText = `canary - stable > ${formatPoints(margin)} or canary > catastrophic ${formatShare(p.catastrophic)} (${confidence(alphaCat)} confidence)`;
  if (guardShown && canaryShare !== undefined && canaryShare >= p.catastrophic) {
    return { ...base, verdict: 'worse', catastrophic: true, reason: `${sides}: catastrophic, ${guardText}` };
  }
  if (logLR >= Math.log(1 / alphaWorse)) {
    return {
      ...base,
      verdict: 'worse',
      catastrophic: false,
      reason: `${sides}: worse, canary - stable >= ${formatPoints(Math.max(lower, margin))} (${confidence(alphaWorse)} confidence)`,
    };
  }
  if (guardShown) return { ...base, verdict: 'worse', catastrophic: false, reason: `${sides}: worse, ${guardText}` };
  const tol = formatPoints(p.tolerance).replace(/^\+/, '');
  if (stage.promoteNext) {
    if (within.logEvidenceWithin(p.tolerance) >= Math.log(1 / p.badPromotion)) {
      return {
        ...base,
        verdict: 'not-worse',
        catastrophic: false,
        reason: `${sides}: not worse, canary - stable <= ${formatPoints(Math.min(upper, p.tolerance))} (${confidence(p.badPromotion)} confidence, tolerance ${tol})`,
      };
    }
    return {
      ...base,
      verdict: 'unknown',
      catastrophic: false,
      reason: `${sides}: not known yet, canary - stable <= ${formatPoints(upper)} > tolerance ${tol} (${confidence(p.badPromotion)} confidence)`,
    };
  }
  if (canaryShare === undefined) {
    return { ...base, verdict: 'unknown', catastrophic: false, reason: `${sides}: no canary requests yet` };
  }
  // Exposure-aware steps: move to the next weight only once the upper bound on canary − stable, times that
  // weight, is within the tolerance: the harm the next step can do is bounded by the evidence, not guessed
  // from a point estimate.
  const budget = exposureBudget(p, stage.nextWeight);
  const w = stage.nextWeight;
  if (budget >= 1 || within.logEvidenceWithin(budget) >= Math.log(1 / p.badPromotion)) {
    return {
      ...base,
      verdict: 'not-worse',
      catastrophic: false,
      reason: `${sides}: not worse at weight ${w}, canary - stable <= ${formatPoints(Math.min(upper, budget))} (${confidence(p.badPromotion)} confidence), at most ${formatPoints((Math.min(upper, budget) * w) / 100).replace(/^\+/, '')} of all traffic <= ${tol}`,
    };
  }
  return {
    ...base,
    verdict: 'unknown',
    catastrophic: false,
    reason: `${sides}: not known yet at weight ${w}, canary - stable <= ${formatPoints(upper)} > ${formatPoints(budget).replace(/^\+/, '')} (${confidence(p.badPromotion)} confidence, tolerance ${tol} of all traffic)`,
  };
}

/** The counts of the rollout's own intervals: all counts less the stable's baseline. */
function concurrentCounts(c: Counts, b: { total: number; bad: number }): Counts {
  const stableTotal = Math.max(0, c.stableTotal - b.total);
  return { ...c, stableTotal, stableBad: Math.min(stableTotal, Math.max(0, c.stableBad - b.bad)) };
}

export function sequentialThresholdText(p: SequentialParams): string {
  return `canary - stable <= ${formatPoints(p.tolerance).replace(/^\+/, '')} bad (sequential, falseRollback ${p.falseRollback}, badPromotion ${p.badPromotion})`;
}

/** Sequential mode for one metric and tick: accumulate the interval's counts, then test. */
export function evaluateSequentialMetric(
  metric: MetricSpec,
  m: Measurement | undefined,
  previous: SequentialEvidence | undefined,
  previousStreak: number,
  time: string,
  stage: Stage,
): MetricOutcome {
  const params = sequentialParams(metric.sequential);
  const threshold = sequentialThresholdText(params);
  const make = (
    verdict: MetricReport['verdict'],
    effect: Effect,
    message: string,
    streak: number,
    evidence: SequentialEvidence | undefined,
    extra: Partial<MetricOutcome> = {},
  ): MetricOutcome => {
    const report: MetricReport = { name: metric.name, threshold, verdict, message, time };
    if (evidence && evidence.canaryTotal > 0) report.value = (evidence.canaryBad / evidence.canaryTotal) * 100;
    if (evidence && evidence.stableTotal > 0) report.stableValue = (evidence.stableBad / evidence.stableTotal) * 100;
    const out: MetricOutcome = { report, effect, summary: `${metric.name} ${message}`, errorStreak: streak, ...extra };
    if (evidence) out.evidence = evidence;
    return out;
  };

  const reading = m === undefined ? ({ kind: 'error', label: 'counts', code: 'NotMeasured', message: 'not measured' } as const) : readCounts(m.counts);
  if (reading.kind === 'error') {
    const e = applyQueryError(metric, previousStreak);
    const counted = e.effect === 'fail' ? ', counted as a failed check' : '';
    return make('error', e.effect, `${reading.label} query error ${e.streak}/${e.limit}${counted}: ${reading.code}: ${reading.message}`, e.streak, previous);
  }
  if (reading.kind === 'spec') return make('error', 'fail', reading.message, 0, previous);

  let before = previous;
  let baselineNote = '';
  if (m?.baseline && !previous?.baseline) {
    const b = readBaseline(m.baseline);
    if (b.kind === 'ok') before = addBaseline(previous, metric.name, b, m.baseline);
    else baselineNote = `; ${b.message} (read again next interval)`;
  }
  const merged = addCounts(before, metric.name, reading.increment);
  const a = assessEvidence(merged, params, stage);
  a.reason += baselineNote;
  const evidence: SequentialEvidence = {
    ...merged,
    logLR: a.logLR,
    bound: a.upper * 100,
    verdict: a.verdict,
  };
  if (a.estimate !== undefined) evidence.estimate = a.estimate * 100;

  if (a.verdict === 'worse') {
    return make('fail', 'fail', a.reason, 0, evidence, { rollback: a.catastrophic ? 'Catastrophic' : 'SequentialWorse' });
  }
  const counts = merged.baseline ? concurrentCounts(merged, merged.baseline) : merged;
  const forecasts = {
    forecast: () => forecastOf(counts, params, stage, reading.increment.canaryTotal, stage.promoteNext ? 'promotion' : stage.nextWeight),
    promotionForecast: () => forecastOf(counts, params, stage, reading.increment.canaryTotal, 'promotion'),
  };
  if (!reading.increment.canaryTraffic && !(a.verdict === 'not-worse' && stage.promoteNext)) {
    // Nothing new from the canary: moving up a step needs traffic at this weight (only a finished proof
    // promotes without it), so the noData policy says how the tick counts; `pass` judges on the evidence.
    const nd = applyNoData(metric);
    if (nd.effect !== 'pass') return make(nd.verdict, nd.effect, `no canary requests this interval ${nd.note}; ${a.reason}`, 0, evidence, forecasts);
  }
  if (a.verdict === 'not-worse') return make('pass', 'pass', a.reason, 0, evidence, forecasts);
  return make('inconclusive', 'inconclusive', a.reason, 0, evidence, forecasts);
}

/**
 * When the evidence for `target` may be complete: at the promotion, the requests gathered at the last step's
 * weight (this interval's canary rate scaled to that weight); for the next weight, at the current one.
 */
function forecastOf(c: Counts, p: SequentialParams, stage: Stage, increment: number, target: 'promotion' | number): Forecast | undefined {
  if (stage.weight === undefined || stage.intervalMs === undefined || stage.weight <= 0) return undefined;
  const at = target === 'promotion' ? Math.max(stage.weight, stage.lastWeight ?? stage.weight) : stage.weight;
  const needed = requestsNeeded(c, p, exposureBudget(p, target === 'promotion' ? 100 : target), at);
  if (needed === undefined) return { target, needed: Infinity, have: c.canaryTotal, ratePerSec: 0, etaMs: undefined };
  // The last interval's rate is noisy (increment() over one short window can read 0); the average since the
  // rollout started is a floor, since the weight only grew. Its first interval is left out: the metrics
  // pipeline (a scrape, then a window) shows the first requests late.
  const observed = stage.sinceStartMs !== undefined ? stage.sinceStartMs - stage.intervalMs : 0;
  const average = observed > 0 ? (c.canaryTotal / observed) * 1000 : 0;
  const ratePerSec = (Math.max((increment / stage.intervalMs) * 1000, average) * at) / stage.weight;
  const remaining = Math.max(0, needed - c.canaryTotal);
  // A canary measured worse than the tolerance cannot be promoted at the shares seen: no answer worth waiting
  // for is coming (waiting would only add to the harm it does meanwhile).
  const excess = c.canaryTotal > 0 ? c.canaryBad / c.canaryTotal - (c.stableTotal > 0 ? c.stableBad / c.stableTotal : 0) : 0;
  if (excess > p.tolerance) return { target, needed, have: c.canaryTotal, ratePerSec, etaMs: undefined };
  const etaMs = remaining === 0 ? 0 : ratePerSec > 0 ? (remaining / ratePerSec) * 1000 : undefined;
  return { target, needed, have: c.canaryTotal, ratePerSec, etaMs };
}
