import type { AnalysisSpec, CanarySpec, CanaryStatus } from '../api/canary.js';
import type { QueryOutcome } from '../api/query-outcome.js';
import { decide } from './decide.js';
import { planTick } from './plan.js';
import { describePlan, stagesOf, trafficFor, validateShapes } from './shapes.js';
import { stepsOf, weightStepsOf } from './steps.js';
import type { DecisionInput } from './types.js';
import { validateDecisionSettings } from './validate.js';

const T0 = Date.parse('2026-12-07T06:00:00Z');
const v = (value: number): QueryOutcome => ({ kind: 'value', value });

const AB: Partial<AnalysisSpec> = { iterations: 3, matchRule: 'testers' };
const MIRROR: Partial<AnalysisSpec> = { iterations: 2, mirror: true, mirrorWeight: 50, stepWeights: [20, 50] };

function spec(analysis: Partial<AnalysisSpec>): CanarySpec {
  return {
    routeRef: { name: 'app', rule: 'main' },
    stable: { name: 'app-v1', port: 80 },
    canary: { name: 'app-v2', port: 80 },
    analysis: { interval: '1m', threshold: 2, metrics: [{ name: 'sr', query: 'x', thresholdRange: { min: 99 } }], ...analysis },
  };
}

function input(analysis: Partial<AnalysisSpec>, status: Partial<CanaryStatus>, sr = 99.9): DecisionInput {
  return {
    spec: spec(analysis),
    status: { phase: 'Progressing', failedChecks: 0, inconclusiveChecks: 0, ...status },
    measurements: [{ name: 'sr', canary: v(sr) }],
    gates: [],
    now: T0,
  };
}

describe('stages', () => {
  it('an A/B test is its iterations at weight 0, then the promotion', () => {
    expect(stepsOf(AB)).toEqual([0, 0, 0]);
    expect(stagesOf(AB, weightStepsOf(AB)).map((s) => s.kind)).toEqual(['ab', 'ab', 'ab']);
    expect(describePlan(spec(AB).analysis, [])).toBe('3 A/B iterations then 100');
  });

  it('mirror first puts its iterations before the weight steps', () => {
    expect(stepsOf(MIRROR)).toEqual([0, 0, 20, 50]);
    expect(describePlan(spec(MIRROR).analysis, weightStepsOf(MIRROR))).toBe('2 mirror iterations, then steps 20, 50 then 100');
  });

  it('leaves a plain canary and session affinity at their weight steps', () => {
    expect(stepsOf({ stepWeights: [10, 30], sessionAffinity: { cookieName: 'c', rule: 'sticky' } })).toEqual([10, 30]);
  });
});

describe('trafficFor', () => {
  const ab = spec(AB);
  it('flips the A/B rule to the canary during the iterations and back on rollback; the weighted rule follows on promotion', () => {
    expect(trafficFor(ab, { phase: 'Initializing', stepIndex: -1 }, 0)).toEqual({ canary: 0, matchRule: 0 });
    expect(trafficFor(ab, { phase: 'Progressing', stepIndex: 1 }, 0)).toEqual({ canary: 0, matchRule: 100 });
    expect(trafficFor(ab, { phase: 'Promoting', stepIndex: 2 }, 100)).toEqual({ canary: 100, matchRule: 100 });
    expect(trafficFor(ab, { phase: 'RollingBack', stepIndex: 2 }, 0)).toEqual({ canary: 0, matchRule: 0 });
  });

  it('sets the mirror percent only in the mirror phase', () => {
    const m = spec(MIRROR);
    expect(trafficFor(m, { phase: 'Progressing', stepIndex: 0 }, 0)).toEqual({ canary: 0, mirrorPercent: 50 });
    expect(trafficFor(m, { phase: 'Waiting', stepIndex: 1 }, 0)).toEqual({ canary: 0, mirrorPercent: 50 });
    expect(trafficFor(m, { phase: 'Progressing', stepIndex: 2 }, 20)).toEqual({ canary: 20, mirrorPercent: 0 });
    expect(trafficFor(m, { phase: 'RollingBack', stepIndex: 1 }, 0)).toEqual({ canary: 0, mirrorPercent: 0 });
    expect(trafficFor(spec({ ...MIRROR, mirrorWeight: undefined }), { phase: 'Progressing', stepIndex: 0 }, 0).mirrorPercent).toBe(100);
  });

  it('keeps the cookie rule on the canary while the canary takes traffic', () => {
    const s = spec({ stepWeights: [10, 50], sessionAffinity: { cookieName: 'canary', rule: 'sticky' } });
    expect(trafficFor(s, { phase: 'Progressing', stepIndex: 0 }, 10)).toEqual({ canary: 10, affinityRule: 100 });
    expect(trafficFor(s, { phase: 'RollingBack', stepIndex: 1 }, 0)).toEqual({ canary: 0, affinityRule: 0 });
    // sessionPersistence (no rule): nothing of its own to write.
    expect(trafficFor(spec({ sessionAffinity: { cookieName: 'canary' } }), { phase: 'Progressing', stepIndex: 0 }, 10)).toEqual({ canary: 10 });
  });
});

