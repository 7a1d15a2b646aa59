import { logLikelihood, logMixture, logMixtureRatio, lowerBound, upperBound, type MixingPrior } from './binomial-cs.js';
import { logBeta, logGamma } from './special.js';
import { maxOnBoundary, TwoSample, type Counts } from './two-sample.js';
import { SEQUENTIAL_TUNING } from './sequential.js';

/**
 * The statistics are checked against values computed by another route: closed forms, direct numeric
 * integration of the mixture, brute-force maximisation, and coverage by simulation.
 */

/**
 * ∫₀¹ q^x (1−q)^(n−x) π(q) dq by Simpson's rule in θ with q = sin²θ: each Beta(a, b) term becomes
 * 2 sin^(2a−1)θ cos^(2b−1)θ / B(a, b), finite at both ends for a, b ≥ 1/2.
 */
function integrateMixture(bad: number, total: number, prior: MixingPrior): number {
  const comps = Array.isArray(prior) ? (prior as Array<{ a: number; b: number; weight: number }>) : [{ ...(prior as { a: number; b: number }), weight: 1 }];
  const consts = comps.map((c) => ({ ea: 2 * c.a - 1, eb: 2 * c.b - 1, k: Math.log(c.weight) + Math.log(2) - logBeta(c.a, c.b) }));
  const N = 40_000; // even
  const h = Math.PI / 2 / N;
  const pow = (e: number, logx: number): number => (e === 0 ? 0 : e * logx);
  const logf = (theta: number): number => {
    const ls = Math.log(Math.sin(theta));
    const lc = Math.log(Math.cos(theta));
    // q^x (1−q)^(n−x) = sin^(2x) cos^(2(n−x)), with 0·ln 0 = 0.
    const lik = pow(2 * bad, ls) + pow(2 * (total - bad), lc);
    let max = -Infinity;
    const terms = consts.map((c) => c.k + pow(c.ea, ls) + pow(c.eb, lc));
    for (const t of terms) if (t > max) max = t;
    if (max === -Infinity) return -Infinity;
    let sum = 0;
    for (const t of terms) sum += Math.exp(t - max);
    return lik + max + Math.log(sum);
  };
  const values = new Float64Array(N + 1);
  let max = -Infinity;
  for (let i = 0; i <= N; i++) {
    const v = logf(i * h);
    values[i] = Number.isNaN(v) ? -Infinity : v;
    if ((values[i] as number) > max) max = values[i] as number;
  }
  let sum = 0;
  for (let i = 0; i <= N; i++) {
    const w = i === 0 || i === N ? 1 : i % 2 === 1 ? 4 : 2;
    sum += w * Math.exp((values[i] as number) - max);
  }
  return max + Math.log((sum * h) / 3);
}

function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

describe('logGamma / logBeta', () => {
  it.each([
    [1, 0],
    [2, 0],
    [0.5, 0.5 * Math.log(Math.PI)],
    [5, Math.log(24)],
    [0.25, Math.log(3.625609908221908)],
    [10.5, Math.log(1133278.3889487856)],
    [0.001, Math.log(999.4237724845955)],
  ])('lnΓ(%p)', (x, expected) => {
    expect(logGamma(x)).toBeCloseTo(expected, 11);
  });

  it('matches Stirling at large x', () => {
    const x = 1e6;
    const stirling = (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x) - 1 / (360 * x ** 3);
    expect(Math.abs(logGamma(x) - stirling) / stirling).toBeLessThan(1e-13);
  });

  it('rejects x <= 0', () => {
    expect(() => logGamma(0)).toThrow(RangeError);
  });

  it('B(2,3) = 1/12 and B(a,b) = B(b,a)', () => {
    expect(logBeta(2, 3)).toBeCloseTo(Math.log(1 / 12), 12);
    expect(logBeta(0.5, 7.25)).toBeCloseTo(logBeta(7.25, 0.5), 12);
  });
});

