import type { MetricSpec } from '../api/canary.js';
import { evidenceOf } from './testing.js';
import type { QueryOutcome } from '../api/query-outcome.js';
import { TwoSample } from './two-sample.js';
import { assessEvidence, evaluateSequentialMetric, exposureBudget, requestsNeeded, SEQUENTIAL_DEFAULTS, SEQUENTIAL_TUNING, sequentialParams, type Stage } from './sequential.js';

const FINAL: Stage = { promoteNext: true, nextWeight: 100 };
const ev = evidenceOf;
const P = sequentialParams(undefined);

describe('sequentialParams', () => {
  it('applies defaults and converts percentage points to fractions', () => {
    expect(P).toEqual({ tolerance: SEQUENTIAL_DEFAULTS.tolerance / 100, falseRollback: 0.01, badPromotion: 0.01, catastrophic: 0.2 });
    expect(sequentialParams({ tolerance: 0.5, falseRollback: 0.05, badPromotion: 0.001, catastrophicErrorRate: 50 })).toEqual({
      tolerance: 0.005,
      falseRollback: 0.05,
      badPromotion: 0.001,
      catastrophic: 0.5,
    });
  });
});

describe('assessEvidence', () => {
  const margin = SEQUENTIAL_TUNING.rollbackMargin * P.tolerance;
  const alphaWorse = P.falseRollback * (1 - SEQUENTIAL_TUNING.catastrophicShare);

  it('"worse" exactly when the e-value against canary − stable <= margin reaches 1/α′, at the boundary', () => {
    // Walk the canary's bad count up one request at a time: the verdict flips where the e-value crosses.
    let flipped = -1;
    for (let bad = 0; bad <= 30; bad++) {
      const a = assessEvidence(ev(200, bad, 1800, 2), P, FINAL);
      const e = new TwoSample({ canaryTotal: 200, canaryBad: bad, stableTotal: 1800, stableBad: 2 }, SEQUENTIAL_TUNING.prior, SEQUENTIAL_TUNING.worse).logEvidenceWorse(margin);
      expect(a.logLR).toBeCloseTo(e, 12);
      expect(a.verdict === 'worse').toBe(e >= Math.log(1 / alphaWorse));
      if (a.verdict === 'worse' && flipped < 0) flipped = bad;
      if (flipped >= 0) expect(a.verdict).toBe('worse');
      // The reported lower bound agrees with the decision.
      expect(a.lower > margin).toBe(a.verdict === 'worse');
    }
    expect(flipped).toBeGreaterThan(2);
    expect(flipped).toBeLessThan(30);
  });

  it('"not worse" before promotion exactly when the e-value against canary − stable >= tolerance reaches 1/β', () => {
    let first = -1;
    for (const n of [50, 100, 200, 400, 800, 1600, 3200]) {
      const a = assessEvidence(ev(n, Math.round(n * 0.002), n * 9, Math.round(n * 0.009)), P, FINAL);
      const e = new TwoSample(
        { canaryTotal: n, canaryBad: Math.round(n * 0.002), stableTotal: n * 9, stableBad: Math.round(n * 0.009) },
        SEQUENTIAL_TUNING.prior,
      ).logEvidenceWithin(P.tolerance);
      expect(a.verdict === 'not-worse').toBe(e >= Math.log(1 / P.badPromotion));
      expect(a.upper <= P.tolerance).toBe(a.verdict === 'not-worse');
      if (a.verdict === 'not-worse' && first < 0) first = n;
      if (first >= 0) expect(a.verdict).toBe('not-worse');
    }
    expect(first).toBeGreaterThan(50);
  });

  it('catastrophic when the canary alone is surely above the rate, even without stable data', () => {
    const a = assessEvidence(ev(100, 60, 0, 0), P, FINAL);
    expect(a).toMatchObject({ verdict: 'worse', catastrophic: true });
    expect(a.logGuard).toBeGreaterThanOrEqual(Math.log(1 / (P.falseRollback * SEQUENTIAL_TUNING.catastrophicShare)));
    // The same share on too few requests is not catastrophic.
    expect(assessEvidence(ev(5, 3, 0, 0), P, FINAL)).toMatchObject({ catastrophic: false });
  });

  it('before the last step: the upper bound on canary - stable, times the next weight, against the tolerance', () => {
    // 0 bad of 300 vs 3 of 2700: the upper bound (2.4pp) is under 10pp (the budget at weight 20) and 2.5pp (at
    // 80), over 2.2pp (at 90).
    const e = ev(300, 0, 2700, 3);
    const a = assessEvidence(e, P, { promoteNext: false, nextWeight: 20 });
    expect(a).toMatchObject({ verdict: 'not-worse' });
    expect(a.upper).toBeLessThan(0.025);
    expect(assessEvidence(e, P, { promoteNext: false, nextWeight: 80 })).toMatchObject({ verdict: 'not-worse' });
    expect(assessEvidence(e, P, { promoteNext: false, nextWeight: 90 })).toMatchObject({ verdict: 'unknown' });
    // 3 bad of 100: +2.9pp measured, scaled to weight 20 only 0.58pp, but the bound (15pp) is over the budget.
    expect(assessEvidence(ev(100, 3, 1000, 1), P, { promoteNext: false, nextWeight: 20 })).toMatchObject({ verdict: 'unknown' });
    expect(assessEvidence(ev(0, 0, 1000, 1), P, { promoteNext: false, nextWeight: 20 })).toMatchObject({ verdict: 'unknown' });
    // A point estimate within the budget is not enough: 8% bad of 12 requests does not bound the harm at 30.
    expect(assessEvidence(ev(12, 1, 108, 0), P, { promoteNext: false, nextWeight: 30 })).toMatchObject({ verdict: 'unknown' });
  });

  it('requestsNeeded: about 330 clean canary requests for the promotion at the defaults, fewer for a lower weight', () => {
    const zero = { canaryTotal: 0, canaryBad: 0, stableTotal: 0, stableBad: 0 };
    const promotion = requestsNeeded(zero, P, P.tolerance, 50) ?? 0;
    expect(promotion).toBeGreaterThan(217); // what any test needs (docs/analysis.md)
    expect(promotion).toBeLessThan(450);
    expect(requestsNeeded(zero, P, exposureBudget(P, 20), 10) ?? 0).toBeLessThan(promotion / 2);
    // A canary at 5% bad never clears a 2pp tolerance, whatever the traffic.
    expect(requestsNeeded({ canaryTotal: 200, canaryBad: 10, stableTotal: 2000, stableBad: 2 }, P, P.tolerance, 50)).toBeUndefined();
  });

  it('with little evidence the answer is unknown, and the bounds are wide', () => {
    const a = assessEvidence(ev(10, 0, 90, 0), P, FINAL);
    expect(a.verdict).toBe('unknown');
    expect(a.upper).toBeGreaterThan(P.tolerance);
    expect(a.lower).toBeLessThan(0);
  });
});

