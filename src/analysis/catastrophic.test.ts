import { evidenceOf } from './testing.js';
import { catastrophicShares, logCanaryNumerator, logEvidenceCatastrophic } from './catastrophic.js';
import { assessEvidence, SEQUENTIAL_TUNING, sequentialParams, type Stage } from './sequential.js';
import { maxInCappedNull, type Counts } from './two-sample.js';

const design = SEQUENTIAL_TUNING.guard;
const P = sequentialParams(undefined);
const margin = SEQUENTIAL_TUNING.rollbackMargin * P.tolerance; // 0.0025
const cap = P.catastrophic; // 0.2
const alphaCat = P.falseRollback * SEQUENTIAL_TUNING.catastrophicShare;
const FINAL: Stage = { promoteNext: true, nextWeight: 100 };

/** ln L(p) written out, independently of binomial-cs.ts. */
function lnL(p: number, bad: number, total: number): number {
  const good = total - bad;
  return (bad > 0 ? bad * Math.log(p) : 0) + (good > 0 ? good * Math.log(1 - p) : 0);
}

/**
 * Brute-force sup over H0 = { p_c ≤ p_s + d0, p_c ≤ cap }: for each p_s on a fine grid the best p_c is the
 * canary's own share clipped to the constraints; then a golden-section refinement around the best grid point.
 */
function bruteSup(c: Counts, d0: number, capValue: number): number {
  const own = c.canaryTotal > 0 ? c.canaryBad / c.canaryTotal : 0;
  const f = (s: number): number => lnL(Math.max(0, Math.min(own, s + d0, capValue)), c.canaryBad, c.canaryTotal) + lnL(s, c.stableBad, c.stableTotal);
  const N = 20_000;
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i <= N; i++) {
    const s = i / N;
    const v = f(s);
    if (v > bestV) {
      bestV = v;
      best = s;
    }
  }
  let a = Math.max(0, best - 1 / N);
  let b = Math.min(1, best + 1 / N);
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 200; i++) {
    const x1 = b - g * (b - a);
    const x2 = a + g * (b - a);
    if (f(x1) > f(x2)) b = x2;
    else a = x1;
  }
  return Math.max(bestV, f((a + b) / 2));
}

/** The stable numerator for x = 0 in closed form: B(1, b + n)/B(1, b) = b / (b + n) per component. */
function stableNumeratorNoBad(n: number): number {
  const prior = design.stablePrior as ReadonlyArray<{ a: number; b: number; weight: number }>;
  return Math.log(prior.reduce((s, c) => s + (c.weight * c.b) / (c.b + n), 0));
}

const counts = (canaryBad: number, canaryTotal: number, stableBad: number, stableTotal: number): Counts => ({ canaryBad, canaryTotal, stableBad, stableTotal });

describe('catastrophic guard: the null maximum', () => {
  it.each([
    [counts(3, 6, 0, 54)],
    [counts(2, 2, 0, 22)],
    [counts(60, 100, 0, 0)],
    [counts(30, 300, 3, 2700)],
    [counts(5, 20, 40, 200)], // stable itself bad: the cap binds
    [counts(1, 1, 0, 11)],
    [counts(0, 30, 0, 270)], // inside H0
    [counts(120, 200, 2, 1800)],
  ])('matches brute force over { p_c <= p_s + margin, p_c <= cap } (%o)', (c) => {
    expect(maxInCappedNull(c, margin, cap)).toBeCloseTo(bruteSup(c, margin, cap), 6);
  });

  it('is the unrestricted maximum inside H0, and the canary at the cap without stable data', () => {
    const inside = counts(1, 100, 9, 900); // both at 1%
    expect(maxInCappedNull(inside, margin, cap)).toBeCloseTo(lnL(0.01, 1, 100) + lnL(0.01, 9, 900), 10);
    const alone = counts(60, 100, 0, 0);
    expect(maxInCappedNull(alone, margin, cap)).toBeCloseTo(lnL(0.2, 60, 100), 10);
  });
});

describe('catastrophic guard: the e-value', () => {
  it('numerators in closed form: ½ (0.2^x 0.8^y + 0.6^x 0.4^y), and Σ w b/(b + n) for a clean stable', () => {
    const shares = catastrophicShares(0.2, design);
    expect(shares).toHaveLength(2);
    expect(shares[0]).toBeCloseTo(0.2, 15);
    expect(shares[1]).toBeCloseTo(0.6, 15);
    expect(logCanaryNumerator(3, 6, 0.2, design)).toBeCloseTo(Math.log(0.5 * (0.2 ** 3 * 0.8 ** 3 + 0.6 ** 3 * 0.4 ** 3)), 12);
    const c = counts(3, 6, 0, 54);
    const expected = Math.log(0.5 * (0.2 ** 3 * 0.8 ** 3 + 0.6 ** 3 * 0.4 ** 3)) + stableNumeratorNoBad(54) - bruteSup(c, margin, cap);
    expect(logEvidenceCatastrophic(c, margin, cap, design)).toBeCloseTo(expected, 6);
  });

  it('without stable data it is the canary-only likelihood ratio against the cap', () => {
    // ln E = ln ½ (L(0.2) + L(0.6)) − ln L(0.2) for 60 bad of 100.
    const e = logEvidenceCatastrophic(counts(60, 100, 0, 0), margin, cap, design);
    expect(e).toBeCloseTo(Math.log(0.5 * (1 + Math.exp(lnL(0.6, 60, 100) - lnL(0.2, 60, 100)))), 9);
    // Three bad of five alone is not enough: ln E ≈ 1.35.
    expect(logEvidenceCatastrophic(counts(3, 5, 0, 0), margin, cap, design)).toBeCloseTo(Math.log(0.5 * (1 + (0.6 / 0.2) ** 3 * (0.4 / 0.8) ** 2)), 9);
  });

  it('at most 1 without canary requests or with the canary inside H0', () => {
    expect(logEvidenceCatastrophic(counts(0, 0, 3, 3000), margin, cap, design)).toBeLessThanOrEqual(0);
    expect(logEvidenceCatastrophic(counts(0, 60, 0, 540), margin, cap, design)).toBeLessThanOrEqual(0);
  });
});

