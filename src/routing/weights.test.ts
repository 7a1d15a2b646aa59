import { WeightError, RouteMismatchError } from './errors.js';
import { locateOwnedBackends, type LocateInput } from './locate.js';
import { seedRoute } from './testing.js';
import type { Route } from './types.js';
import { canaryPercentOf, readWeights, weightsFor } from './weights.js';

const input: LocateInput = {
  routeRef: { name: 'backend-split' },
  stable: { name: 'backend-v1', port: 80 },
  canary: { name: 'backend-v2', port: 80 },
};

function withWeights(stable: number | undefined, canary: number | undefined): Route {
  const r = seedRoute();
  const refs = r.spec.rules?.[0]?.backendRefs ?? [];
  for (const [i, w] of [stable, canary].entries()) {
    const ref = refs[i];
    if (!ref) throw new Error('fixture');
    if (w === undefined) delete ref.weight;
    else ref.weight = w;
  }
  return r;
}

describe('readWeights', () => {
  it("reads the seed's 90/10 as 10%", () => {
    const r = seedRoute();
    expect(readWeights(r, locateOwnedBackends(r, input))).toEqual({ stable: 90, canary: 10, canaryPercent: 10 });
  });

  it('treats an absent weight as the API default 1', () => {
    const r = withWeights(undefined, undefined);
    expect(readWeights(r, locateOwnedBackends(r, input))).toEqual({ stable: 1, canary: 1, canaryPercent: 50 });
    const r2 = withWeights(3, undefined);
    expect(readWeights(r2, locateOwnedBackends(r2, input))).toEqual({ stable: 3, canary: 1, canaryPercent: 25 });
  });

  it('rounds the share of the pair to whole percent', () => {
    expect(canaryPercentOf(2, 1)).toBe(33);
    expect(canaryPercentOf(1, 2)).toBe(67);
    expect(canaryPercentOf(0, 7)).toBe(100);
    expect(canaryPercentOf(999_999, 1)).toBe(0);
  });

  it('reports a pair at 0/0 as a broken route (ZeroWeights)', () => {
    const r = withWeights(0, 0);
    const owned = locateOwnedBackends(r, input);
    expect(() => readWeights(r, owned)).toThrow(WeightError);
    expect(() => readWeights(r, owned)).toThrow(expect.objectContaining({ code: 'ZeroWeights' }));
  });

  it('refuses weights that are not integers in range', () => {
    const r = withWeights(90, 1.5);
    expect(() => readWeights(r, locateOwnedBackends(r, input))).toThrow(expect.objectContaining({ code: 'UnsupportedRoute' }));
  });

  it('refuses to read through a locate result that no longer fits the route', () => {
    const r = seedRoute();
    const owned = locateOwnedBackends(r, input);
    const swapped = seedRoute();
    swapped.spec.rules?.[0]?.backendRefs?.reverse();
    expect(() => readWeights(swapped, owned)).toThrow(RouteMismatchError);
    expect(() => readWeights(swapped, owned)).toThrow(expect.objectContaining({ code: 'RouteChanged' }));
  });
});

describe('weightsFor', () => {
  it('maps a canary percent to a 100-sum pair', () => {
    expect(weightsFor(25)).toEqual({ stable: 75, canary: 25 });
    expect(weightsFor(0)).toEqual({ stable: 100, canary: 0 });
    expect(weightsFor(100)).toEqual({ stable: 0, canary: 100 });
  });

  it.each([-1, 101, 2.5, Number.NaN])('refuses %p', (p) => {
    expect(() => weightsFor(p)).toThrow(expect.objectContaining({ code: 'UnsafeWeights' }));
  });
});
