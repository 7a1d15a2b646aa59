import { seededRandom } from '../../core/random.js';

/** Gateway API defaults an omitted backendRef weight to 1; negative values are invalid and count as 0. */
export function effectiveWeight(weight: number | undefined): number {
  if (weight === undefined) return 1;
  return Number.isFinite(weight) && weight > 0 ? weight : 0;
}

/**
 * Picks one item with probability weight/sum(weights). Items of weight 0 are never picked; when
 * every weight is 0 (or there are no items) the answer is undefined, which the proxy turns into a 500.
 * `random` returns a number in [0, 1), as Math.random does; tests inject a seeded one.
 */
export function pickWeighted<T extends { weight?: number }>(items: readonly T[], random: () => number): T | undefined {
  let total = 0;
  for (const item of items) total += effectiveWeight(item.weight);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const item of items) {
    const w = effectiveWeight(item.weight);
    if (w === 0) continue;
    if (point < w) return item;
    point -= w;
  }
  // Floating-point rounding can leave `point` a hair above the last bucket: take the last non-zero item.
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as T;
    if (effectiveWeight(item.weight) > 0) return item;
  }
  return undefined;
}

/** A small, seedable PRNG so statistical tests are reproducible. */
export { seededRandom };
