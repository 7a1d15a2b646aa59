import { logLikelihood, logMixture, type MixingPrior } from './binomial-cs.js';

/**
 * Anytime-valid tests comparing two binomial shares (canary c, stable s) through their difference
 * d = p_c − p_s, by sequential universal inference (Wasserman, Ramdas, Balakrishnan 2020, §7):
 *
 *   E_t = m_c(t) · m_s(t) / sup_{(p_c, p_s) ∈ H0} L_c,t(p_c) · L_s,t(p_s)
 *
 * where m is each side's Beta-mixture marginal likelihood. For any (p_c, p_s) in H0 the denominator is at
 * least L_c(p_c)·L_s(p_s), and m_c·m_s / (L_c(p_c)·L_s(p_s)) is a product of two independent non-negative
 * martingales with mean 1, so E_t is dominated by a martingale and P_H0(∃t: E_t ≥ 1/ℓ) ≤ ℓ (Ville). No
 * asymptotics: valid at 3 requests as at 3 million, and the stable's share is a nuisance handled by the sup.
 *
 * Two one-sided nulls are used:
 *   "not worse":  H0 = { d ≤ d0 }  (rejecting it says the canary is worse by more than d0)
 *   "not better": H0 = { d ≥ d0 }  (rejecting it says the canary is worse by less than d0)
 */
export interface Counts {
  canaryBad: number;
  canaryTotal: number;
  stableBad: number;
  stableTotal: number;
}

/** A mixing distribution per side, for a numerator that bets differently on each. */
export interface SidePriors {
  canary: MixingPrior;
  stable: MixingPrior;
}

function share(bad: number, total: number): number {
  return total > 0 ? bad / total : 0;
}

/** Joint log-likelihood ln L_c(s + d0) + ln L_s(s). */
function boundaryLogLik(c: Counts, d0: number, s: number): number {
  return logLikelihood(s + d0, c.canaryBad, c.canaryTotal) + logLikelihood(s, c.stableBad, c.stableTotal);
}

const INNER_ITERATIONS = 100;

/**
 * max over s of ln L_c(s + d0) + ln L_s(s), s in [max(0, −d0), min(1, 1 − d0)] (narrowed to [from, to] when
 * given). The function is concave in s: Newton steps on its derivative, kept inside a bracket that bisection
 * shrinks whenever a step leaves it.
 */
export function maxOnBoundary(c: Counts, d0: number, from = 0, to = 1): number {
  let lo = Math.max(0, -d0, from);
  let hi = Math.min(1, 1 - d0, to);
  if (hi < lo) return -Infinity;
  if (!(hi > lo)) return boundaryLogLik(c, d0, lo);
  const xc = c.canaryBad;
  const yc = c.canaryTotal - c.canaryBad;
  const xs = c.stableBad;
  const ys = c.stableTotal - c.stableBad;
  // Start from the pooled share moved onto the boundary: close to the optimum when one side dominates.
  const n = c.canaryTotal + c.stableTotal;
  let s = n > 0 ? (xc + xs - c.canaryTotal * d0) / n : (lo + hi) / 2;
  if (!(s > lo && s < hi)) s = (lo + hi) / 2;
  for (let i = 0; i < INNER_ITERATIONS; i++) {
    const pc = s + d0;
    let g = 0;
    let h = 0;
    if (xc > 0) {
      g += xc / pc;
      h -= xc / (pc * pc);
    }
    if (yc > 0) {
      g -= yc / (1 - pc);
      h -= yc / ((1 - pc) * (1 - pc));
    }
    if (xs > 0) {
      g += xs / s;
      h -= xs / (s * s);
    }
    if (ys > 0) {
      g -= ys / (1 - s);
      h -= ys / ((1 - s) * (1 - s));
    }
    if (g > 0) lo = s;
    else if (g < 0) hi = s;
    else break;
    // Newton decrement: the value is within g²/|h| / 2 of the maximum; 1e-11 nats is plenty.
    if (h < 0 && (g * g) / -h < 2e-11) break;
    let next = h < 0 ? s - g / h : NaN;
    // NaN (∞ − ∞ at a rounding edge) or a step out of the bracket: bisect instead.
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (hi - lo <= 1e-17) break;
    s = next;
  }
  // The optimum may sit at an end of the range, where one likelihood can vanish: take the best candidate.
  return Math.max(boundaryLogLik(c, d0, s), boundaryLogLik(c, d0, lo), boundaryLogLik(c, d0, hi));
}