describe('guarantees, by simulation at the edges of the hypotheses', () => {
  // Deterministic LCG; a few hundred rollouts of 40 intervals each, checked every interval.
  function lcg(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
  }
  function binomial(n: number, p: number, rand: () => number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (rand() < p) k++;
    return k;
  }
  function runs(pc: number, ps: number, nc: number, ns: number, stop: 'worse' | 'not-worse', seed: number): number {
    const rand = lcg(seed);
    let hits = 0;
    const N = 150;
    for (let r = 0; r < N; r++) {
      const e = ev(0, 0, 0, 0);
      for (let t = 0; t < 40; t++) {
        e.canaryTotal += nc;
        e.canaryBad += binomial(nc, pc, rand);
        e.stableTotal += ns;
        e.stableBad += binomial(ns, ps, rand);
        if (assessEvidence(e, P, FINAL).verdict === stop) {
          hits++;
          break;
        }
      }
    }
    return hits / N;
  }
  const margin = SEQUENTIAL_TUNING.rollbackMargin * P.tolerance;

  it('a canary exactly at the rollback margin is not rolled back (more often than α)', () => {
    expect(runs(0.01 + margin, 0.01, 100, 100, 'worse', 7)).toBeLessThanOrEqual(P.falseRollback);
  });

  it('a canary exactly at the tolerance is not promoted (more often than β)', () => {
    expect(runs(0.01 + P.tolerance, 0.01, 100, 100, 'not-worse', 11)).toBeLessThanOrEqual(P.badPromotion);
  });

  it('while clear cases are decided: far worse is rolled back, equal is promoted', () => {
    expect(runs(0.08, 0.01, 100, 100, 'worse', 13)).toBe(1);
    expect(runs(0.005, 0.005, 100, 100, 'not-worse', 17)).toBe(1);
  });
});

