import { sequentialParams, SEQUENTIAL_TUNING } from '../analysis/sequential.js';
import { TwoSample } from '../analysis/two-sample.js';
import type { Cell } from './decisions.js';
import { canaryExposure, cleanRequestsNeeded, firstInterval, neymanPearsonPower, sprtPower } from './ideal-bound.js';

/**
 * The decision benchmark's "best any test can do" section: exact bounds (ideal-bound.ts) for its cells, next to
 * what the sequential mode's own test needs. Same traffic model as the simulation: 1-minute intervals, steps 10..50
 * by 10, the canary getting its weight of a Poisson stream.
 */

export const INTERVAL_SECONDS = 60;
/** The benchmark's steps; the fastest schedule moves up one every interval, then stays at the last. */
export const STEPS: readonly number[] = [10, 20, 30, 40, 50];
const HELD: readonly number[] = [10];

/** The two nulls a rollback can be measured against: the "worse" test's margin, and the tolerance. */
export interface Nulls {
  margin: number;
  tolerance: number;
  falseRollback: number;
  badPromotion: number;
}

/** The sequential mode's defaults, as fractions. */
export function defaultNulls(): Nulls {
  const p = sequentialParams(undefined);
  return { margin: SEQUENTIAL_TUNING.rollbackMargin * p.tolerance, tolerance: p.tolerance, falseRollback: p.falseRollback, badPromotion: p.badPromotion };
}

export interface RollbackBound {
  cell: Cell;
  against: 'margin' | 'tolerance';
  /** The null's canary bad share: stable + margin or stable + tolerance. */
  p0: number;
  /** P(rolled back by interval k), k = 1..3, at most: canary held at weight 10, and with the fastest steps. */
  held: number[];
  fastest: number[];
  /**
   * P(rolled back by interval k) for Wald's SPRT told both shares, checked every interval at the false-rollback
   * bound, with the fastest steps: what a test valid at every interval reaches when it needs to learn nothing.
   */
  sprt: number[];
}

export function rollbackBounds(cells: readonly Cell[], nulls: Nulls = defaultNulls(), maxK = 3): RollbackBound[] {
  const out: RollbackBound[] = [];
  for (const cell of cells) {
    if (cell.kind !== 'bad') continue;
    const p1 = 1 - cell.canarySuccess;
    const ps = 1 - cell.stableSuccess;
    for (const against of ['margin', 'tolerance'] as const) {
      const p0 = ps + nulls[against];
      const at = (weights: readonly number[]): number[] =>
        Array.from({ length: maxK }, (_, i) => neymanPearsonPower(canaryExposure(cell.rps, INTERVAL_SECONDS, weights, i + 1), p0, p1, nulls.falseRollback));
      const lambdas = Array.from({ length: maxK }, (_, i) => cell.rps * INTERVAL_SECONDS * ((STEPS[Math.min(i, STEPS.length - 1)] as number) / 100));
      out.push({ cell, against, p0, held: at(HELD), fastest: at(STEPS), sprt: p1 > p0 ? sprtPower(lambdas, p0, p1, nulls.falseRollback) : lambdas.map(() => 0) });
    }
  }
  return out;
}

/** Smallest k for which even the fastest steps give the ideal test probability ≥ target by interval k. */
export function idealIntervals(cell: Cell, against: 'margin' | 'tolerance', target: number, nulls: Nulls = defaultNulls(), maxK = 60): number | undefined {
  const p0 = 1 - cell.stableSuccess + nulls[against];
  const p1 = 1 - cell.canarySuccess;
  return firstInterval((k) => neymanPearsonPower(canaryExposure(cell.rps, INTERVAL_SECONDS, STEPS, k), p0, p1, nulls.falseRollback), target, maxK);
}

export interface PromotionBound {
  rps: number;
  /** Clean canary requests any test needs to show "canary ≤ stable + tolerance" at the bad-promotion bound. */
  idealClean: number;
  /** First interval by whose end that many canary requests are expected, with the fastest steps. */
  idealCleanInterval: number | undefined;
  /** First interval at which even the ideal test promotes a 99.8% canary with probability ≥ 50% (≥ 5: the steps). */
  idealMedian: number | undefined;
  /** The same for our test, on an all-clean canary and a stable at exactly its share (expected counts). */
  oursClean: number | undefined;
  oursInterval: number | undefined;
}