/**
 * ln sup of L_c(p_c) L_s(p_s) over H0 = { p_c − p_s ≤ d0 and p_c ≤ cap } (the catastrophic guard's null). The
 * log-likelihood is concave in (p_c, p_s) and H0 is convex, so when the unrestricted maximum lies outside H0 the
 * sup lies on H0's boundary: the line p_c = p_s + d0 for p_s ≤ cap − d0, or the line p_c = cap for p_s ≥ cap − d0.
 */
export function maxInCappedNull(c: Counts, d0: number, cap: number): number {
  const pc = share(c.canaryBad, c.canaryTotal);
  const ps = share(c.stableBad, c.stableTotal);
  // Without stable requests p_s is free: the unrestricted optimum is inside H0 as soon as p̂_c ≤ cap.
  const inside = pc <= cap && (c.canaryTotal === 0 || c.stableTotal === 0 || pc - ps <= d0);
  if (inside) return logMaxLik(c);
  const onLine = maxOnBoundary(c, d0, 0, cap - d0);
  const from = Math.max(0, cap - d0);
  const onCap = from <= 1 ? logLikelihood(cap, c.canaryBad, c.canaryTotal) + logLikelihood(Math.min(1, Math.max(from, ps)), c.stableBad, c.stableTotal) : -Infinity;
  return Math.max(onLine, onCap);
}

/** ln of the unrestricted maximum likelihood. */
function logMaxLik(c: Counts): number {
  return (
    logLikelihood(share(c.canaryBad, c.canaryTotal), c.canaryBad, c.canaryTotal) +
    logLikelihood(share(c.stableBad, c.stableTotal), c.stableBad, c.stableTotal)
  );
}

function delta(c: Counts): number {
  return share(c.canaryBad, c.canaryTotal) - share(c.stableBad, c.stableTotal);
}

/** Absolute precision of the bounds on d: 1e-7 is 0.00001 percentage points. */
const BOUND_PRECISION = 1e-7;
const OUTER_ITERATIONS = 60;

/**
 * Where a monotone f crosses 0 between `inside` (f ≥ 0: rejected) and `outside` (f < 0), returned on the
 * rejected side so a bound is never reported tighter than the test allows. Regula falsi with the Illinois
 * modification: a handful of evaluations instead of bisection's forty.
 */
function crossing(f: (d: number) => number, inside: number, outside: number): number {
  let a = inside;
  let fa = f(a);
  let b = outside;
  let fb = f(b);
  let side = 0;
  for (let i = 0; i < OUTER_ITERATIONS && Math.abs(b - a) > BOUND_PRECISION; i++) {
    let x = Number.isFinite(fa) ? (a * fb - b * fa) / (fb - fa) : (a + b) / 2;
    // Keep clear of the ends: a step onto an end makes no progress.
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (!(x > lo + (hi - lo) * 1e-3 && x < hi - (hi - lo) * 1e-3)) x = (a + b) / 2;
    const fx = f(x);
    if (fx >= 0) {
      a = x;
      fa = fx;
      if (side === -1) fb /= 2;
      side = -1;
    } else {
      b = x;
      fb = fx;
      if (side === 1) fa /= 2;
      side = 1;
    }
  }
  return a;
}

/**
 * The tests and bounds for one set of counts. The numerator (mixture marginals) and the unrestricted
 * maximum do not depend on d0, so they are computed once.
 */
export class TwoSample {
  private readonly num: number;
  private readonly numWorse: number;
  private readonly free: number;
  private readonly est: number;

  /**
   * `prior` mixes both sides' shares in every numerator; `worse`, when given, replaces it in the "not worse"
   * null's e-value (and so in lowerBound). Any fixed mixing distribution keeps the test valid; one that bets on
   * the shares a worse canary has, next to a stable's small share, reaches the same evidence with fewer requests.
   */
  constructor(
    readonly counts: Counts,
    prior: MixingPrior,
    worse?: SidePriors,
  ) {
    this.num = logMixture(counts.canaryBad, counts.canaryTotal, prior) + logMixture(counts.stableBad, counts.stableTotal, prior);
    this.numWorse = worse
      ? logMixture(counts.canaryBad, counts.canaryTotal, worse.canary) + logMixture(counts.stableBad, counts.stableTotal, worse.stable)
      : this.num;
    this.free = logMaxLik(counts);
    this.est = delta(counts);
  }

