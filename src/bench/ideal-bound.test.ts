import { canaryExposure, atLeastOneBadBound, cleanRequestsNeeded, firstInterval, logPoissonPmf, neymanPearsonPower, sprtPower } from './ideal-bound.js';
import { promotionBounds, rollbackBounds, STEPS } from './feasibility.js';

/**
 * Reference: the textbook form of the randomized Neyman–Pearson test, written independently of the module
 * (pmfs by recurrence, no sorting): find the smallest threshold c with P0(LR > c) <= α, then
 * power = P1(LR > c) + (α − P0(LR > c)) / P0(LR = c) · P1(LR = c).
 */
function referencePower(lambda: number, p0: number, p1: number, alpha: number): number {
  const pmf = (mean: number, max: number): number[] => {
    const out = [Math.exp(-mean)];
    for (let k = 1; k <= max; k++) out.push(((out[k - 1] as number) * mean) / k);
    return out;
  };
  const max = Math.ceil(lambda + 15 * Math.sqrt(lambda) + 40);
  const x0 = pmf(lambda * p0, max);
  const x1 = pmf(lambda * p1, max);
  const y0 = pmf(lambda * (1 - p0), max);
  const y1 = pmf(lambda * (1 - p1), max);
  const cells: Array<{ lr: number; m0: number; m1: number }> = [];
  for (let x = 0; x <= max; x++) {
    for (let y = 0; y <= max; y++) {
      cells.push({ lr: x * Math.log(p1 / p0) + y * Math.log((1 - p1) / (1 - p0)), m0: (x0[x] as number) * (y0[y] as number), m1: (x1[x] as number) * (y1[y] as number) });
    }
  }
  const distinct = [...new Set(cells.map((c) => Math.round(c.lr * 1e9) / 1e9))].sort((a, b) => a - b);
  const above = (c: number, key: 'm0' | 'm1'): number => cells.filter((e) => e.lr > c + 1e-9).reduce((s, e) => s + e[key], 0);
  const at = (c: number, key: 'm0' | 'm1'): number => cells.filter((e) => Math.abs(e.lr - c) <= 1e-9).reduce((s, e) => s + e[key], 0);
  // Bisection over the sorted distinct ratios for the smallest c with P0(LR > c) <= α.
  let lo = 0;
  let hi = distinct.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (above(distinct[mid] as number, 'm0') <= alpha) hi = mid;
    else lo = mid + 1;
  }
  const c = distinct[lo] as number;
  const p0Above = above(c, 'm0');
  return above(c, 'm1') + ((alpha - p0Above) / at(c, 'm0')) * at(c, 'm1');
}

describe('logPoissonPmf', () => {
  it('matches e^-λ λ^k / k! computed directly', () => {
    for (const [k, lambda] of [
      [0, 1.2],
      [3, 0.6],
      [7, 5.4],
      [20, 18],
    ] as const) {
      let fact = 1;
      for (let i = 2; i <= k; i++) fact *= i;
      expect(Math.exp(logPoissonPmf(k, lambda))).toBeCloseTo((Math.exp(-lambda) * lambda ** k) / fact, 12);
    }
    expect(logPoissonPmf(0, 0)).toBe(0);
    expect(logPoissonPmf(2, 0)).toBe(-Infinity);
  });
});