describe('Beta-mixture confidence sequence for one share', () => {
  const uniform = { a: 1, b: 1 };

  it.each([
    [0, 10],
    [3, 10],
    [10, 10],
    [7, 1000],
  ])('uniform prior: m = 1 / ((n + 1) C(n, x)) for x=%p n=%p', (x, n) => {
    expect(logMixture(x, n, uniform)).toBeCloseTo(-Math.log(n + 1) - logChoose(n, x), 10);
  });

  it.each([
    [0, 30, { a: 0.5, b: 0.5 }],
    [2, 90, { a: 0.5, b: 0.5 }],
    [5, 180, SEQUENTIAL_TUNING.prior],
    [1, 720, SEQUENTIAL_TUNING.prior],
    [0, 2700, SEQUENTIAL_TUNING.prior],
    [9, 8000, SEQUENTIAL_TUNING.prior],
    [15, 30, SEQUENTIAL_TUNING.prior],
  ] as const)('matches numeric integration: x=%p n=%p', (x, n, prior) => {
    expect(logMixture(x, n, prior)).toBeCloseTo(integrateMixture(x, n, prior), 6);
  });

  it('closed-form bounds with a uniform prior at the edges', () => {
    // x = 0: L(p) = (1−p)^n and m = 1/(n+1), so the upper end solves (1−p)^n = ℓ/(n+1).
    for (const n of [1, 10, 300, 50_000]) {
      expect(upperBound(0, n, 0.01, uniform)).toBeCloseTo(1 - (0.01 / (n + 1)) ** (1 / n), 9);
      expect(lowerBound(n, n, 0.01, uniform)).toBeCloseTo((0.01 / (n + 1)) ** (1 / n), 9);
    }
  });

  it('ends of the sequence: no data, no bad, all bad', () => {
    expect(lowerBound(0, 0, 0.01, uniform)).toBe(0);
    expect(upperBound(0, 0, 0.01, uniform)).toBe(1);
    expect(lowerBound(0, 50, 0.01, uniform)).toBe(0);
    expect(upperBound(50, 50, 0.01, uniform)).toBe(1);
  });

  it('a bound is where the e-value crosses 1/ℓ, on the conservative side', () => {
    const prior = SEQUENTIAL_TUNING.prior;
    for (const [x, n] of [
      [3, 90],
      [40, 120],
      [2, 5000],
    ] as const) {
      const lo = lowerBound(x, n, 0.005, prior);
      const hi = upperBound(x, n, 0.005, prior);
      expect(lo).toBeLessThan(x / n);
      expect(hi).toBeGreaterThan(x / n);
      expect(logMixtureRatio(lo, x, n, prior)).toBeGreaterThanOrEqual(Math.log(200) - 1e-9);
      expect(logMixtureRatio(lo * 1.0001 + 1e-12, x, n, prior)).toBeLessThan(Math.log(200) + 1e-3);
      expect(logMixtureRatio(hi, x, n, prior)).toBeGreaterThanOrEqual(Math.log(200) - 1e-9);
      expect(logMixtureRatio(hi * 0.9999, x, n, prior)).toBeLessThan(Math.log(200));
    }
  });

  it('covers the true share at all times at once in at least 1 − ℓ of sequences', () => {
    let state = 12345;
    const rand = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 4294967296;
    };
    const p = 0.02;
    const level = 0.1;
    let misses = 0;
    const runs = 400;
    for (let r = 0; r < runs; r++) {
      let bad = 0;
      for (let t = 1; t <= 400; t++) {
        if (rand() < p) bad++;
        if (t % 10 !== 0) continue;
        if (lowerBound(bad, t, level, SEQUENTIAL_TUNING.prior) > p || upperBound(bad, t, level, SEQUENTIAL_TUNING.prior) < p) {
          misses++;
          break;
        }
      }
    }
    expect(misses / runs).toBeLessThanOrEqual(level);
  });
});

