import type { QueryOutcome } from '../api/query-outcome.js';
import { addCounts, emptyEvidence, readCounts } from './evidence.js';

const v = (value: number): QueryOutcome => ({ kind: 'value', value });
const NO: QueryOutcome = { kind: 'no-data' };

describe('readCounts', () => {
  it('keeps increase() extrapolations as measured, clamps bad to total and negatives to 0', () => {
    expect(readCounts({ canaryTotal: v(29.7), canaryBad: v(30.4), stableTotal: v(270.2), stableBad: v(-0.3) })).toEqual({
      kind: 'ok',
      increment: { canaryTotal: 29.7, canaryBad: 29.7, stableTotal: 270.2, stableBad: 0, canaryTraffic: true },
    });
  });

  it('an empty bad count next to a total means no bad request; an empty total means no traffic', () => {
    expect(readCounts({ canaryTotal: v(30), canaryBad: NO, stableTotal: NO, stableBad: v(2) })).toEqual({
      kind: 'ok',
      increment: { canaryTotal: 30, canaryBad: 0, stableTotal: 0, stableBad: 0, canaryTraffic: true },
    });
    const r = readCounts({ canaryTotal: { kind: 'not-a-number', raw: 'NaN' }, canaryBad: NO, stableTotal: v(5), stableBad: NO });
    expect(r).toMatchObject({ kind: 'ok', increment: { canaryTotal: 0, canaryTraffic: false } });
  });

  it('a query error names the query; multiple series is a spec problem; no counts at all too', () => {
    expect(readCounts({ canaryTotal: v(1), canaryBad: v(0), stableTotal: v(1), stableBad: { kind: 'error', code: 'Bad', message: 'parse', transient: false } })).toEqual({
      kind: 'error',
      label: 'stable bad',
      code: 'Bad',
      message: 'parse',
    });
    expect(readCounts({ canaryTotal: { kind: 'multiple-series', count: 2 }, canaryBad: v(0), stableTotal: v(1), stableBad: v(0) })).toMatchObject({
      kind: 'spec',
      message: expect.stringMatching(/^canary total query returned 2 series/),
    });
    expect(readCounts(undefined)).toMatchObject({ kind: 'spec' });
  });
});

describe('addCounts', () => {
  it('adds an interval to the evidence: counts only grow', () => {
    const inc = { canaryTotal: 30, canaryBad: 1, stableTotal: 270, stableBad: 0, canaryTraffic: true };
    const once = addCounts(undefined, 'sr', inc);
    expect(once).toEqual({
      name: 'sr',
      canaryTotal: 30,
      canaryBad: 1,
      stableTotal: 270,
      stableBad: 0,
      raw: { canaryTotal: 30, canaryBad: 1, stableTotal: 270, stableBad: 0 },
      verdict: 'unknown',
    });
    expect(addCounts(once, 'sr', inc)).toMatchObject({ canaryTotal: 60, canaryBad: 2, stableTotal: 540, stableBad: 0 });
  });

  it('sanitises what status holds (hand edits, older versions)', () => {
    const broken = { ...emptyEvidence('sr'), canaryTotal: -5, canaryBad: 9, stableTotal: Number.NaN, stableBad: 2.7 };
    expect(addCounts(broken, 'sr', { canaryTotal: 4, canaryBad: 1, stableTotal: 10, stableBad: 0, canaryTraffic: true })).toMatchObject({
      canaryTotal: 4,
      canaryBad: 4,
      stableTotal: 10,
      stableBad: 2,
    });
  });
});

describe('exact sums across windows', () => {
  it('a bad request split across windows is not lost to per-window rounding', () => {
    // increase() gives a fraction of one request in each of three windows: 0.4 + 0.4 + 0.4.
    let ev = addCounts(undefined, 'sr', { canaryTotal: 10.2, canaryBad: 0.4, stableTotal: 90.1, stableBad: 0, canaryTraffic: true });
    ev = addCounts(ev, 'sr', { canaryTotal: 9.9, canaryBad: 0.4, stableTotal: 89.8, stableBad: 0, canaryTraffic: true });
    ev = addCounts(ev, 'sr', { canaryTotal: 10, canaryBad: 0.4, stableTotal: 90, stableBad: 0, canaryTraffic: true });
    expect(ev.canaryBad).toBe(1);
    expect(ev.canaryTotal).toBe(30);
    expect(ev.raw?.canaryBad).toBeCloseTo(1.2, 6);
  });

  it('evidence from before exact sums continues from its whole counts and never shrinks', () => {
    const old = { name: 'sr', canaryTotal: 100, canaryBad: 3, stableTotal: 900, stableBad: 1, verdict: 'unknown' as const };
    const next = addCounts(old, 'sr', { canaryTotal: 0.2, canaryBad: 0, stableTotal: 0.3, stableBad: 0, canaryTraffic: false });
    expect(next).toMatchObject({ canaryTotal: 100, canaryBad: 3, stableTotal: 900, stableBad: 1 });
  });
});