const MAX_PROMOTION_INTERVALS = 400;

export function promotionBounds(rates: readonly number[], stableSuccess = 0.999, goodSuccess = 0.998, nulls: Nulls = defaultNulls()): PromotionBound[] {
  const ps = 1 - stableSuccess;
  const p0 = ps + nulls.tolerance;
  const idealClean = cleanRequestsNeeded(p0, nulls.badPromotion);
  const need = Math.log(1 / nulls.badPromotion);
  return rates.map((rps) => {
    const exposure = (k: number): number => canaryExposure(rps, INTERVAL_SECONDS, STEPS, k);
    const idealCleanInterval = firstInterval(exposure, idealClean, MAX_PROMOTION_INTERVALS);
    const np = firstInterval((k) => neymanPearsonPower(exposure(k), p0, 1 - goodSuccess, nulls.badPromotion), 0.5, MAX_PROMOTION_INTERVALS);
    const idealMedian = np === undefined ? undefined : Math.max(STEPS.length, np);
    // Our test on expected counts: canary all clean, stable exactly at its share.
    let oursInterval: number | undefined;
    let oursClean: number | undefined;
    for (let k = 1; k <= MAX_PROMOTION_INTERVALS; k++) {
      const canaryTotal = Math.round(exposure(k));
      const stableTotal = Math.round(rps * INTERVAL_SECONDS * k - exposure(k));
      const t = new TwoSample({ canaryBad: 0, canaryTotal, stableBad: Math.round(stableTotal * ps), stableTotal }, SEQUENTIAL_TUNING.prior);
      if (canaryTotal > 0 && t.logEvidenceWithin(nulls.tolerance) >= need) {
        oursInterval = Math.max(STEPS.length, k);
        oursClean = canaryTotal;
        break;
      }
    }
    return { rps, idealClean, idealCleanInterval, idealMedian, oursClean, oursInterval };
  });
}

function pct(v: number): string {
  const x = 100 * v;
  return `${x >= 99.95 && x < 100 ? '>99.9' : x.toFixed(1)}%`;
}

function share(v: number): string {
  return `${+(v * 100).toFixed(2)}%`;
}

export function rollbackBoundsMarkdown(rows: readonly RollbackBound[]): string {
  const lines = [
    '| bad canary @ total rps | rollback against (null share) | by interval 1 | by 2 (held at 10 / steps) | by 3 (held at 10 / steps) | SPRT told both shares, by 1 / 2 / 3 |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const name = r.against === 'margin' ? 'stable + margin' : 'stable + tolerance';
    lines.push(
      `| ${+(r.cell.canarySuccess * 100).toFixed(2)}% success @ ${r.cell.rps} rps | ${name} (${share(r.p0)}) | ${pct(r.held[0] as number)} | ` +
        `${pct(r.held[1] as number)} / ${pct(r.fastest[1] as number)} | ${pct(r.held[2] as number)} / ${pct(r.fastest[2] as number)} | ` +
        `${r.sprt.map((v) => pct(v)).join(' / ')} |`,
    );
  }
  return lines.join('\n');
}

export function promotionBoundsMarkdown(rows: readonly PromotionBound[]): string {
  const n = (v: number | undefined): string => (v === undefined ? `> ${MAX_PROMOTION_INTERVALS}` : String(v));
  const lines = [
    '| total rps | canary requests per interval at weight 10 / 50 | any test: clean canary requests needed | expected by interval | any test: 99.8% canary promoted at the median after | sequential mode: clean canary requests needed | sequential mode: promoted after |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const per = (w: number): string => `${+(r.rps * INTERVAL_SECONDS * (w / 100)).toFixed(1)}`;
    lines.push(
      `| ${r.rps} | ${per(10)} / ${per(50)} | ${r.idealClean} | ${n(r.idealCleanInterval)} | ${n(r.idealMedian)} | ${r.oursClean ?? '-'} | ${n(r.oursInterval)} |`,
    );
  }
  return lines.join('\n');
}