  /** ln E against H0 = { p_c − p_s ≤ d0 }: large when the canary is worse than the stable by more than d0. */
  logEvidenceWorse(d0: number): number {
    // Without canary requests every d is possible; the unrestricted optimum inside H0 gives E ≤ 1.
    if (this.counts.canaryTotal === 0 || this.est <= d0) return this.numWorse - this.free;
    return this.numWorse - maxOnBoundary(this.counts, d0);
  }

  /** ln E against H0 = { p_c − p_s ≥ d0 }: large when the canary is worse than the stable by less than d0. */
  logEvidenceWithin(d0: number): number {
    if (this.counts.canaryTotal === 0 || this.est >= d0) return this.num - this.free;
    return this.num - maxOnBoundary(this.counts, d0);
  }

  /** Rough standard error of the difference, to start the search near the answer. */
  private roughSe(): number {
    const c = this.counts;
    const pc = (c.canaryBad + 0.5) / (c.canaryTotal + 1);
    const ps = (c.stableBad + 0.5) / (c.stableTotal + 1);
    return Math.sqrt((pc * (1 - pc)) / (c.canaryTotal + 1) + (ps * (1 - ps)) / (c.stableTotal + 1));
  }

  /**
   * Lower confidence bound on d at level ℓ: the largest d0 with "d ≤ d0" rejected (−1 when none is). Valid
   * for all times at once with probability ≥ 1 − ℓ, as the tests it inverts.
   */
  lowerBound(level: number): number {
    if (this.counts.canaryTotal === 0 || this.counts.stableTotal === 0) return -1;
    const need = Math.log(1 / level);
    const f = (d: number): number => this.logEvidenceWorse(d) - need;
    const floor = -1 + 1e-12;
    if (!(f(floor) >= 0)) return -1;
    // Walk down from the estimate in growing steps until a rejected d0 brackets the bound.
    let outside = this.est;
    let step = this.roughSe() * Math.sqrt(2 * need);
    for (;;) {
      const d = this.est - step;
      if (d <= floor) return crossing(f, floor, outside);
      if (f(d) >= 0) return crossing(f, d, outside);
      outside = d;
      step *= 2;
    }
  }

  /** Upper confidence bound on d at level ℓ: the smallest d0 with "d ≥ d0" rejected (1 when none is). */
  upperBound(level: number): number {
    if (this.counts.canaryTotal === 0) return 1;
    const need = Math.log(1 / level);
    const f = (d: number): number => this.logEvidenceWithin(d) - need;
    const ceiling = 1 - 1e-12;
    if (!(f(ceiling) >= 0)) return 1;
    let outside = this.est;
    let step = this.roughSe() * Math.sqrt(2 * need);
    for (;;) {
      const d = this.est + step;
      if (d >= ceiling) return crossing(f, ceiling, outside);
      if (f(d) >= 0) return crossing(f, d, outside);
      outside = d;
      step *= 2;
    }
  }
}

/** ln E against H0 = { p_c − p_s ≤ d0 } (see TwoSample). */
export function logEvidenceWorse(c: Counts, d0: number, prior: MixingPrior): number {
  return new TwoSample(c, prior).logEvidenceWorse(d0);
}

/** ln E against H0 = { p_c − p_s ≥ d0 } (see TwoSample). */
export function logEvidenceWithin(c: Counts, d0: number, prior: MixingPrior): number {
  return new TwoSample(c, prior).logEvidenceWithin(d0);
}

/** Lower confidence bound on p_c − p_s at level ℓ (see TwoSample). */
export function differenceLowerBound(c: Counts, level: number, prior: MixingPrior): number {
  return new TwoSample(c, prior).lowerBound(level);
}

/** Upper confidence bound on p_c − p_s at level ℓ (see TwoSample). */
export function differenceUpperBound(c: Counts, level: number, prior: MixingPrior): number {
  return new TwoSample(c, prior).upperBound(level);
}
