import { logGamma } from '../analysis/special.js';

/**
 * What ANY test can do under the decision benchmark's traffic model, computed exactly (no simulation).
 * docs/analysis.md ("What any test can do") derives it; in short:
 *
 * In interval i the canary at weight w_i receives Poisson(rps · 60 · w_i / 100) requests, each bad with
 * probability p, so after k intervals its bad and good counts are independent Poisson(λp), Poisson(λ(1 − p))
 * with λ = rps · 60 · Σ_{i≤k} w_i / 100. Take a rule that rolls back a canary whose share is p0 with probability
 * at most α over the whole rollout. "Rolled back by interval k" is then a test of p0 from the data up to k with
 * level ≤ α, so its probability under the true share p1 is at most the power of the most powerful such test:
 * the Neyman–Pearson test of p0 against p1 on (bad, good), randomized to exact level α. That test is given the
 * stable's share and the canary's true share, which no real rule knows, so it is an upper bound for every rule,
 * sequential or not. The weights only add data: a schedule that advances faster sees more requests, and a
 * slower schedule's counts are a thinning of the faster one's, so the bound with the fastest schedule bounds
 * every schedule of the same steps, and the bound "held at the first weight" is what a rule that does not
 * advance before it has an answer can reach.
 */

/** ln P(N = k) for N ~ Poisson(λ). */
export function logPoissonPmf(k: number, lambda: number): number {
  if (lambda <= 0) return k === 0 ? 0 : -Infinity;
  return -lambda + k * Math.log(lambda) - logGamma(k + 1);
}

/** Index range [lo, hi] outside which a Poisson(m) has less than about 1e-16 of its mass. */
function span(means: number[]): [number, number] {
  let lo = Infinity;
  let hi = 0;
  for (const m of means) {
    const sd = Math.sqrt(m);
    lo = Math.min(lo, Math.max(0, Math.floor(m - 12 * sd - 10)));
    hi = Math.max(hi, Math.ceil(m + 12 * sd + 40));
  }
  return [lo, hi];
}

/**
 * Power of the most powerful level-`level` test of "bad share p0" against "bad share p1" when the bad and good
 * counts are independent Poisson(λp) and Poisson(λ(1 − p)) (λ known). Randomized on the boundary so the level is
 * exactly `level`: the largest probability under p1 that any rule with false-alarm probability ≤ level under p0
 * can have.
 */
