import type { CanarySpec, CanaryStatus } from '../api/canary.js';
import { analysisDueAt, planTick } from './plan.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const spec = (top: Partial<CanarySpec> = {}): CanarySpec => ({
  routeRef: { name: 'r' },
  stable: { name: 's', port: 80 },
  canary: { name: 'c', port: 80 },
  analysis: { interval: '1m', threshold: 2, stepWeights: [10, 50] },
  ...top,
});
const at = (stepIndex: number, over: Partial<CanaryStatus> = {}): CanaryStatus => ({ stepIndex, stepStartTime: new Date(T0 - 20_000).toISOString(), ...over });

describe('planTick', () => {
  it('before the first step: confirm-rollout, then pre-rollout checks, at once', () => {
    expect(planTick(spec(), at(-1), {}, T0)).toEqual({ dueInMs: 0, measure: false, gates: [['confirm-rollout'], ['pre-rollout']] });
  });
  it('skipAnalysis: no pre-rollout checks and no measurement, the confirm-promotion gate instead', () => {
    expect(planTick(spec({ skipAnalysis: true }), at(-1), {}, T0).gates).toEqual([['confirm-rollout'], ['confirm-promotion']]);
    expect(planTick(spec({ skipAnalysis: true }), at(0), {}, T0)).toEqual({ dueInMs: 0, measure: false, gates: [['confirm-promotion']] });
  });
  it('at a step: due a full interval after the step started or the last analysis', () => {
    expect(planTick(spec(), at(0), {}, T0)).toEqual({ dueInMs: 40_000, measure: true, gates: [['rollout', 'confirm-traffic-increase']] });
    const last = new Date(T0 - 70_000).toISOString();
    expect(planTick(spec(), at(1, { stepStartTime: new Date(T0 - 120_000).toISOString(), lastAnalysisTime: last }), {}, T0)).toEqual({ dueInMs: 0, measure: true, gates: [['rollout', 'confirm-promotion']] });
  });
  it('with earlyMs, due that much before the interval is up (the tick grid rounds next ticks down)', () => {
    const s = at(0, { lastAnalysisTime: new Date(T0 - 9_900).toISOString() });
    expect(planTick(spec({ analysis: { interval: '10s', threshold: 2, stepWeights: [10, 50] } }), s, {}, T0).dueInMs).toBe(100);
    expect(planTick(spec({ analysis: { interval: '10s', threshold: 2, stepWeights: [10, 50] } }), s, {}, T0, 250).dueInMs).toBe(0);
    expect(planTick(spec(), s, {}, T0, 250).dueInMs).toBe(60_000 - 9_900 - 250);
    const short = at(0, { lastAnalysisTime: new Date(T0 - 500).toISOString() });
    expect(planTick(spec({ analysis: { interval: '1s', threshold: 2, stepWeights: [10, 50] } }), short, {}, T0, 500).dueInMs).toBe(250);
  });
  it('abort and suspension gather nothing and wait for nothing', () => {
    expect(planTick(spec(), at(0), { abort: true }, T0)).toEqual({ dueInMs: 0, measure: false, gates: [] });
    expect(planTick(spec({ suspend: true }), at(0), { promote: true }, T0)).toEqual({ dueInMs: 0, measure: false, gates: [] });
  });
  it('a promote request asks only the confirm-promotion gate', () => {
    expect(planTick(spec(), at(0), { promote: true }, T0)).toEqual({ dueInMs: 0, measure: false, gates: [['confirm-promotion']] });
  });
});

describe('analysisDueAt', () => {
  it('at a step: a full interval after the step started or the last analysis, in the past when overdue', () => {
    expect(analysisDueAt(spec(), at(0, { phase: 'Progressing' }))).toBe(T0 + 40_000);
    const last = new Date(T0 - 70_000).toISOString();
    expect(analysisDueAt(spec(), at(1, { phase: 'Waiting', stepStartTime: new Date(T0 - 120_000).toISOString(), lastAnalysisTime: last }))).toBe(T0 - 10_000);
  });
  it('agrees with planTick on when the analysis is due', () => {
    const s = at(0, { phase: 'Progressing', lastAnalysisTime: new Date(T0 - 5_000).toISOString() });
    expect(analysisDueAt(spec(), s)).toBe(T0 + planTick(spec(), s, {}, T0).dueInMs);
  });
  it('nothing to wait for: before the first step, finishing, idle, suspended, skipping analysis, an unreadable interval', () => {
    expect(analysisDueAt(spec(), at(-1, { phase: 'Initializing' }))).toBeUndefined();
    expect(analysisDueAt(spec(), at(1, { phase: 'Promoting' }))).toBeUndefined();
    expect(analysisDueAt(spec(), at(1, { phase: 'Succeeded' }))).toBeUndefined();
    expect(analysisDueAt(spec({ suspend: true }), at(0, { phase: 'Progressing' }))).toBeUndefined();
    expect(analysisDueAt(spec({ skipAnalysis: true }), at(0, { phase: 'Progressing' }))).toBeUndefined();
    expect(analysisDueAt(spec({ analysis: { interval: 'soon', threshold: 2, stepWeights: [10] } }), at(0, { phase: 'Progressing' }))).toBeUndefined();
    expect(analysisDueAt(spec(), { phase: 'Progressing', stepIndex: 0 })).toBeUndefined();
    expect(analysisDueAt(spec(), undefined)).toBeUndefined();
  });
});
