import { logBeta } from './special.js';

/**
 * Anytime-valid confidence sequence for one binomial proportion: Robbins' (1970) conjugate-mixture
 * boundary with a Beta(a, b) mixing distribution (Howard, Ramdas, McAuliffe, Sekhon 2021, §3).
 *
 * For the true bad share p, M_t(p) = ∫ L_t(q) dBeta(q; a, b) / L_t(p) is a non-negative martingale with
 * M_0 = 1 over the requests of one side, so by Ville's inequality P(∃t: M_t(p) ≥ 1/ℓ) ≤ ℓ. The set
 * { p : M_t(p) < 1/ℓ } therefore holds p at every t at once with probability ≥ 1 − ℓ; L_t is log-concave,
 * so the set is an interval [lower, upper]. It depends on the data only through (bad, total), so counts
 * summed per interval give the same answer as request-by-request updates.
 */
export interface BetaPrior {
  a: number;
  b: number;
}

/**
 * A finite mixture of Beta distributions (weights sum to 1). A mixture of martingales is a martingale, so
 * everything below holds for it too; mixing Betas of different scales keeps the boundary tight for bad
 * shares from 0.01% to 50% at once (a single Beta is tight near its own mean only).
 */
export type MixingPrior = BetaPrior | ReadonlyArray<BetaPrior & { weight: number }>;

/** ln L(p) = x ln p + (n − x) ln(1 − p), with 0·ln 0 = 0. */
export function logLikelihood(p: number, bad: number, total: number): number {
  const good = total - bad;
  let v = 0;
  if (bad > 0) v += p <= 0 ? -Infinity : bad * Math.log(p);
  if (good > 0) v += p >= 1 ? -Infinity : good * Math.log1p(-p);
  return v;
}

/**
 * ln ∫ q^x (1 − q)^(n−x) dπ(q): for one Beta(a, b), ln B(a + x, b + n − x) − ln B(a, b); for a mixture, the
 * weighted sum of those (computed as a log-sum-exp).
 */
export function logMixture(bad: number, total: number, prior: MixingPrior): number {
  if (!isMixture(prior)) return logBeta(prior.a + bad, prior.b + total - bad) - logBeta(prior.a, prior.b);
  const terms = componentTerms(prior);
  let max = -Infinity;
  const values = new Array<number>(terms.length);
  for (let i = 0; i < terms.length; i++) {
    const t = terms[i] as ComponentTerm;
    const v = t.logWeight + logBeta(t.a + bad, t.b + total - bad) - t.logBeta;
    values[i] = v;
    if (v > max) max = v;
  }
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

function isMixture(prior: MixingPrior): prior is ReadonlyArray<BetaPrior & { weight: number }> {
  return Array.isArray(prior);
}

interface ComponentTerm {
  a: number;
  b: number;
  logWeight: number;
  logBeta: number;
}

// ln B(a, b) and ln weight of each component depend on the prior only: computed once per prior object.
const TERMS = new WeakMap<object, ComponentTerm[]>();

function componentTerms(prior: ReadonlyArray<BetaPrior & { weight: number }>): ComponentTerm[] {
  let terms = TERMS.get(prior);
  if (!terms) {
    terms = prior.map((c) => ({ a: c.a, b: c.b, logWeight: Math.log(c.weight), logBeta: logBeta(c.a, c.b) }));
    TERMS.set(prior, terms);
  }
  return terms;
}

/** ln M_t(p): the log e-value against "the bad share is p". */
export function logMixtureRatio(p: number, bad: number, total: number, prior: MixingPrior): number {
  return logMixture(bad, total, prior) - logLikelihood(p, bad, total);
}

const ITERATIONS = 60;

/**
 * Lower end of the level-ℓ confidence sequence (coverage ≥ 1 − ℓ over all times), i.e. the smallest p with
 * ln M(p) < ln(1/ℓ). 0 when no bad request was seen.
 */
export function lowerBound(bad: number, total: number, level: number, prior: MixingPrior): number {
  if (total <= 0 || bad <= 0) return 0;
  const target = logMixture(bad, total, prior) - Math.log(1 / level); // ln L(p) must reach this
  let lo = 0;
  let hi = bad / total; // ln L is increasing on (0, p̂] and ln L(p̂) ≥ ln m > target
  for (let i = 0; i < ITERATIONS; i++) {
    const mid = (lo + hi) / 2;
    if (logLikelihood(mid, bad, total) > target) hi = mid;
    else lo = mid;
  }
  return lo;
}

/** Upper end of the level-ℓ confidence sequence; 1 when every request was bad. */
export function upperBound(bad: number, total: number, level: number, prior: MixingPrior): number {
  if (total <= 0) return 1;
  if (bad >= total) return 1;
  const target = logMixture(bad, total, prior) - Math.log(1 / level);
  let lo = bad / total;
  let hi = 1;
  for (let i = 0; i < ITERATIONS; i++) {
    const mid = (lo + hi) / 2;
    if (logLikelihood(mid, bad, total) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}