describe('catastrophic guard in assessEvidence', () => {
  const ev = evidenceOf;

  it('decides exactly at ln(1/α_cat): 1 rps, first interval (about 6 canary and 54 stable requests)', () => {
    const need = Math.log(1 / alphaCat);
    let flips = 0;
    for (let total = 1; total <= 10; total++) {
      for (let bad = 0; bad <= total; bad++) {
        const c = counts(bad, total, 0, 54);
        const reference = Math.log(0.5 * (0.2 ** bad * 0.8 ** (total - bad) + 0.6 ** bad * 0.4 ** (total - bad))) + stableNumeratorNoBad(54) - bruteSup(c, margin, cap);
        const a = assessEvidence(ev(total, bad, 54, 0), P, FINAL);
        expect(a.logGuard).toBeCloseTo(reference, 5);
        const shown = reference >= need;
        if (Math.abs(reference - need) > 1e-6) expect(a.catastrophic).toBe(shown && bad / total >= cap);
        if (shown) {
          expect(a.verdict).toBe('worse');
          flips++;
        }
      }
    }
    expect(flips).toBeGreaterThan(0);
    // The median case of a 50%-error canary at 1 rps: 3 bad of 6 is catastrophic in the first interval.
    expect(assessEvidence(ev(6, 3, 54, 0), P, FINAL)).toMatchObject({ verdict: 'worse', catastrophic: true });
    // One bad of one is not: 11 stable requests cannot rule out a stable at several percent.
    expect(assessEvidence(ev(1, 1, 11, 0), P, FINAL).verdict).not.toBe('worse');
  });

  it('reports "worse", not catastrophic, when the guard fires on a canary measured below the rate', () => {
    // 15% of 400 against 0.1%: far beyond the margin, below the 20% rate.
    const a = assessEvidence(ev(400, 60, 3600, 4), P, FINAL);
    expect(a.logGuard).toBeGreaterThan(Math.log(1 / alphaCat));
    expect(a).toMatchObject({ verdict: 'worse', catastrophic: false });
  });
});

describe('catastrophic guard: level at the edges of H0, exactly for one interval', () => {
  // Enumerate the first interval's four Poisson counts at 1 rps (canary 6, stable 54 expected requests) and sum
  // the probability that the guard fires. It must stay below α_cat at every point of H0 (Ville bounds all
  // intervals together; one interval is a check that can be computed exactly).
  function pois(mean: number, max: number): number[] {
    const out = [Math.exp(-mean)];
    for (let k = 1; k <= max; k++) out.push(((out[k - 1] as number) * mean) / k);
    return out;
  }
  /** P(fires) from above: outcomes too unlikely to evaluate (and the tails beyond `max`) are counted as firing. */
  function fireProbability(pc: number, ps: number, lc: number, ls: number): number {
    const need = Math.log(1 / alphaCat);
    const max = 120;
    const xc = pois(lc * pc, max);
    const yc = pois(lc * (1 - pc), max);
    const xs = pois(ls * ps, max);
    const ys = pois(ls * (1 - ps), max);
    const sum = (v: number[]): number => v.reduce((s, x) => s + x, 0);
    const stable = sum(xs) * sum(ys);
    let p = 1 - sum(xc) * sum(yc) * stable;
    for (let a = 0; a <= max; a++) {
      for (let b = 0; b <= max; b++) {
        const wc = (xc[a] as number) * (yc[b] as number);
        if (wc < 1e-8) {
          p += wc * stable;
          continue;
        }
        for (let x = 0; x <= max; x++) {
          for (let y = 0; y <= max; y++) {
            const w = wc * (xs[x] as number) * (ys[y] as number);
            if (w < 1e-8 || logEvidenceCatastrophic(counts(a, a + b, x, x + y), margin, cap, design) >= need) p += w;
          }
        }
      }
    }
    return p;
  }

  it.each([
    [0.001 + margin, 0.001],
    [0.02 + margin, 0.02],
    [cap, cap - margin],
    [cap, 0.3],
  ])('canary %p, stable %p: P(fires in interval 1) <= α_cat', (pc, ps) => {
    expect(fireProbability(pc, ps, 6, 54)).toBeLessThanOrEqual(alphaCat);
  });

  it('and a 50%-error canary at 1 rps is caught in interval 1 more than half the time', () => {
    expect(fireProbability(0.5, 0.001, 6, 54)).toBeGreaterThan(0.5);
  });
});
