import type { SequentialEvidence } from '../api/canary.js';
import type { QueryOutcome } from '../metrics/provider.js';
import type { Measurement } from './types.js';

/** One interval's counter increases, rounded to whole requests. */
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
  // increase() extrapolates to the window edges and can give 29.7 or a tiny negative: whole requests only.
  return Math.max(0, Math.round(o.value));
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
    increment: { canaryTotal: c.total, canaryBad: c.bad, stableTotal: s.total, stableBad: s.bad, canaryTraffic: c.total > 0 },
  };
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
  const canaryTotal = whole(p.canaryTotal) + inc.canaryTotal;
  const stableTotal = whole(p.stableTotal) + inc.stableTotal;
  return {
    name,
    canaryTotal,
    canaryBad: Math.min(canaryTotal, whole(p.canaryBad) + inc.canaryBad),
    stableTotal,
    stableBad: Math.min(stableTotal, whole(p.stableBad) + inc.stableBad),
    verdict: p.verdict,
  };
}
