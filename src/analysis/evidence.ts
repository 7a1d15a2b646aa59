import type { SequentialEvidence } from '../api/canary.js';
import type { QueryOutcome } from '../api/query-outcome.js';
import type { Measurement } from './types.js';

/** One interval's counter increases, as measured (fractional: increase() extrapolates). */
export interface CountIncrement {
  canaryTotal: number;
  canaryBad: number;
  stableTotal: number;
  stableBad: number;
  /** The canary's total came back as a number above 0: it served traffic this interval. */
  canaryTraffic: boolean;
}

export type CountsReading =
  | { kind: 'ok'; increment: CountIncrement }
  | { kind: 'error'; label: string; code: string; message: string }
  | { kind: 'spec'; message: string };

type Counts = NonNullable<Measurement['counts']>;
const LABELS: Record<keyof Counts, string> = {
  canaryTotal: 'canary total',
  canaryBad: 'canary bad',
  stableTotal: 'stable total',
  stableBad: 'stable bad',
};

function count(o: QueryOutcome): number | undefined {
  if (o.kind !== 'value' || !Number.isFinite(o.value)) return undefined;
  // increase() extrapolates to the window edges and can give 29.7 or a tiny negative; rounding is done
  // on the cumulative sums (see addCounts), never per window.
  return Math.max(0, o.value);
}

/**
 * Reads one interval's counts. An empty *bad* result next to a numeric total means no bad request was
 * seen (the usual `sum(increase(x{code=~"5.."}[1m]))` returns nothing until the first 5xx exists); an
 * empty total means the side served nothing. Bad is clamped to total.
 */
export function readCounts(counts: Measurement['counts']): CountsReading {
  if (counts === undefined) {
    return { kind: 'spec', message: 'sequential mode needs request counts (the template\'s totalQuery and badQuery)' };
  }
  for (const key of Object.keys(LABELS) as (keyof Counts)[]) {
    const o = counts[key];
    if (o.kind === 'error') return { kind: 'error', label: LABELS[key], code: o.code, message: o.message };
  }
  for (const key of Object.keys(LABELS) as (keyof Counts)[]) {
    const o = counts[key];
    if (o.kind === 'multiple-series') {
      return { kind: 'spec', message: `${LABELS[key]} query returned ${o.count} series where one number was expected: aggregate it (e.g. sum(...))` };
    }
  }
  const side = (totalO: QueryOutcome, badO: QueryOutcome): { total: number; bad: number } => {
    const total = count(totalO) ?? 0;
    const bad = Math.min(total, count(badO) ?? 0);
    return { total, bad };
  };
  const c = side(counts.canaryTotal, counts.canaryBad);
  const s = side(counts.stableTotal, counts.stableBad);
  return {
    kind: 'ok',
    increment: { canaryTotal: c.total, canaryBad: c.bad, stableTotal: s.total, stableBad: s.bad, canaryTraffic: c.total >= 0.5 },
  };
}

/**
 * Reads the stable's counts before the rollout (Measurement.baseline). An empty total means the stable served
 * nothing in the window (0 of 0, recorded so it is not asked again); an error is not recorded, so the next
 * interval reads it again.
 */
export function readBaseline(b: NonNullable<Measurement['baseline']>): { kind: 'ok'; total: number; bad: number } | { kind: 'error'; message: string } {
  for (const [label, o] of [['total', b.stableTotal], ['bad', b.stableBad]] as const) {
    if (o.kind === 'error') return { kind: 'error', message: `stable baseline ${label} query error: ${o.code}: ${o.message}` };
    if (o.kind === 'multiple-series') return { kind: 'error', message: `stable baseline ${label} query returned ${o.count} series where one number was expected` };
  }
  const total = count(b.stableTotal) ?? 0;
  return { kind: 'ok', total, bad: Math.min(total, count(b.stableBad) ?? 0) };
}

/** Evidence with the stable's baseline added to its counts, and recorded so it is added once. */
export function addBaseline(
  previous: SequentialEvidence | undefined,
  name: string,
  b: { total: number; bad: number },
  at: { window: string; time: string },
): SequentialEvidence {
  const merged = addCounts(previous, name, { canaryTotal: 0, canaryBad: 0, stableTotal: b.total, stableBad: b.bad, canaryTraffic: false });
  const total = Math.round(b.total);
  return { ...merged, baseline: { window: at.window, time: at.time, total, bad: Math.min(total, Math.round(b.bad)) } };
}

export function emptyEvidence(name: string): SequentialEvidence {
  return { name, canaryTotal: 0, canaryBad: 0, stableTotal: 0, stableBad: 0, verdict: 'unknown' };
}

function whole(v: number | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/**
 * Evidence so far plus this interval. Counts only grow; what is read back from status is sanitised (a hand
 * edit or an older version must not make bad exceed total). The verdict fields are recomputed by the caller.
 */
export function addCounts(previous: SequentialEvidence | undefined, name: string, inc: CountIncrement): SequentialEvidence {
  const p = previous ?? emptyEvidence(name);
  // Evidence written before exact sums were kept starts from its whole counts.
  const base = p.raw ?? { canaryTotal: whole(p.canaryTotal), canaryBad: whole(p.canaryBad), stableTotal: whole(p.stableTotal), stableBad: whole(p.stableBad) };
  const raw = {
    canaryTotal: nonNegative(base.canaryTotal) + inc.canaryTotal,
    canaryBad: nonNegative(base.canaryBad) + inc.canaryBad,
    stableTotal: nonNegative(base.stableTotal) + inc.stableTotal,
    stableBad: nonNegative(base.stableBad) + inc.stableBad,
  };
  // Whole counts never go down, even if a hand edit made raw smaller than them.
  const canaryTotal = Math.max(whole(p.canaryTotal), Math.round(raw.canaryTotal));
  const stableTotal = Math.max(whole(p.stableTotal), Math.round(raw.stableTotal));
  return {
    name,
    canaryTotal,
    canaryBad: Math.min(canaryTotal, Math.max(whole(p.canaryBad), Math.round(raw.canaryBad))),
    stableTotal,
    stableBad: Math.min(stableTotal, Math.max(whole(p.stableBad), Math.round(raw.stableBad))),
    raw: { canaryTotal: round6(raw.canaryTotal), canaryBad: round6(raw.canaryBad), stableTotal: round6(raw.stableTotal), stableBad: round6(raw.stableBad) },
    ...(p.baseline ? { baseline: p.baseline } : {}),
    verdict: p.verdict,
  };
}

function nonNegative(v: number | undefined): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

/** Six decimals are plenty and keep status small and stable. */
function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