describe('evaluateSequentialMetric', () => {
  const metric: MetricSpec = { name: 'sr', mode: 'sequential' };
  const v = (value: number): QueryOutcome => ({ kind: 'value', value });
  const NO: QueryOutcome = { kind: 'no-data' };
  const noCanary = { name: 'sr', canary: NO, counts: { canaryTotal: NO, canaryBad: NO, stableTotal: v(500), stableBad: NO } };
  const time = '2026-03-01T12:00:00.000Z';

  it('reports the accumulated bad shares in percent', () => {
    const o = evaluateSequentialMetric(metric, { name: 'sr', canary: NO, counts: { canaryTotal: v(200), canaryBad: v(1), stableTotal: v(1800), stableBad: v(2) } }, undefined, 0, time, {
      promoteNext: false,
      nextWeight: 20,
    });
    expect(o.report).toMatchObject({ name: 'sr', value: 0.5, stableValue: (2 / 1800) * 100, verdict: 'pass', time });
    expect(o.report.threshold).toBe('canary - stable <= 2pp bad (sequential, falseRollback 0.01, badPromotion 0.01)');
    expect(o.evidence).toMatchObject({ canaryTotal: 200, canaryBad: 1, verdict: 'not-worse' });
  });

  it.each([
    ['hold', 'inconclusive'],
    ['fail', 'fail'],
  ] as const)('no canary requests this interval, noData=%s: %s', (noData, effect) => {
    const o = evaluateSequentialMetric({ ...metric, noData }, noCanary, ev(300, 0, 2700, 2), 0, time, { promoteNext: false, nextWeight: 20 });
    expect(o.effect).toBe(effect);
    expect(o.evidence).toMatchObject({ canaryTotal: 300, stableTotal: 3200 });
  });

  it('no canary requests, noData=pass: judged on the evidence so far', () => {
    const o = evaluateSequentialMetric({ ...metric, noData: 'pass' }, noCanary, ev(300, 0, 2700, 2), 0, time, { promoteNext: false, nextWeight: 20 });
    expect(o.effect).toBe('pass');
  });

  it('a finished proof promotes even in an interval without canary requests', () => {
    const o = evaluateSequentialMetric(metric, noCanary, ev(5000, 4, 5000, 5), 0, time, FINAL);
    expect(o.effect).toBe('pass');
  });

  it('worse asks for a rollback even when the interval brought no canary requests', () => {
    const o = evaluateSequentialMetric(metric, noCanary, ev(300, 30, 2700, 3), 0, time, FINAL);
    expect(o).toMatchObject({ effect: 'fail', rollback: 'SequentialWorse' });
  });

  describe('stable baseline', () => {
    const at = { window: '1h', time: '2026-03-01T11:00:00.000Z' };
    const counts = { canaryTotal: v(180), canaryBad: v(5), stableTotal: v(720), stableBad: v(1) };
    const withBaseline = (stableTotal: QueryOutcome, stableBad: QueryOutcome) => ({ name: 'sr', canary: NO, counts, baseline: { ...at, stableTotal, stableBad } });

    it('adds the stable requests before the rollout once, records them, and says so', () => {
      const o = evaluateSequentialMetric(metric, withBaseline(v(17_999.6), v(18.2)), undefined, 0, time, FINAL);
      expect(o.evidence).toMatchObject({ canaryTotal: 180, canaryBad: 5, stableTotal: 18_720, stableBad: 19, baseline: { ...at, total: 18_000, bad: 18 } });
      expect(o.report.message).toContain('bad of 18720 (18000 of them in the 1h before the rollout)');
      // Read again (a stale status in the informer): not added twice.
      const again = evaluateSequentialMetric(metric, withBaseline(v(18_000), v(18)), o.evidence, 0, time, FINAL);
      expect(again.evidence).toMatchObject({ stableTotal: 19_440, stableBad: 20, baseline: { total: 18_000, bad: 18 } });
    });

    it('pins the stable at 0.1%: 5 bad of 180 next to 1 of 720 is stronger evidence with it', () => {
      const without = evaluateSequentialMetric(metric, { name: 'sr', canary: NO, counts }, undefined, 0, time, FINAL);
      const withIt = evaluateSequentialMetric(metric, withBaseline(v(18_000), v(18)), undefined, 0, time, FINAL);
      expect(withIt.evidence?.logLR).toBeGreaterThan((without.evidence?.logLR ?? 0) + 0.2);
      // Same answer as the same counts given directly: the baseline is evidence like any other stable request.
      const direct = assessEvidence(ev(180, 5, 18_720, 19), P, FINAL);
      expect(withIt.evidence?.logLR).toBeCloseTo(direct.logLR, 9);
    });

    it('the promotion side judges on the rollout\'s own counts: the baseline neither helps nor hurts it', () => {
      const clean = { canaryTotal: v(600), canaryBad: NO, stableTotal: v(2400), stableBad: v(2) };
      const withIt = evaluateSequentialMetric(metric, { name: 'sr', canary: NO, counts: clean, baseline: { ...at, stableTotal: v(18_000), stableBad: v(18) } }, undefined, 0, time, FINAL);
      const without = evaluateSequentialMetric(metric, { name: 'sr', canary: NO, counts: clean }, undefined, 0, time, FINAL);
      expect(withIt.evidence?.stableTotal).toBe(20_400);
      expect(withIt.evidence?.bound).toBeCloseTo(without.evidence?.bound ?? NaN, 9);
      expect(withIt.evidence?.verdict).toBe(without.evidence?.verdict);
      // ... while the "worse" side counts every stable request.
      expect(withIt.evidence?.logLR).toBeCloseTo(assessEvidence(ev(600, 0, 20_400, 20), P, FINAL).logLR, 9);
    });

    it('no stable requests in the window: 0 of 0, recorded; a query error: not recorded, noted, the interval still counts', () => {
      const none = evaluateSequentialMetric(metric, withBaseline(NO, NO), undefined, 0, time, FINAL);
      expect(none.evidence).toMatchObject({ stableTotal: 720, baseline: { total: 0, bad: 0 } });
      const failed = evaluateSequentialMetric(metric, withBaseline({ kind: 'error', code: 'Timeout', message: 'slow', transient: true }, NO), undefined, 0, time, FINAL);
      expect(failed.evidence?.baseline).toBeUndefined();
      expect(failed.evidence).toMatchObject({ canaryTotal: 180, stableTotal: 720 });
      expect(failed.report.message).toContain('stable baseline total query error: Timeout: slow (read again next interval)');
      const many = evaluateSequentialMetric(metric, withBaseline(v(1), { kind: 'multiple-series', count: 3 }), undefined, 0, time, FINAL);
      expect(many.report.message).toContain('stable baseline bad query returned 3 series');
    });
  });
});
