import { logLikelihood, logMixture, type MixingPrior } from './binomial-cs.js';
import { maxInCappedNull, type Counts } from './two-sample.js';

/**
 * The catastrophic guard (docs/analysis.md, "Catastrophic guard"): an e-value against
 *
 *   H0 = { p_c − p_s ≤ μ  and  p_c ≤ c }   (a canary no worse than the rollback margin, below the catastrophic rate)
 *
 * whose canary numerator bets on catastrophic shares only — point masses at c and above — instead of the broad
 * mixture of the "worse" test. Universal inference again (two-sample.ts): for any (p_c, p_s) in H0 the e-value
 * is at most [m_c / L_c(p_c)] · [m_s / L_s(p_s)], a product of two independent likelihood-ratio martingales with
 * mean 1 (a point mass is a valid mixing distribution), so P_H0(∃t: E_t ≥ 1/ℓ) ≤ ℓ by Ville's inequality.
 *
 * Betting on catastrophic shares is what makes it fast: three bad requests out of six at 1 rps in the first
 * interval are strong evidence against "the canary is no worse than the stable" when the alternative is "the
 * canary fails 20–60% of its requests", and weak evidence when the alternative has to cover 0.01% to 100%.
 * The cap p_c ≤ c in H0 keeps the guard working without stable data (the canary alone then has to be above c).
 */
export interface GuardDesign {
  /** The canary numerator's point masses, as positions t in [0, 1): shares c + t(1 − c), equal weights. */
  alternatives: readonly number[];
  /** Mixing distribution of the stable's share in the numerator: heavy on small shares, what stables have. */
  stablePrior: MixingPrior;
}

/** The shares the canary numerator bets on, for catastrophic rate c. */
export function catastrophicShares(cap: number, design: GuardDesign): number[] {
  return design.alternatives.map((t) => cap + t * (1 - cap));
}

function logSumExp(values: readonly number[]): number {
  const max = Math.max(...values);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** ln of the guard's numerator for the canary: ln Σ_j (1/J) L_c(q_j). */
export function logCanaryNumerator(bad: number, total: number, cap: number, design: GuardDesign): number {
  const shares = catastrophicShares(cap, design);
  const w = Math.log(1 / shares.length);
  return logSumExp(shares.map((q) => w + logLikelihood(q, bad, total)));
}

/** ln E against H0 = { p_c − p_s ≤ margin and p_c ≤ cap }: large when the canary is catastrophically worse. */
export function logEvidenceCatastrophic(c: Counts, margin: number, cap: number, design: GuardDesign): number {
  const num = logCanaryNumerator(c.canaryBad, c.canaryTotal, cap, design) + logMixture(c.stableBad, c.stableTotal, design.stablePrior);
  return num - maxInCappedNull(c, margin, cap);
}