describe('validateShapes', () => {
  const paths = (a: Partial<AnalysisSpec>): string[] => validateShapes(spec(a).analysis).map((p) => p.path);

  it('accepts the three shapes as documented', () => {
    expect(paths(AB)).toEqual([]);
    expect(paths(MIRROR)).toEqual([]);
    expect(paths({ stepWeight: 10, sessionAffinity: { cookieName: 'canary', maxAge: 3600, rule: 'sticky' } })).toEqual([]);
    expect(paths({ iterations: 2, match: [{ headers: [{ name: 'x-canary', value: 'insider' }] }] })).toEqual([]);
  });

  it('names each bad setting by its path', () => {
    expect(paths({ matchRule: 'testers' })).toEqual(['spec.analysis.iterations']);
    expect(paths({ iterations: 3 })).toEqual(['spec.analysis.iterations']);
    expect(paths({ ...AB, stepWeights: [10] })).toEqual(['spec.analysis.stepWeights']);
    expect(paths({ ...AB, mirror: true })).toEqual(['spec.analysis.mirror']);
    expect(paths({ mirrorWeight: 30 })).toEqual(['spec.analysis.mirrorWeight']);
    expect(paths({ ...MIRROR, mirrorWeight: 0 })).toEqual(['spec.analysis.mirrorWeight']);
    expect(paths({ sessionAffinity: { cookieName: 'a b' } })).toEqual(['spec.analysis.sessionAffinity.cookieName']);
    expect(paths({ iterations: 1, match: [{}] })).toEqual(['spec.analysis.match[0]']);
    expect(paths({ ...AB, metrics: [{ name: 'sr', mode: 'sequential' }] })).toEqual(['spec.analysis.metrics[0].mode']);
  });

  it('is part of the decision settings the controller and the CLI check', () => {
    expect(validateDecisionSettings({ ...spec({ matchRule: 'x' }).analysis }).map((p) => p.message).join()).toMatch(/A\/B test .* needs iterations/);
  });
});

describe('decide with iterations', () => {
  it('starts an A/B test by flipping the rule, not by moving the weight', () => {
    const r = decide(input(AB, { phase: 'Initializing', stepIndex: -1, canaryWeight: 0 }));
    expect(r.decision).toMatchObject({ action: 'advance', stepIndex: 0, toWeight: 0 });
    expect(r.decision.message).toMatch(/A\/B iteration 1\/3/);
  });

  it('counts the A/B iterations and promotes after the last', () => {
    const second = decide(input(AB, { stepIndex: 0, canaryWeight: 0 }));
    expect(second.decision).toMatchObject({ action: 'advance', stepIndex: 1, toWeight: 0 });
    expect(second.decision.message).toMatch(/^Matched traffic on the canary, A\/B iteration 2\/3: sr/);
    const last = decide(input(AB, { stepIndex: 2, canaryWeight: 0 }));
    expect(last.decision).toMatchObject({ action: 'promote' });
    expect(last.decision.message).toMatch(/after A\/B iteration 3\/3/);
  });

  it('rolls an A/B test back on failed checks', () => {
    const first = decide(input(AB, { stepIndex: 1, canaryWeight: 0 }, 80));
    expect(first.decision).toMatchObject({ action: 'hold', reason: 'CheckFailed' });
    const second = decide(input(AB, { stepIndex: 1, canaryWeight: 0, failedChecks: 1 }, 80));
    expect(second.decision).toMatchObject({ action: 'rollback', reason: 'ThresholdReached' });
  });

  it('moves from the mirror phase to the first weight step, then walks the steps', () => {
    expect(decide(input(MIRROR, { stepIndex: 0, canaryWeight: 0 })).decision.message).toMatch(/^Mirroring to the canary, mirror iteration 2\/2/);
    const out = decide(input(MIRROR, { stepIndex: 1, canaryWeight: 0 }));
    expect(out.decision).toMatchObject({ action: 'advance', stepIndex: 2, toWeight: 20, message: expect.stringMatching(/^Advanced canary weight 0 -> 20/) });
    expect(decide(input(MIRROR, { stepIndex: 3, canaryWeight: 50 })).decision).toMatchObject({ action: 'promote' });
  });

  it('rolls back from the mirror phase before any user reached the canary', () => {
    const out = decide(input(MIRROR, { stepIndex: 0, canaryWeight: 0, failedChecks: 1 }, 50));
    expect(out.decision).toMatchObject({ action: 'rollback', reason: 'ThresholdReached' });
  });
});

describe('planTick with iterations', () => {
  const due = { stepStartTime: new Date(T0 - 120_000).toISOString() };
  it('runs no confirm-traffic-increase gate between iterations at the same weight', () => {
    expect(planTick(spec(AB), { stepIndex: 0, ...due }, {}, T0).gates).toEqual([['rollout']]);
    expect(planTick(spec(AB), { stepIndex: 2, ...due }, {}, T0).gates).toEqual([['rollout', 'confirm-promotion']]);
  });

  it('runs it where the mirror phase ends and the weight grows', () => {
    expect(planTick(spec(MIRROR), { stepIndex: 0, ...due }, {}, T0).gates).toEqual([['rollout']]);
    expect(planTick(spec(MIRROR), { stepIndex: 1, ...due }, {}, T0).gates).toEqual([['rollout', 'confirm-traffic-increase']]);
  });
});