describe('neymanPearsonPower', () => {
  it.each([
    // 50%-error canary at 0.2 and 1 rps, interval 1 at weight 10, against stable + margin / + tolerance.
    [1.2, 0.0035, 0.5],
    [6, 0.0035, 0.5],
    [6, 0.021, 0.5],
    // 97% canary at 5 rps after 3 intervals held at 10.
    [90, 0.0035, 0.03],
    // Promotion side: rule out 2.1% for a 99.8% canary.
    [60, 0.021, 0.002],
  ])('matches the textbook randomized test (λ=%p, p0=%p, p1=%p)', (lambda, p0, p1) => {
    expect(neymanPearsonPower(lambda, p0, p1, 0.01)).toBeCloseTo(referencePower(lambda, p0, p1, 0.01), 9);
  });

  it('0.2 rps, interval 1: between P(at least one bad) and that plus α, by hand', () => {
    // Canary at weight 10: Poisson(0.2·60·0.1 = 1.2) requests, half bad: bad ~ Poisson(0.6).
    const oneBad = 1 - Math.exp(-0.6); // 0.451188…
    expect(oneBad).toBeCloseTo(0.451188, 6);
    // "Reject on any bad request" has level 1 − e^(−1.2·0.0035) = 0.0042 <= 1%, so the best test does at least as well…
    expect(1 - Math.exp(-1.2 * 0.0035)).toBeLessThan(0.01);
    const power = neymanPearsonPower(1.2, 0.0035, 0.5, 0.01);
    expect(power).toBeGreaterThanOrEqual(oneBad);
    // …and outcomes without a bad request add at most α.
    expect(power).toBeLessThanOrEqual(oneBad + 0.01);
    expect(atLeastOneBadBound(1.2, 0.5, 0.01)).toBeCloseTo(oneBad + 0.01, 12);
    expect(power).toBeLessThan(0.5);
  });

  it('has exactly the level when the hypotheses coincide or there is no data, and grows with data and level', () => {
    expect(neymanPearsonPower(10, 0.02, 0.02, 0.01)).toBe(0.01);
    expect(neymanPearsonPower(0, 0.02, 0.5, 0.01)).toBe(0.01);
    const lambdas = [1, 3, 10, 30, 100];
    const powers = lambdas.map((l) => neymanPearsonPower(l, 0.0035, 0.03, 0.01));
    for (let i = 1; i < powers.length; i++) expect(powers[i]).toBeGreaterThan(powers[i - 1] as number);
    expect(neymanPearsonPower(10, 0.0035, 0.03, 0.05)).toBeGreaterThan(neymanPearsonPower(10, 0.0035, 0.03, 0.01));
  });

  it('refuses shares outside (0, 1)', () => {
    expect(() => neymanPearsonPower(1, 0, 0.5, 0.01)).toThrow(RangeError);
    expect(() => neymanPearsonPower(1, 0.1, 1, 0.01)).toThrow(RangeError);
    expect(() => neymanPearsonPower(1, 0.1, 0.5, 0)).toThrow(RangeError);
  });
});

describe('promotion side and exposure', () => {
  it('217 clean requests rule out a 2.1% canary at 1%: 0.979^217 <= 0.01 < 0.979^216', () => {
    expect(0.979 ** 217).toBeLessThanOrEqual(0.01);
    expect(0.979 ** 216).toBeGreaterThan(0.01);
    expect(cleanRequestsNeeded(0.021, 0.01)).toBe(217);
    expect(cleanRequestsNeeded(0.5, 0.25)).toBe(2); // 0.5^2 = 0.25 exactly
  });

  it('canary requests expected under the steps: 12 a minute at 0.2 rps times the weight', () => {
    // 10, 20, 30, 40, 50, 50, 50 %: 12 · 2.5 = 30
    expect(canaryExposure(0.2, 60, STEPS, 7)).toBeCloseTo(30, 12);
    expect(canaryExposure(1, 60, [10], 3)).toBeCloseTo(18, 12);
    expect(firstInterval((k) => canaryExposure(0.2, 60, STEPS, k), 217, 100)).toBe(39); // 18 + 6·34 = 222 >= 217 > 216
    expect(firstInterval((k) => canaryExposure(1, 60, STEPS, k), 217, 100)).toBe(10); // 90 + 30·5 = 240 >= 217 > 210
    expect(firstInterval(() => 0, 1, 5)).toBeUndefined();
  });

  it('the bench rows: interval 1 is the same for every schedule, steps never give less, and the promotion counts', () => {
    const cell = { rps: 0.2, canarySuccess: 0.5, stableSuccess: 0.999, kind: 'bad' as const };
    const [margin, tolerance] = rollbackBounds([cell]);
    expect(margin?.p0).toBeCloseTo(0.0035, 12);
    expect(tolerance?.p0).toBeCloseTo(0.021, 12);
    expect(margin?.held[0]).toBe(margin?.fastest[0]);
    for (let k = 0; k < 3; k++) expect(margin?.fastest[k]).toBeGreaterThanOrEqual(margin?.held[k] as number);
    // The tolerance null is further from the truth: harder to reject.
    expect(tolerance?.held[0]).toBeLessThan(margin?.held[0] as number);
    const [slow, fast] = promotionBounds([0.2, 1]);
    expect(slow).toMatchObject({ rps: 0.2, idealClean: 217, idealCleanInterval: 39 });
    expect(fast).toMatchObject({ rps: 1, idealClean: 217, idealCleanInterval: 10 });
    // Our test pays for not knowing the stable and for being valid at every interval.
    expect(slow?.oursInterval).toBeGreaterThan(slow?.idealCleanInterval as number);
    expect(fast?.idealMedian).toBeGreaterThanOrEqual(5);
  });
});

