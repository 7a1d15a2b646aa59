import { effectiveWeight, pickWeighted, seededRandom } from './weighted-pick.js';

/** |observed - expected share| within k standard deviations of a binomial proportion. */
function withinBinomialBound(hits: number, n: number, p: number, sigmas: number): boolean {
  const sd = Math.sqrt((p * (1 - p)) / n);
  return Math.abs(hits / n - p) <= sigmas * sd;
}

describe('pickWeighted', () => {
  it('splits 90/10 within a 5-sigma binomial bound over 20,000 picks', () => {
    const refs = [
      { name: 'v1', weight: 90 },
      { name: 'v2', weight: 10 },
    ];
    const random = seededRandom(42);
    let v2 = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (pickWeighted(refs, random)?.name === 'v2') v2++;
    expect(withinBinomialBound(v2, n, 0.1, 5)).toBe(true);
    // The bound is tight enough to catch a wrong split such as 85/15.
    expect(withinBinomialBound(Math.round(n * 0.15), n, 0.1, 5)).toBe(false);
  });

  it('is proportional, not a percentage: weights 1 and 3 give 25/75', () => {
    const random = seededRandom(7);
    const refs = [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }];
    let a = 0;
    for (let i = 0; i < 20_000; i++) if (pickWeighted(refs, random)?.name === 'a') a++;
    expect(withinBinomialBound(a, 20_000, 0.25, 5)).toBe(true);
  });

  it('never picks a weight-0 backend', () => {
    const random = seededRandom(1);
    const refs = [{ name: 'old', weight: 0 }, { name: 'new', weight: 100 }, { name: 'off', weight: 0 }];
    const seen = new Set<string>();
    for (let i = 0; i < 5_000; i++) seen.add(pickWeighted(refs, random)?.name ?? 'none');
    expect([...seen]).toEqual(['new']);
  });

  it('treats an omitted weight as 1 and negative as 0', () => {
    expect(effectiveWeight(undefined)).toBe(1);
    expect(effectiveWeight(-5)).toBe(0);
    expect(effectiveWeight(Number.NaN)).toBe(0);
    expect(pickWeighted<{ name: string; weight?: number }>([{ name: 'x' }], () => 0.99)).toEqual({ name: 'x' });
  });

  it('returns undefined when all weights are zero or there are no backends', () => {
    expect(pickWeighted([{ weight: 0 }, { weight: 0 }], Math.random)).toBeUndefined();
    expect(pickWeighted([], Math.random)).toBeUndefined();
  });

  it('maps the edges of [0,1) to the first and last non-zero backend', () => {
    const refs = [{ name: 'z', weight: 0 }, { name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'y', weight: 0 }];
    expect(pickWeighted(refs, () => 0)?.name).toBe('a');
    expect(pickWeighted(refs, () => 0.9999999999)?.name).toBe('b');
  });
});