export function neymanPearsonPower(lambda: number, p0: number, p1: number, level: number): number {
  for (const [name, v] of [
    ['p0', p0],
    ['p1', p1],
  ] as const) {
    if (!(v > 0 && v < 1)) throw new RangeError(`${name} must be strictly between 0 and 1, got ${v}`);
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be strictly between 0 and 1, got ${level}`);
  if (!(lambda > 0)) return level; // no data: only a coin can reject
  if (p0 === p1) return level;
  const a = Math.log(p1 / p0); // ln LR per bad request
  const b = Math.log1p(-p1) - Math.log1p(-p0); // ln LR per good request
  const [xlo, xhi] = span([lambda * p0, lambda * p1]);
  const [ylo, yhi] = span([lambda * (1 - p0), lambda * (1 - p1)]);
  const lx0 = new Float64Array(xhi + 1);
  const lx1 = new Float64Array(xhi + 1);
  for (let x = xlo; x <= xhi; x++) {
    lx0[x] = logPoissonPmf(x, lambda * p0);
    lx1[x] = logPoissonPmf(x, lambda * p1);
  }
  const ly0 = new Float64Array(yhi + 1);
  const ly1 = new Float64Array(yhi + 1);
  for (let y = ylo; y <= yhi; y++) {
    ly0[y] = logPoissonPmf(y, lambda * (1 - p0));
    ly1[y] = logPoissonPmf(y, lambda * (1 - p1));
  }
  const size = (xhi - xlo + 1) * (yhi - ylo + 1);
  const lr = new Float64Array(size);
  const m0 = new Float64Array(size);
  const m1 = new Float64Array(size);
  let i = 0;
  for (let x = xlo; x <= xhi; x++) {
    for (let y = ylo; y <= yhi; y++) {
      lr[i] = a * x + b * y;
      m0[i] = Math.exp((lx0[x] as number) + (ly0[y] as number));
      m1[i] = Math.exp((lx1[x] as number) + (ly1[y] as number));
      i++;
    }
  }
  const order = Array.from({ length: size }, (_, j) => j).sort((u, v) => (lr[v] as number) - (lr[u] as number));
  // Take outcomes from the largest likelihood ratio down; a group of equal ratios that would overshoot the
  // level is taken with the probability that makes the level exact.
  let used = 0;
  let power = 0;
  for (let j = 0; j < size; ) {
    const top = lr[order[j] as number] as number;
    let g0 = 0;
    let g1 = 0;
    let k = j;
    while (k < size && Math.abs((lr[order[k] as number] as number) - top) <= 1e-9 * Math.max(1, Math.abs(top))) {
      g0 += m0[order[k] as number] as number;
      g1 += m1[order[k] as number] as number;
      k++;
    }
    if (used + g0 <= level) {
      used += g0;
      power += g1;
    } else {
      power += g0 > 0 ? (g1 * (level - used)) / g0 : 0;
      break;
    }
    j = k;
  }
  return Math.min(1, power);
}

/**
 * A bound needing no search: when p1 > p0, P(reject) ≤ P(at least one bad request) + level, because an outcome
 * without bad requests has likelihood ratio ((1 − p1)/(1 − p0))^good ≤ 1, so it adds at most its own
 * probability under p0 (≤ level in total) to the power.
 */
export function atLeastOneBadBound(lambda: number, p1: number, level: number): number {
  return Math.min(1, -Math.expm1(-lambda * p1) + level);
}

/**
 * The fewest requests, all good, that can show "the bad share is below p0" with error ≤ level without a coin:
 * (1 − p0)^n ≤ level. A bad share at p0 gives n good requests in a row with probability (1 − p0)^n.
 */
export function cleanRequestsNeeded(p0: number, level: number): number {
  if (!(p0 > 0 && p0 < 1)) throw new RangeError(`p0 must be strictly between 0 and 1, got ${p0}`);
  return Math.ceil(Math.log(level) / Math.log1p(-p0) - 1e-12);
}

/** Canary requests expected by the end of interval k (λ above) for a per-interval weight schedule. */
export function canaryExposure(rps: number, intervalSeconds: number, weights: readonly number[], k: number): number {
  let sum = 0;
  for (let i = 0; i < k; i++) sum += (weights[Math.min(i, weights.length - 1)] as number) / 100;
  return rps * intervalSeconds * sum;
}

/** First interval k ≤ maxK with f(k) ≥ target (undefined if none): e.g. where the bound reaches 50% (a median). */
export function firstInterval(f: (k: number) => number, target: number, maxK: number): number | undefined {
  for (let k = 1; k <= maxK; k++) if (f(k) >= target) return k;
  return undefined;
}

/** Poisson(m) probabilities for k = 0..n, with n where the tail beyond is below about 1e-16. */
function poissonPmf(m: number): Float64Array {
  const n = m > 0 ? span([m])[1] : 0;
  const out = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) out[k] = Math.exp(logPoissonPmf(k, m));
  return out;
}

/** Convolution of `dist` (rows x, columns y) with independent increments: pmfX along x, pmfY along y. */
function convolve(dist: Float64Array[], pmfX: Float64Array, pmfY: Float64Array): Float64Array[] {
  const width = (dist[0]?.length ?? 1) + pmfY.length - 1;
  const byY = dist.map((row) => {
    const out = new Float64Array(width);
    for (let y = 0; y < row.length; y++) {
      const v = row[y] as number;
      if (v === 0) continue;
      for (let d = 0; d < pmfY.length; d++) out[y + d] = (out[y + d] as number) + v * (pmfY[d] as number);
    }
    return out;
  });
  const out = Array.from({ length: byY.length + pmfX.length - 1 }, () => new Float64Array(width));
  for (let x = 0; x < byY.length; x++) {
    const row = byY[x] as Float64Array;
    for (let d = 0; d < pmfX.length; d++) {
      const w = pmfX[d] as number;
      if (w < 1e-300) continue;
      const target = out[x + d] as Float64Array;
      for (let y = 0; y < width; y++) target[y] = (target[y] as number) + w * (row[y] as number);
    }
  }
  return out;
}

/**
 * Wald's SPRT told both shares, checked at the end of every interval: the probability that it has rejected "bad
 * share p0" by the end of interval t (t = 1..lambdas.length), when the canary's share is p1 and interval i brings
 * Poisson(lambdas[i]) canary requests. It rejects once the likelihood ratio of the cumulative counts reaches
 * 1/level, which keeps the false alarm ≤ level over every interval at once (Ville), like our test; unlike it,
 * it knows p0 and p1. Exact: the distribution of the counts not yet rejected is carried interval by interval.
 */
export function sprtPower(lambdas: readonly number[], p0: number, p1: number, level: number): number[] {
  if (!(p0 > 0 && p0 < 1 && p1 > p0 && p1 < 1)) throw new RangeError(`need 0 < p0 < p1 < 1, got ${p0}, ${p1}`);
  const a = Math.log(p1 / p0);
  const b = Math.log1p(-p1) - Math.log1p(-p0);
  const need = Math.log(1 / level);
  let dist: Float64Array[] = [Float64Array.of(1)];
  let rejected = 0;
  const out: number[] = [];
  for (const lambda of lambdas) {
    dist = convolve(dist, poissonPmf(lambda * p1), poissonPmf(lambda * (1 - p1)));
    dist.forEach((row, x) => {
      for (let y = 0; y < row.length; y++) {
        if (a * x + b * y >= need - 1e-12) {
          rejected += row[y] as number;
          row[y] = 0;
        }
      }
    });
    out.push(Math.min(1, rejected));
  }
  return out;
}