describe('SPRT told both shares', () => {
  /** P(rejected by interval t) by enumerating every path of per-interval counts (independent of the DP). */
  function bruteSprt(lambdas: number[], p0: number, p1: number, level: number): number[] {
    const a = Math.log(p1 / p0);
    const b = Math.log1p(-p1) - Math.log1p(-p0);
    const need = Math.log(1 / level);
    const pmf = (k: number, m: number): number => Math.exp(-m + k * Math.log(m) - lgammaInt(k + 1));
    const out = lambdas.map(() => 0);
    const walk = (t: number, x: number, y: number, p: number): void => {
      if (t === lambdas.length) return;
      const m = lambdas[t] as number;
      for (let dx = 0; dx <= 20; dx++) {
        for (let dy = 0; dy <= 30; dy++) {
          const q = p * pmf(dx, m * p1) * pmf(dy, m * (1 - p1));
          if (q < 1e-15) continue;
          if (a * (x + dx) + b * (y + dy) >= need - 1e-12) {
            for (let s = t; s < lambdas.length; s++) out[s] = (out[s] as number) + q;
          } else walk(t + 1, x + dx, y + dy, q);
        }
      }
    };
    walk(0, 0, 0, 1);
    return out;
  }
  function lgammaInt(n: number): number {
    let s = 0;
    for (let i = 2; i < n; i++) s += Math.log(i);
    return s;
  }

  it('matches a brute-force walk over every path of counts (50% canary at 0.2 rps; 20% canary, two intervals)', () => {
    const cases: Array<[number[], number, number]> = [
      [[1.2, 2.4], 0.0035, 0.5],
      [[3, 6], 0.021, 0.2],
    ];
    for (const [lambdas, p0, p1] of cases) {
      const dp = sprtPower(lambdas, p0, p1, 0.01);
      const brute = bruteSprt(lambdas, p0, p1, 0.01);
      dp.forEach((v, i) => expect(v).toBeCloseTo(brute[i] as number, 9));
    }
  });

  it('never beats the Neyman–Pearson test at any interval, and only grows with the intervals', () => {
    const lambdas = [30, 60, 90];
    const sprt = sprtPower(lambdas, 0.0035, 0.03, 0.01);
    let exposure = 0;
    sprt.forEach((v, i) => {
      exposure += lambdas[i] as number;
      expect(v).toBeLessThanOrEqual(neymanPearsonPower(exposure, 0.0035, 0.03, 0.01) + 1e-12);
      if (i > 0) expect(v).toBeGreaterThanOrEqual(sprt[i - 1] as number);
    });
    // What the docs quote: 97% at 5 rps against stable + margin, steps 10, 20, 30: about 64% by interval 3.
    expect(sprt[2]).toBeGreaterThan(0.6);
    expect(sprt[2]).toBeLessThan(0.7);
  });
});