describe('two-sample universal-inference test', () => {
  const prior = SEQUENTIAL_TUNING.prior;

  function bruteMax(c: Counts, d0: number): number {
    const lo = Math.max(0, -d0);
    const hi = Math.min(1, 1 - d0);
    const f = (s: number): number => logLikelihood(s + d0, c.canaryBad, c.canaryTotal) + logLikelihood(s, c.stableBad, c.stableTotal);
    let best = lo;
    let bestV = f(lo);
    const N = 100_000;
    for (let i = 1; i <= N; i++) {
      const s = lo + ((hi - lo) * i) / N;
      const val = f(s);
      if (val > bestV) {
        bestV = val;
        best = s;
      }
    }
    // Golden-section refinement around the best grid point.
    let a = Math.max(lo, best - (hi - lo) / N);
    let b = Math.min(hi, best + (hi - lo) / N);
    const g = (Math.sqrt(5) - 1) / 2;
    for (let i = 0; i < 200; i++) {
      const x1 = b - g * (b - a);
      const x2 = a + g * (b - a);
      if (f(x1) > f(x2)) b = x2;
      else a = x1;
    }
    return Math.max(bestV, f((a + b) / 2));
  }

  const cases: Array<[Counts, number]> = [
    [{ canaryBad: 5, canaryTotal: 180, stableBad: 1, stableTotal: 720 }, 0.0025],
    [{ canaryBad: 5, canaryTotal: 180, stableBad: 1, stableTotal: 720 }, -0.01],
    [{ canaryBad: 2, canaryTotal: 900, stableBad: 9, stableTotal: 8000 }, 0.02],
    [{ canaryBad: 0, canaryTotal: 30, stableBad: 0, stableTotal: 270 }, 0.02],
    [{ canaryBad: 300, canaryTotal: 600, stableBad: 1, stableTotal: 600 }, 0.0025],
    [{ canaryBad: 3, canaryTotal: 6, stableBad: 0, stableTotal: 54 }, 0.0025],
  ];

  it.each(cases)('maximum on the boundary p_c = p_s + d0 matches brute force (%o, d0=%p)', (c, d0) => {
    expect(maxOnBoundary(c, d0)).toBeCloseTo(bruteMax(c, d0), 7);
  });

  it('closed form: all canary requests bad, no stable request bad', () => {
    const c = { canaryBad: 20, canaryTotal: 20, stableBad: 0, stableTotal: 500 };
    const d0 = 0.01;
    // maximise (s + d0)^20 (1 − s)^500: s* = (n_c − n_s d0)/(n_c + n_s)
    const s = (20 - 500 * d0) / 520;
    expect(maxOnBoundary(c, d0)).toBeCloseTo(20 * Math.log(s + d0) + 500 * Math.log1p(-s), 9);
  });

  it.each(cases)('e-values match numerator by integration over denominator by brute force (%o, d0=%p)', (c, d0) => {
    const num = integrateMixture(c.canaryBad, c.canaryTotal, prior) + integrateMixture(c.stableBad, c.stableTotal, prior);
    const free =
      logLikelihood(c.canaryBad / c.canaryTotal, c.canaryBad, c.canaryTotal) + logLikelihood(c.stableBad / c.stableTotal, c.stableBad, c.stableTotal);
    const delta = c.canaryBad / c.canaryTotal - c.stableBad / c.stableTotal;
    const test = new TwoSample(c, prior);
    expect(test.logEvidenceWorse(d0)).toBeCloseTo(num - (delta <= d0 ? free : bruteMax(c, d0)), 5);
    expect(test.logEvidenceWithin(d0)).toBeCloseTo(num - (delta >= d0 ? free : bruteMax(c, d0)), 5);
  });

  it.each(cases)('the "worse" e-value with its own per-side numerator, by integration (%o, d0=%p)', (c, d0) => {
    const worse = SEQUENTIAL_TUNING.worse;
    const num = integrateMixture(c.canaryBad, c.canaryTotal, worse.canary) + integrateMixture(c.stableBad, c.stableTotal, worse.stable);
    const free =
      logLikelihood(c.canaryBad / c.canaryTotal, c.canaryBad, c.canaryTotal) + logLikelihood(c.stableBad / c.stableTotal, c.stableBad, c.stableTotal);
    const delta = c.canaryBad / c.canaryTotal - c.stableBad / c.stableTotal;
    const test = new TwoSample(c, prior, worse);
    expect(test.logEvidenceWorse(d0)).toBeCloseTo(num - (delta <= d0 ? free : bruteMax(c, d0)), 5);
    // The promotion side keeps the broad numerator.
    expect(test.logEvidenceWithin(d0)).toBeCloseTo(new TwoSample(c, prior).logEvidenceWithin(d0), 12);
    // The lower bound inverts the "worse" test it decides with.
    const lo = test.lowerBound(0.005);
    if (lo > -1) {
      expect(test.logEvidenceWorse(lo)).toBeGreaterThanOrEqual(Math.log(200));
      expect(test.logEvidenceWorse(lo + 1e-6)).toBeLessThan(Math.log(200) + 1e-3);
    }
  });

  it('the per-side numerator is stronger evidence for the 97% canary at 5 rps after three steps (5 of 180 bad, 1 of 720)', () => {
    // What it was chosen for: the broad mixture spends most of its weight on canaries no worse than the stable.
    const c = { canaryBad: 5, canaryTotal: 180, stableBad: 1, stableTotal: 720 };
    const gain = new TwoSample(c, prior, SEQUENTIAL_TUNING.worse).logEvidenceWorse(0.0025) - new TwoSample(c, prior).logEvidenceWorse(0.0025);
    expect(gain).toBeGreaterThan(0.5);
  });

  it('closed form without stable data: the upper bound is the canary-only bound', () => {
    // n_s = 0, uniform prior, x = 0: ln E(d0) = −ln(n+1) − n ln(1 − d0), so the bound is 1 − (ℓ/(n+1))^(1/n).
    const uniform = { a: 1, b: 1 };
    const n = 400;
    const t = new TwoSample({ canaryBad: 0, canaryTotal: n, stableBad: 0, stableTotal: 0 }, uniform);
    expect(t.upperBound(0.01)).toBeCloseTo(1 - (0.01 / (n + 1)) ** (1 / n), 6);
    expect(t.logEvidenceWithin(0.02)).toBeCloseTo(-Math.log(n + 1) - n * Math.log(0.98), 9);
    // Without stable data nothing shows the canary worse than the stable.
    expect(t.lowerBound(0.01)).toBe(-1);
    expect(t.logEvidenceWorse(-0.5)).toBeLessThanOrEqual(0);
  });

  it('without canary data the bounds are the whole range', () => {
    const t = new TwoSample({ canaryBad: 0, canaryTotal: 0, stableBad: 3, stableTotal: 3000 }, prior);
    expect(t.lowerBound(0.01)).toBe(-1);
    expect(t.upperBound(0.01)).toBe(1);
  });

  it.each(cases.map(([c]) => c))('bounds invert the tests: rejected at the bound, not just inside it (%o)', (c) => {
    const t = new TwoSample(c, prior);
    const need = Math.log(100);
    const lo = t.lowerBound(0.01);
    const hi = t.upperBound(0.01);
    const est = c.canaryBad / c.canaryTotal - c.stableBad / c.stableTotal;
    expect(lo).toBeLessThanOrEqual(est);
    expect(hi).toBeGreaterThanOrEqual(est);
    if (lo > -1) {
      expect(t.logEvidenceWorse(lo)).toBeGreaterThanOrEqual(need);
      expect(t.logEvidenceWorse(lo + 1e-6)).toBeLessThan(need + 1e-3);
    }
    expect(t.logEvidenceWithin(hi)).toBeGreaterThanOrEqual(need);
    expect(t.logEvidenceWithin(hi - 1e-6)).toBeLessThan(need + 1e-3);
  });

  it('the e-values move the right way with d0', () => {
    const t = new TwoSample({ canaryBad: 12, canaryTotal: 400, stableBad: 4, stableTotal: 3600 }, prior);
    const ds = [-0.02, -0.005, 0, 0.005, 0.01, 0.02, 0.05];
    const worse = ds.map((d) => t.logEvidenceWorse(d));
    const within = ds.map((d) => t.logEvidenceWithin(d));
    for (let i = 1; i < ds.length; i++) {
      expect(worse[i]).toBeLessThanOrEqual(worse[i - 1] as number);
      expect(within[i]).toBeGreaterThanOrEqual(within[i - 1] as number);
    }
  });
});
