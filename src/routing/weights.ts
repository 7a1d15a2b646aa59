/**
 * Reading and planning the owned pair's weights. Gateway API weights are proportional (share =
 * weight / sum over the rule), not percentages; routeshift always writes the pair as
 * {100 - p, p}, so the canary's share of the pair is p% whatever the absolute values were before.
 */
import { RouteMismatchError, WeightError } from './errors.js';
import { describeBackend, backendIdentity, ownedRefsAt, routeLabel, routeNamespace } from './locate.js';
import type { BackendRef, OwnedBackends, Route, Weights } from './types.js';

/** The API default for an absent weight. */
export const DEFAULT_WEIGHT = 1;
export const MAX_WEIGHT = 1_000_000;

/** A backendRef's effective weight (absent = 1); a non-integer or out-of-range value is an unsupported route. */
export function effectiveWeight(ref: BackendRef, where: string): number {
  const w = ref.weight;
  if (w === undefined) return DEFAULT_WEIGHT;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > MAX_WEIGHT) {
    throw new RouteMismatchError('UnsupportedRoute', `${where} has weight ${JSON.stringify(w)}; expected an integer in 0..${MAX_WEIGHT}`);
  }
  return w;
}

export function canaryPercentOf(stable: number, canary: number): number {
  return Math.round((100 * canary) / (stable + canary));
}

export function readWeights(route: Route, owned: OwnedBackends): Weights {
  const { stable, canary } = ownedRefsAt(route, owned);
  const ns = routeNamespace(route);
  const label = routeLabel(route);
  const s = effectiveWeight(stable, `${label} backendRef ${describeBackend(backendIdentity(stable, ns), ns)}`);
  const c = effectiveWeight(canary, `${label} backendRef ${describeBackend(backendIdentity(canary, ns), ns)}`);
  if (s + c === 0) {
    throw new WeightError(
      'ZeroWeights',
      `${label}: stable ${describeBackend(backendIdentity(stable, ns), ns)} and canary ${describeBackend(backendIdentity(canary, ns), ns)} ` +
        'both have weight 0; the route is broken (no share can be computed), fix its weights',
    );
  }
  return { stable: s, canary: c, canaryPercent: canaryPercentOf(s, c) };
}

/** The pair to write for a canary share of `canaryPercent` (an integer 0..100). */
export function weightsFor(canaryPercent: number): { stable: number; canary: number } {
  if (!Number.isInteger(canaryPercent) || canaryPercent < 0 || canaryPercent > 100) {
    throw new WeightError('UnsafeWeights', `canary percent must be an integer in 0..100, got ${canaryPercent}`);
  }
  return { stable: 100 - canaryPercent, canary: canaryPercent };
}
