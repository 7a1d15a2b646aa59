import type { AnalysisSpec, CanarySpec, CanaryStatus, MetricSpec, SequentialEvidence } from '../api/canary.js';
import { decide } from './decide.js';
import type { Decision, DecisionInput, GateResult, Measurement } from './types.js';
import type { QueryOutcome } from '../metrics/provider.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const SR: MetricSpec = { name: 'request-success-rate', thresholdRange: { min: 99 } };
const DUR: MetricSpec = { name: 'request-duration', thresholdRange: { max: 500 } };

const v = (value: number): QueryOutcome => ({ kind: 'value', value });
const NO_DATA: QueryOutcome = { kind: 'no-data' };
const NAN: QueryOutcome = { kind: 'not-a-number', raw: 'NaN' };
/** A query error about the query itself (not the backend being down): it counts toward failure after a streak. */
const ERR: QueryOutcome = { kind: 'error', code: 'Timeout', message: 'prometheus did not answer in 5s', transient: false };
/** The backend down (unreachable, 5xx, timing out after retries): never a failed check, only a hold. */
const DOWN: QueryOutcome = { kind: 'error', code: 'PrometheusUnreachable', message: 'connect ECONNREFUSED', transient: true };
const MULTI: QueryOutcome = { kind: 'multiple-series', count: 3 };

function spec(analysis: Partial<AnalysisSpec> = {}, top: Partial<CanarySpec> = {}): CanarySpec {
  return {
    routeRef: { name: 'podinfo' },
    stable: { name: 'podinfo-stable', port: 9898 },
    canary: { name: 'podinfo-canary', port: 9898 },
    analysis: { interval: '1m', threshold: 5, stepWeight: 10, maxWeight: 50, metrics: [SR, DUR], ...analysis },
    ...top,
  };
}

const m = (name: string, canary: QueryOutcome, extra: Partial<Measurement> = {}): Measurement => ({ name, canary, ...extra });
const GOOD: Measurement[] = [m('request-success-rate', v(99.8)), m('request-duration', v(212))];
const withSR = (canary: QueryOutcome, extra: Partial<Measurement> = {}): Measurement[] => [
  m('request-success-rate', canary, extra),
  m('request-duration', v(212)),
];
const gate = (type: GateResult['type'], passed: boolean, name = `${type}-hook`, message = passed ? 'ok' : 'said no'): GateResult => ({
  name,
  type,
  passed,
  message,
});

function input(over: Partial<DecisionInput> & { statusOver?: Partial<CanaryStatus> } = {}): DecisionInput {
  const { statusOver, ...rest } = over;
  return {
    spec: spec(),
    status: { stepIndex: 0, canaryWeight: 10, failedChecks: 0, inconclusiveChecks: 0, ...statusOver },
    measurements: GOOD,
    gates: [],
    now: T0,
    ...rest,
  };
}

interface Case {
  name: string;
  in: DecisionInput;
  decision: Partial<Decision> & { action: Decision['action'] };
  message?: string | RegExp;
  counters?: { failedChecks?: number; inconclusiveChecks?: number; errorStreaks?: Record<string, number> };
}

const last = { stepIndex: 4, canaryWeight: 50 };

const cases: Case[] = [
  // --- moving on -------------------------------------------------------------------------------------
  {
    name: 'all metrics pass: advance to the next step, with values and thresholds in the message',
    in: input(),
    decision: { action: 'advance', fromWeight: 10, toWeight: 20, stepIndex: 1 },
    message: 'Advanced canary weight 10 -> 20: request-success-rate 99.8% >= 99, request-duration 212ms <= 500',
    counters: { failedChecks: 0, inconclusiveChecks: 0, errorStreaks: {} },
  },
  {
    name: 'stepWeights are walked as given',
    in: input({ spec: spec({ stepWeight: undefined, maxWeight: undefined, stepWeights: [10, 25, 60] }) }),
    decision: { action: 'advance', fromWeight: 10, toWeight: 25, stepIndex: 1 },
    message: /^Advanced canary weight 10 -> 25: /,
  },
  {
    name: 'all pass at the last step: promote',
    in: input({ statusOver: last }),
    decision: { action: 'promote', fromWeight: 50 },
    message: 'Promoting canary from weight 50: request-success-rate 99.8% >= 99, request-duration 212ms <= 500',
  },
  {
    name: 'a stepIndex past the end (the spec lost steps) promotes',
    in: input({ statusOver: { stepIndex: 7, canaryWeight: 80 } }),
    decision: { action: 'promote', fromWeight: 80 },
  },
  {
    name: 'a pass does not reset failed checks (Flagger semantics), but resets the inconclusive run',
    in: input({ statusOver: { failedChecks: 3, inconclusiveChecks: 4 } }),
    decision: { action: 'advance', toWeight: 20 },
    counters: { failedChecks: 3, inconclusiveChecks: 0 },
  },
  {
    name: 'no metrics: advance',
    in: input({ spec: spec({ metrics: [] }), measurements: [] }),
    decision: { action: 'advance', toWeight: 20 },
    message: 'Advanced canary weight 10 -> 20: no metrics to check',
  },
  {
    name: 'skipAnalysis set during a rollout: promote at once, whatever the metrics and rollout gates say',
    in: input({ spec: spec({}, { skipAnalysis: true }), measurements: withSR(v(50)), gates: [gate('rollout', false)] }),
    decision: { action: 'promote', fromWeight: 10 },
    message: 'Promoting canary from weight 10: analysis skipped (skipAnalysis)',
  },
  {
    name: 'skipAnalysis during a rollout: a closed confirm-promotion gate still holds',
    in: input({ spec: spec({}, { skipAnalysis: true }), gates: [gate('confirm-promotion', false)] }),
    decision: { action: 'hold', reason: 'GateClosed' },
  },
  {
    name: 'skipAnalysis at the start: promote at once, no pre-rollout checks',
    in: input({ spec: spec({}, { skipAnalysis: true }), statusOver: { stepIndex: -1, canaryWeight: 0 }, measurements: [], gates: [gate('pre-rollout', false)] }),
    decision: { action: 'promote', fromWeight: 0 },
    message: 'Promoting without analysis (skipAnalysis): canary weight 0 -> 100',
  },
  {
    name: 'skipAnalysis at the start: a closed confirm-promotion gate holds',
    in: input({ spec: spec({}, { skipAnalysis: true }), statusOver: { stepIndex: -1, canaryWeight: 0 }, measurements: [], gates: [gate('confirm-promotion', false)] }),
    decision: { action: 'hold', reason: 'GateClosed' },
    message: 'Holding at weight 0: gate "confirm-promotion-hook" (confirm-promotion) closed: said no',
  },
  {
    name: 'skipAnalysis at the start: a closed confirm-rollout gate comes first',
    in: input({
      spec: spec({}, { skipAnalysis: true }),
      statusOver: { stepIndex: -1, canaryWeight: 0 },
      measurements: [],
      gates: [gate('confirm-rollout', false, 'approval', 'not yet')],
    }),
    decision: { action: 'hold', reason: 'GateClosed' },
    message: 'Waiting for confirm-rollout: not yet',
  },
  {
    name: 'before the first step: start at the first weight',
    in: input({ statusOver: { stepIndex: -1, canaryWeight: 0 }, measurements: [] }),
    decision: { action: 'advance', fromWeight: 0, toWeight: 10, stepIndex: 0 },
    message: 'Shifted canary weight 0 -> 10 (step 1/5)',
  },
  {
    name: 'before the first step: a failed pre-rollout check holds and counts',
    in: input({ statusOver: { stepIndex: -1, canaryWeight: 0, failedChecks: 3 }, measurements: [], gates: [gate('pre-rollout', false, 'smoke', 'smoke test failed')] }),
    decision: { action: 'hold', reason: 'PreRolloutFailed' },
    message: 'Pre-rollout check failed (4/5): smoke test failed',
    counters: { failedChecks: 4 },
  },
  {
    name: 'before the first step: the failed pre-rollout check that reaches the threshold rolls back',
    in: input({ statusOver: { stepIndex: -1, canaryWeight: 0, failedChecks: 4 }, measurements: [], gates: [gate('pre-rollout', false, 'smoke', 'smoke test failed')] }),
    decision: { action: 'rollback', reason: 'ThresholdReached' },
    message: 'Pre-rollout checks failed 5/5: smoke test failed',
    counters: { failedChecks: 5 },
  },
  {
    name: 'a weight the mesh has not programmed is not judged',
    in: input({ measurements: withSR(v(50)), route: { programmed: false, message: 'Accepted is False' } }),
    decision: { action: 'hold', reason: 'WaitingForRoute' },
    message: 'Waiting for the mesh to program canary weight 10: Accepted is False',
    counters: { failedChecks: 0 },
  },
  {
    name: 'a weight not programmed within progressDeadline rolls back',
    in: input({
      spec: spec({ progressDeadline: '5m' }),
      route: { programmed: false, message: 'Accepted is False' },
      statusOver: { stepStartTime: new Date(T0 - 6 * 60_000).toISOString() },
    }),
    decision: { action: 'rollback', reason: 'ProgressDeadline' },
    message: 'Route not programmed within progressDeadline: Accepted is False',
  },
  // --- failed checks ---------------------------------------------------------------------------------
  {
    name: 'a failed check below the threshold holds and counts',
    in: input({ measurements: withSR(v(97.1)) }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: request-success-rate 97.1% < 99 (1/5 failed checks)',
    counters: { failedChecks: 1, inconclusiveChecks: 0 },
  },
  {
    name: 'the failed check that reaches the threshold rolls back',
    in: input({ measurements: withSR(v(91.2)), statusOver: { failedChecks: 4, stepIndex: 2, canaryWeight: 30 } }),
    decision: { action: 'rollback', reason: 'ThresholdReached' },
    message: 'Rolling back: request-success-rate 91.2% < 99 (5/5 failed checks)',
    counters: { failedChecks: 5 },
  },
  {
    name: 'several failing metrics are one failed check',
    in: input({ measurements: [m('request-success-rate', v(98)), m('request-duration', v(612.4))] }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: request-success-rate 98% < 99, request-duration 612ms > 500 (1/5 failed checks)',
    counters: { failedChecks: 1 },
  },
  {
    name: 'a failed check breaks an inconclusive run',
    in: input({ measurements: withSR(v(97)), statusOver: { inconclusiveChecks: 6 } }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    counters: { failedChecks: 1, inconclusiveChecks: 0 },
  },
  {
    name: 'threshold 1: the first failed check rolls back',
    in: input({ spec: spec({ threshold: 1 }), measurements: withSR(v(97)) }),
    decision: { action: 'rollback', reason: 'ThresholdReached' },
    message: /\(1\/1 failed checks\)$/,
  },
  {
    name: 'a failed check wins over an inconclusive one',
    in: input({ measurements: [m('request-success-rate', NO_DATA), m('request-duration', v(900))] }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: request-duration 900ms > 500 (1/5 failed checks)',
  },
  {
    name: 'a two-sided range reads both ends',
    in: input({ spec: spec({ metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99, max: 100 } }] }), measurements: [m('request-success-rate', v(99.5))] }),
    decision: { action: 'advance' },
    message: 'Advanced canary weight 10 -> 20: request-success-rate 99 <= 99.5% <= 100',
  },
  {
    name: 'a metric with nothing to check against fails (spec problem)',
    in: input({ spec: spec({ metrics: [{ name: 'cpu' }] }), measurements: [m('cpu', v(1))] }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: cpu nothing to check: set thresholdRange or relative (1/5 failed checks)',
  },
  // --- no data ---------------------------------------------------------------------------------------
  {
    name: 'no data, noData=hold (default): hold inconclusive',
    in: input({
      spec: spec({ stepWeight: undefined, maxWeight: undefined, stepWeights: [10, 25, 50] }),
      measurements: withSR(NO_DATA),
      statusOver: { stepIndex: 1, canaryWeight: 25, inconclusiveChecks: 2 },
    }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 25: request-success-rate no data (noData=hold), 3/10 inconclusive',
    counters: { failedChecks: 0, inconclusiveChecks: 3 },
  },
  {
    name: 'never promote with a metric inconclusive, even at the last step',
    in: input({ measurements: withSR(NO_DATA), statusOver: last }),
    decision: { action: 'hold', reason: 'Inconclusive' },
  },
  {
    name: 'NaN is no data',
    in: input({ measurements: withSR(NAN) }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 10: request-success-rate not a number (NaN) (noData=hold), 1/10 inconclusive',
  },
  {
    name: 'the inconclusive tick reaching the limit (default threshold × 2) hands the rollout to a person by default',
    in: input({ measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 9 } }),
    decision: { action: 'hold', reason: 'AwaitingDecision' },
    message:
      'Waiting for a decision at weight 10: request-success-rate no data (noData=hold), 10/10 inconclusive (onInconclusiveLimit: pause); routeshift resume analyses again, promote promotes, abort rolls back',
    counters: { inconclusiveChecks: 10 },
  },
  {
    name: 'onInconclusiveLimit: rollback: the time-out rolls back, saying there is no evidence of harm',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'rollback' }), measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 2 } }),
    decision: { action: 'rollback', reason: 'InconclusiveLimit', harm: false },
    message: 'Rolling back without evidence of harm (onInconclusiveLimit: rollback): request-success-rate no data (noData=hold), 3/3 inconclusive',
  },
  // --- the time-out handed to a person (onInconclusiveLimit: pause) -------------------------------------
  {
    name: 'onInconclusiveLimit: pause: the tick reaching the limit holds for a person instead of rolling back',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 2 } }),
    decision: { action: 'hold', reason: 'AwaitingDecision' },
    message:
      'Waiting for a decision at weight 10: request-success-rate no data (noData=hold), 3/3 inconclusive (onInconclusiveLimit: pause); routeshift resume analyses again, promote promotes, abort rolls back',
    counters: { inconclusiveChecks: 3 },
  },
  {
    name: 'onInconclusiveLimit: rollback (the default, written out) rolls back',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'rollback' }), measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 2 } }),
    decision: { action: 'rollback', reason: 'InconclusiveLimit' },
    message: /3\/3 inconclusive$/,
  },
  {
    name: 'handed to a person: passing metrics do not advance, the counter stays at the limit',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), statusOver: { inconclusiveChecks: 3 } }),
    decision: { action: 'hold', reason: 'AwaitingDecision' },
    message:
      'Waiting for a decision at weight 10: no answer from the analysis in 3 intervals in a row (onInconclusiveLimit: pause); routeshift resume analyses again, promote promotes, abort rolls back',
    counters: { inconclusiveChecks: 3, failedChecks: 0 },
  },
  {
    name: 'handed to a person: still no data, the same stable message (one Event with a count)',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 3 } }),
    decision: { action: 'hold', reason: 'AwaitingDecision' },
    message: /^Waiting for a decision at weight 10: no answer from the analysis in 3 intervals in a row \(/,
    counters: { inconclusiveChecks: 3 },
  },
  {
    name: 'handed to a person: failed checks still count, and reaching the threshold rolls back',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), measurements: withSR(v(91)), statusOver: { inconclusiveChecks: 3, failedChecks: 4 } }),
    decision: { action: 'rollback', reason: 'ThresholdReached' },
    counters: { failedChecks: 5 },
  },
  {
    name: 'handed to a person: a failed check below the threshold keeps waiting and says so',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), measurements: withSR(v(91)), statusOver: { inconclusiveChecks: 3, failedChecks: 1 } }),
    decision: { action: 'hold', reason: 'AwaitingDecision' },
    message: /in 3 intervals in a row; since then request-success-rate 91% < 99 \(2\/5 failed checks\) \(onInconclusiveLimit: pause\)/,
    counters: { failedChecks: 2, inconclusiveChecks: 3 },
  },
  {
    name: 'handed to a person: resume starts a new round (a passing tick advances)',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), statusOver: { inconclusiveChecks: 3 }, requests: { resume: true } }),
    decision: { action: 'advance', toWeight: 20 },
    counters: { inconclusiveChecks: 0 },
  },
  {
    name: 'handed to a person: resume with still no data counts 1 of a new round',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 3 }, requests: { resume: true } }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: /1\/3 inconclusive$/,
    counters: { inconclusiveChecks: 1 },
  },
  {
    name: 'handed to a person: promote and abort requests act as always',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 3 }, requests: { promote: true } }),
    decision: { action: 'promote', fromWeight: 10 },
  },
  {
    name: 'handed to a person: an abort request rolls back',
    in: input({ spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }), statusOver: { inconclusiveChecks: 3 }, requests: { abort: true } }),
    decision: { action: 'rollback', reason: 'Aborted' },
  },
  {
    name: 'handed to a person: not subject to progressDeadline',
    in: input({
      spec: spec({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause', progressDeadline: '10m' }),
      measurements: withSR(NO_DATA),
      statusOver: { inconclusiveChecks: 3, stepStartTime: new Date(T0 - 60 * 60_000).toISOString() },
    }),
    decision: { action: 'hold', reason: 'AwaitingDecision' },
  },
  {
    name: 'a resume request without a hand-over changes nothing (the counter goes on)',
    in: input({ spec: spec({ inconclusiveLimit: 3 }), measurements: withSR(NO_DATA), statusOver: { inconclusiveChecks: 1 }, requests: { resume: true } }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    counters: { inconclusiveChecks: 2 },
  },
  {
    name: 'noData=fail: a failed check',
    in: input({ spec: spec({ metrics: [{ ...SR, noData: 'fail' }, DUR] }), measurements: withSR(NO_DATA) }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: request-success-rate no data (noData=fail) (1/5 failed checks)',
    counters: { failedChecks: 1 },
  },
  {
    name: 'noData=pass: counts as a pass',
    in: input({ spec: spec({ metrics: [{ ...SR, noData: 'pass' }, DUR] }), measurements: withSR(NO_DATA) }),
    decision: { action: 'advance', toWeight: 20 },
    message: 'Advanced canary weight 10 -> 20: request-success-rate no data (noData=pass), request-duration 212ms <= 500',
  },
  {
    name: 'a metric missing from the measurements is treated like a query error',
    in: input({ measurements: [m('request-duration', v(212))] }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 10: request-success-rate not measured 1/2, 1/10 inconclusive',
    counters: { errorStreaks: { 'request-success-rate': 1 } },
  },
  // --- query errors ----------------------------------------------------------------------------------
  {
    name: 'Prometheus down holds without starting an error streak, however long it lasts',
    in: input({ measurements: withSR(DOWN), statusOver: { failedChecks: 4, errorStreaks: { 'request-success-rate': 5 } } }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 10: request-success-rate metrics unavailable (PrometheusUnreachable: connect ECONNREFUSED); holding, 1/10 inconclusive',
    counters: { failedChecks: 4, inconclusiveChecks: 1, errorStreaks: { 'request-success-rate': 5 } },
  },
  {
    name: 'a first query error is inconclusive and starts a streak',
    in: input({ measurements: withSR(ERR) }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 10: request-success-rate query error 1/2: Timeout: prometheus did not answer in 5s, 1/10 inconclusive',
    counters: { failedChecks: 0, inconclusiveChecks: 1, errorStreaks: { 'request-success-rate': 1 } },
  },
  {
    name: 'the error that completes the streak (errorsBeforeFailure 2) is a failed check',
    in: input({ measurements: withSR(ERR), statusOver: { errorStreaks: { 'request-success-rate': 1 } } }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: request-success-rate query error 2/2, counted as a failed check: Timeout: prometheus did not answer in 5s (1/5 failed checks)',
    counters: { failedChecks: 1, errorStreaks: { 'request-success-rate': 2 } },
  },
  {
    name: 'errors keep failing after the streak is complete',
    in: input({ measurements: withSR(ERR), statusOver: { failedChecks: 4, errorStreaks: { 'request-success-rate': 5 } } }),
    decision: { action: 'rollback', reason: 'ThresholdReached' },
    counters: { failedChecks: 5, errorStreaks: { 'request-success-rate': 6 } },
  },
  {
    name: 'errorsBeforeFailure 3: the second error is still inconclusive',
    in: input({ spec: spec({ metrics: [{ ...SR, errorsBeforeFailure: 3 }, DUR] }), measurements: withSR(ERR), statusOver: { errorStreaks: { 'request-success-rate': 1 } } }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    counters: { errorStreaks: { 'request-success-rate': 2 } },
  },
  {
    name: 'errorsBeforeFailure 1: the first error fails',
    in: input({ spec: spec({ metrics: [{ ...SR, errorsBeforeFailure: 1 }, DUR] }), measurements: withSR(ERR) }),
    decision: { action: 'hold', reason: 'CheckFailed' },
  },
  {
    name: 'an answer ends the streak; streaks of metrics no longer in the spec are dropped',
    in: input({ statusOver: { errorStreaks: { 'request-success-rate': 1, 'gone-metric': 4 } } }),
    decision: { action: 'advance' },
    counters: { errorStreaks: {} },
  },
  {
    name: 'multiple series is a spec problem: a failed check at once',
    in: input({ measurements: withSR(MULTI) }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message:
      'Holding at weight 10: request-success-rate query returned 3 series where one number was expected: aggregate it (e.g. sum(...)) (1/5 failed checks)',
  },
  // --- minRequests -----------------------------------------------------------------------------------
  {
    name: 'too few requests: inconclusive, whatever the value',
    in: input({ spec: spec({ metrics: [{ ...SR, minRequests: 50 }, DUR] }), measurements: withSR(v(50), { requests: v(12) }) }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 10: request-success-rate 12 requests < minRequests 50, 1/10 inconclusive',
  },
  {
    name: 'request count missing: inconclusive',
    in: input({ spec: spec({ metrics: [{ ...SR, minRequests: 50 }, DUR] }), measurements: withSR(v(99.9)) }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 10: request-success-rate request count not measured (minRequests 50), 1/10 inconclusive',
  },
  {
    name: 'request count empty: inconclusive',
    in: input({ spec: spec({ metrics: [{ ...SR, minRequests: 50 }, DUR] }), measurements: withSR(v(99.9), { requests: NO_DATA }) }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: /request count no data \(minRequests 50\)/,
  },
  {
    name: 'enough requests: judged on the value',
    in: input({ spec: spec({ metrics: [{ ...SR, minRequests: 50 }, DUR] }), measurements: withSR(v(98.2), { requests: v(50) }) }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: /request-success-rate 98.2% < 99/,
  },
  {
    name: 'an error on the request count query is a query error',
    in: input({ spec: spec({ metrics: [{ ...SR, minRequests: 50 }, DUR] }), measurements: withSR(v(99.9), { requests: ERR }) }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: /request-success-rate request count query error 1\/2: Timeout/,
    counters: { errorStreaks: { 'request-success-rate': 1 } },
  },
  // --- relative checks -------------------------------------------------------------------------------
  {
    name: 'relative difference within bounds: pass',
    in: input({
      spec: spec({ metrics: [{ name: 'request-duration', relative: { compare: 'difference', max: 50 } }] }),
      measurements: [m('request-duration', v(230), { stable: v(200) })],
    }),
    decision: { action: 'advance' },
    message: 'Advanced canary weight 10 -> 20: request-duration canary 230ms, stable 200ms: canary - stable = 30 <= 50',
  },
  {
    name: 'relative ratio above max: fail',
    in: input({
      spec: spec({ metrics: [{ name: 'request-duration', relative: { compare: 'ratio', max: 1.1 } }] }),
      measurements: [m('request-duration', v(260), { stable: v(200) })],
    }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: request-duration canary 260ms, stable 200ms: canary / stable = 1.3 > 1.1 (1/5 failed checks)',
  },
  {
    name: 'relative difference below min: fail',
    in: input({
      spec: spec({ metrics: [{ ...SR, thresholdRange: undefined, relative: { compare: 'difference', min: -0.5 } }] }),
      measurements: [m('request-success-rate', v(98.9), { stable: v(99.9) })],
    }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: /canary - stable = -1 < -0.5/,
  },
  {
    name: 'relative without stable data: inconclusive',
    in: input({
      spec: spec({ metrics: [{ name: 'request-duration', relative: { compare: 'ratio', max: 1.1 } }] }),
      measurements: [m('request-duration', v(230), { stable: NO_DATA })],
    }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: 'Holding at weight 10: request-duration stable no data (relative check needs it), 1/10 inconclusive',
  },
  {
    name: 'relative with the stable measurement absent: inconclusive',
    in: input({ spec: spec({ metrics: [{ name: 'request-duration', relative: { compare: 'ratio', max: 1.1 } }] }), measurements: [m('request-duration', v(230))] }),
    decision: { action: 'hold', reason: 'Inconclusive' },
  },
  {
    name: 'ratio against a stable of 0: inconclusive',
    in: input({
      spec: spec({ metrics: [{ name: 'error-rate', relative: { compare: 'ratio', max: 2 } }] }),
      measurements: [m('error-rate', v(0.5), { stable: v(0) })],
    }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: /canary \/ stable undefined \(stable is 0\)/,
  },
  {
    name: 'relative and range together: the range failing fails even when the relative check is inconclusive',
    in: input({
      spec: spec({ metrics: [{ name: 'request-duration', thresholdRange: { max: 500 }, relative: { compare: 'ratio', max: 1.1 } }] }),
      measurements: [m('request-duration', v(700), { stable: NO_DATA })],
    }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: /request-duration 700ms > 500; stable no data/,
  },
  {
    name: 'an error on the stable query is a query error',
    in: input({ spec: spec({ metrics: [{ name: 'request-duration', relative: { compare: 'ratio', max: 1.1 } }] }), measurements: [m('request-duration', v(230), { stable: ERR })] }),
    decision: { action: 'hold', reason: 'Inconclusive' },
    message: /request-duration stable query error 1\/2/,
  },
  // --- gates -----------------------------------------------------------------------------------------
  {
    name: 'a failed rollout gate is a failed check',
    in: input({ gates: [gate('rollout', false, 'load-test', 'p99 regression')] }),
    decision: { action: 'hold', reason: 'CheckFailed' },
    message: 'Holding at weight 10: gate "load-test" (rollout) failed: p99 regression (1/5 failed checks)',
    counters: { failedChecks: 1 },
  },
  {
    name: 'a failed rollout gate at the threshold rolls back',
    in: input({ gates: [gate('rollout', false)], statusOver: { failedChecks: 4 } }),
    decision: { action: 'rollback', reason: 'ThresholdReached' },
  },
  {
    name: 'a closed confirm-traffic-increase gate holds an advance, without a failure',
    in: input({ gates: [gate('rollout', true), gate('confirm-traffic-increase', false, 'approval', 'waiting for approval')], statusOver: { failedChecks: 2 } }),
    decision: { action: 'hold', reason: 'GateClosed' },
    message: 'Holding at weight 10: gate "approval" (confirm-traffic-increase) closed: waiting for approval',
    counters: { failedChecks: 2, inconclusiveChecks: 0 },
  },
  {
    name: 'an open confirm-traffic-increase gate lets the advance through',
    in: input({ gates: [gate('confirm-traffic-increase', true)] }),
    decision: { action: 'advance', toWeight: 20 },
  },
  {
    name: 'a closed confirm-promotion gate holds the promotion',
    in: input({ gates: [gate('confirm-promotion', false, 'release-manager', '')], statusOver: last }),
    decision: { action: 'hold', reason: 'GateClosed' },
    message: 'Holding at weight 50: gate "release-manager" (confirm-promotion) closed',
  },
  {
    name: 'confirm-promotion does not gate an advance, confirm-traffic-increase does not gate promotion',
    in: input({ gates: [gate('confirm-promotion', false)] }),
    decision: { action: 'advance' },
  },
  {
    name: 'confirm-traffic-increase does not gate promotion',
    in: input({ gates: [gate('confirm-traffic-increase', false)], statusOver: last }),
    decision: { action: 'promote' },
  },
  {
    name: 'gates do not open a failed analysis',
    in: input({ gates: [gate('confirm-traffic-increase', true)], measurements: withSR(v(90)) }),
    decision: { action: 'hold', reason: 'CheckFailed' },
  },
  {
    name: 'a closed confirm-rollout gate holds the start',
    in: input({ statusOver: { stepIndex: -1, canaryWeight: 0 }, gates: [gate('confirm-rollout', false)] }),
    decision: { action: 'hold', reason: 'GateClosed' },
  },
  // --- suspend, deadline, operator requests ----------------------------------------------------------
  {
    name: 'suspended: hold, counters untouched, nothing evaluated',
    in: input({
      spec: spec({}, { suspend: true }),
      measurements: withSR(v(10)),
      statusOver: { failedChecks: 2, inconclusiveChecks: 1, errorStreaks: { 'request-success-rate': 1 } },
    }),
    decision: { action: 'hold', reason: 'Suspended' },
    message: 'Rollout paused at canary weight 10',
    counters: { failedChecks: 2, inconclusiveChecks: 1, errorStreaks: { 'request-success-rate': 1 } },
  },
  {
    name: 'abort: rollback, even when suspended',
    in: input({ spec: spec({}, { suspend: true }), requests: { abort: true } }),
    decision: { action: 'rollback', reason: 'Aborted' },
    message: 'Rolling back: aborted by operator request',
  },
  {
    name: 'abort with the annotation value: says which request',
    in: input({ requests: { abort: 'now' } }),
    decision: { action: 'rollback', reason: 'Aborted' },
    message: 'Rollback requested by an operator (routeshift.io/abort=now)',
  },
  {
    name: 'abort wins over promote',
    in: input({ requests: { abort: true, promote: true } }),
    decision: { action: 'rollback', reason: 'Aborted' },
  },
  {
    name: 'promote request: promote, skipping a failing analysis',
    in: input({ requests: { promote: true }, measurements: withSR(v(50)), statusOver: { stepIndex: 1, canaryWeight: 20, failedChecks: 4 } }),
    decision: { action: 'promote', fromWeight: 20 },
    message: 'Promoting canary from weight 20: promotion requested by operator (analysis skipped)',
    counters: { failedChecks: 4 },
  },
  {
    name: 'promote request behind a closed confirm-promotion gate: hold',
    in: input({ requests: { promote: true }, gates: [gate('confirm-promotion', false)] }),
    decision: { action: 'hold', reason: 'GateClosed' },
  },
  {
    name: 'promote request while suspended: suspended',
    in: input({ spec: spec({}, { suspend: true }), requests: { promote: true } }),
    decision: { action: 'hold', reason: 'Suspended' },
  },
  {
    name: 'holding past progressDeadline rolls back',
    in: input({
      spec: spec({ progressDeadline: '10m' }),
      measurements: withSR(NO_DATA),
      statusOver: { stepIndex: 1, canaryWeight: 20, stepStartTime: new Date(T0 - 11 * 60_000).toISOString() },
    }),
    decision: { action: 'rollback', reason: 'ProgressDeadline' },
    message: 'Rolling back: no progress at weight 20 for 11m (progressDeadline 10m): request-success-rate no data (noData=hold), 1/10 inconclusive',
  },
  {
    name: 'a failed check past progressDeadline rolls back too',
    in: input({ spec: spec({ progressDeadline: '10m' }), measurements: withSR(v(97)), statusOver: { stepStartTime: new Date(T0 - 20 * 60_000).toISOString() } }),
    decision: { action: 'rollback', reason: 'ProgressDeadline' },
    counters: { failedChecks: 1 },
  },
  {
    name: 'holding within progressDeadline: hold',
    in: input({ spec: spec({ progressDeadline: '10m' }), measurements: withSR(NO_DATA), statusOver: { stepStartTime: new Date(T0 - 9 * 60_000).toISOString() } }),
    decision: { action: 'hold', reason: 'Inconclusive' },
  },
  {
    name: 'a closed gate is not subject to progressDeadline',
    in: input({
      spec: spec({ progressDeadline: '10m' }),
      gates: [gate('confirm-traffic-increase', false)],
      statusOver: { stepStartTime: new Date(T0 - 60 * 60_000).toISOString() },
    }),
    decision: { action: 'hold', reason: 'GateClosed' },
  },
  {
    name: 'progressDeadline does not stop a passing analysis',
    in: input({ spec: spec({ progressDeadline: '10m' }), statusOver: { stepStartTime: new Date(T0 - 60 * 60_000).toISOString() } }),
    decision: { action: 'advance' },
  },
];

describe('decide', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const frozen = JSON.stringify(c.in);
    const r = decide(c.in);
    expect(r.decision).toMatchObject(c.decision);
    if (typeof c.message === 'string') expect(r.decision.message).toBe(c.message);
    else if (c.message) expect(r.decision.message).toMatch(c.message);
    if (c.counters) expect(r.status).toMatchObject(c.counters);
    if (c.counters?.errorStreaks) expect(r.status.errorStreaks).toEqual(c.counters.errorStreaks);
    // Pure: the input is not modified, and the same input gives the same answer.
    expect(JSON.stringify(c.in)).toBe(frozen);
    expect(decide(c.in)).toEqual(r);
  });

  it('reports every metric with value, threshold, verdict and time', () => {
    const r = decide(input({ measurements: [m('request-success-rate', v(97.1)), m('request-duration', NO_DATA)] }));
    expect(r.reports).toEqual([
      { name: 'request-success-rate', value: 97.1, threshold: '>= 99', verdict: 'fail', message: '97.1% < 99', time: '2026-03-01T12:00:00.000Z' },
      { name: 'request-duration', threshold: '<= 500', verdict: 'inconclusive', message: 'no data (noData=hold)', time: '2026-03-01T12:00:00.000Z' },
    ]);
  });

  it('reports a query error as verdict error and a relative check with both values', () => {
    const r = decide(
      input({
        spec: spec({ metrics: [SR, { name: 'request-duration', relative: { compare: 'ratio', min: 0.5, max: 1.1 } }] }),
        measurements: [m('request-success-rate', ERR), m('request-duration', v(210), { stable: v(200) })],
      }),
    );
    expect(r.reports[0]).toMatchObject({ name: 'request-success-rate', verdict: 'error' });
    expect(r.reports[1]).toMatchObject({ value: 210, stableValue: 200, threshold: '0.5 <= canary / stable <= 1.1', verdict: 'pass' });
  });

  it('uses the measurement unit over the name heuristic', () => {
    const r = decide(input({ spec: spec({ metrics: [{ name: 'p99', thresholdRange: { max: 0.5 } }] }), measurements: [m('p99', v(0.212), { unit: 's' })] }));
    expect(r.decision.message).toBe('Advanced canary weight 10 -> 20: p99 0.212s <= 0.5');
  });

  it('walks a whole rollout: 5 passing ticks from 10 to promotion', () => {
    let status: CanaryStatus = { stepIndex: 0, canaryWeight: 10 };
    const moves: string[] = [];
    for (let tick = 0; tick < 10; tick++) {
      const r = decide(input({ status, now: T0 + tick * 60_000 }));
      const d = r.decision;
      moves.push(d.action === 'advance' ? `${d.toWeight}` : d.action);
      if (d.action !== 'advance') break;
      status = { ...status, ...r.status, stepIndex: d.stepIndex, canaryWeight: d.toWeight };
    }
    expect(moves).toEqual(['20', '30', '40', '50', 'promote']);
  });
});

describe('decide, sequential mode', () => {
  const SEQ: MetricSpec = { name: 'request-success-rate', mode: 'sequential' };
  const counts = (canaryTotal: number, canaryBad: number, stableTotal: number, stableBad: number): Measurement => ({
    name: 'request-success-rate',
    canary: NO_DATA,
    counts: { canaryTotal: v(canaryTotal), canaryBad: v(canaryBad), stableTotal: v(stableTotal), stableBad: v(stableBad) },
  });
  const seqInput = (meas: Measurement, statusOver: Partial<CanaryStatus> = {}, analysis: Partial<AnalysisSpec> = {}): DecisionInput =>
    input({ spec: spec({ metrics: [SEQ], ...analysis }), measurements: [meas], statusOver });

  it('rolls back at once when the canary is shown worse, whatever failedChecks', () => {
    const r = decide(seqInput(counts(300, 30, 2700, 3)));
    expect(r.decision).toMatchObject({ action: 'rollback', reason: 'SequentialWorse' });
    expect(r.decision.message).toMatch(/^Rolling back: request-success-rate canary 10% bad of 300 vs stable 0.11% bad of 2700: worse, canary - stable >= \+\d/);
    expect(r.status.failedChecks).toBe(0);
    expect(r.status.evidence).toEqual([
      expect.objectContaining({ name: 'request-success-rate', canaryTotal: 300, canaryBad: 30, stableTotal: 2700, stableBad: 3, verdict: 'worse' }),
    ]);
  });

  it('rolls back as Catastrophic when the canary alone is surely above the catastrophic rate', () => {
    const r = decide(seqInput(counts(200, 120, 1800, 2)));
    expect(r.decision).toMatchObject({ action: 'rollback', reason: 'Catastrophic' });
    expect(r.decision.message).toMatch(/> catastrophic 20%/);
  });

  it('handed to a person, the evidence keeps growing and a "worse" verdict still rolls back', () => {
    const evidence: SequentialEvidence[] = [{ name: 'request-success-rate', canaryTotal: 40, canaryBad: 0, stableTotal: 360, stableBad: 0, verdict: 'unknown' }];
    const pause = { inconclusiveLimit: 3, onInconclusiveLimit: 'pause' as const };
    const held = decide(seqInput(counts(10, 0, 90, 0), { ...last, inconclusiveChecks: 3, evidence }, pause));
    expect(held.decision).toMatchObject({ action: 'hold', reason: 'AwaitingDecision' });
    expect(held.status.evidence?.[0]).toMatchObject({ canaryTotal: 50, stableTotal: 450 });
    const worse = decide(seqInput(counts(300, 30, 2700, 3), { ...last, inconclusiveChecks: 3, evidence }, pause));
    expect(worse.decision).toMatchObject({ action: 'rollback', reason: 'SequentialWorse' });
  });

  it('advances at an intermediate step once the upper bound times the next weight is within the tolerance', () => {
    const r = decide(seqInput(counts(300, 0, 2700, 3)));
    expect(r.decision).toMatchObject({ action: 'advance', toWeight: 20 });
    expect(r.decision.message).toMatch(/not worse at weight 20, canary - stable <= \+[\d.]+pp \(99% confidence\), at most [\d.]+pp of all traffic <= 2pp/);
    // Too few requests to bound the harm at weight 20: hold, even with no bad request at all.
    const few = decide(seqInput(counts(8, 0, 72, 0)));
    expect(few.decision).toMatchObject({ action: 'hold', reason: 'Inconclusive' });
    expect(few.decision.message).toMatch(/not known yet at weight 20/);
  });

  it('says when promotion may come, at the traffic seen, when it advances', () => {
    const r = decide(seqInput(counts(300, 0, 2700, 3)));
    expect(r.forecast).toMatch(/^request-success-rate: at [\d.]+ canary rps, promotion needs about \d+ canary requests \(300 so far\): about \d+(s|m) at weight 50$/);
  });

  it('waits past the inconclusive limit while the evidence needed is on its way, then hands over', () => {
    // At the last step (50), 20 intervals in, 300 clean canary requests: about 330 are needed, 30 come per interval.
    const at = { ...last, inconclusiveChecks: 9, stepStartTime: new Date(T0 - 10 * 60_000).toISOString() };
    const r = decide(seqInput(counts(30, 0, 30, 0), { ...at, evidence: [{ name: 'request-success-rate', canaryTotal: 270, canaryBad: 0, stableTotal: 270, stableBad: 0, verdict: 'unknown' }] }));
    expect(r.decision).toMatchObject({ action: 'hold', reason: 'Inconclusive' });
    expect(r.decision.message).toMatch(/10\/10 inconclusive; waiting: request-success-rate at 0\.5 canary rps, promotion needs about \d+ canary requests \(300 so far\): about \d+/);
    expect(r.status.inconclusiveChecks).toBe(9);
    // A canary with no traffic gives no forecast: the time-out hands the rollout to a person.
    const quiet = decide(seqInput(counts(0, 0, 30, 0), { ...at, evidence: [{ name: 'request-success-rate', canaryTotal: 270, canaryBad: 0, stableTotal: 270, stableBad: 0, verdict: 'unknown' }] }));
    expect(quiet.decision).toMatchObject({ action: 'hold', reason: 'AwaitingDecision' });
  });

  it('holds at the last step until the evidence shows the canary within tolerance, then promotes', () => {
    const held = decide(seqInput(counts(100, 0, 100, 0), last));
    expect(held.decision).toMatchObject({ action: 'hold', reason: 'Inconclusive' });
    expect(held.decision.message).toMatch(/not known yet, canary - stable <= \+[\d.]+pp > tolerance 2pp/);
    expect(held.status.inconclusiveChecks).toBe(1);
    // The controller stores the evidence; the next tick adds to it.
    const status = { ...last, ...held.status };
    const done = decide(seqInput(counts(5000, 5, 5000, 4), status));
    expect(done.decision).toMatchObject({ action: 'promote', fromWeight: 50 });
    expect(done.status.evidence?.[0]).toMatchObject({ canaryTotal: 5100, canaryBad: 5, stableTotal: 5100, stableBad: 4, verdict: 'not-worse' });
  });

  it('continues from the evidence in status (a restarted controller)', () => {
    const evidence: SequentialEvidence[] = [
      { name: 'request-success-rate', canaryTotal: 280, canaryBad: 27, stableTotal: 2520, stableBad: 2, verdict: 'unknown' },
    ];
    const r = decide(seqInput(counts(20, 3, 180, 1), { evidence }));
    expect(r.status.evidence?.[0]).toMatchObject({ canaryTotal: 300, canaryBad: 30, stableTotal: 2700, stableBad: 3, verdict: 'worse' });
    expect(r.decision).toMatchObject({ action: 'rollback', reason: 'SequentialWorse' });
  });

  it('an interval without canary requests follows noData (hold by default)', () => {
    const r = decide(seqInput({ name: 'request-success-rate', canary: NO_DATA, counts: { canaryTotal: NO_DATA, canaryBad: NO_DATA, stableTotal: v(600), stableBad: NO_DATA } }));
    expect(r.decision).toMatchObject({ action: 'hold', reason: 'Inconclusive' });
    expect(r.decision.message).toMatch(/no canary requests this interval \(noData=hold\)/);
    expect(r.status.evidence?.[0]).toMatchObject({ canaryTotal: 0, stableTotal: 600 });
  });

  it('counts a query error on the counts like any query error', () => {
    const meas: Measurement = { ...counts(30, 0, 270, 0), counts: { ...counts(30, 0, 270, 0).counts!, stableBad: ERR } };
    const first = decide(seqInput(meas));
    expect(first.decision).toMatchObject({ action: 'hold', reason: 'Inconclusive' });
    expect(first.status.errorStreaks).toEqual({ 'request-success-rate': 1 });
    const second = decide(seqInput(meas, { errorStreaks: { 'request-success-rate': 1 } }));
    expect(second.decision).toMatchObject({ action: 'hold', reason: 'CheckFailed' });
  });

  it('fails the check when the template gives no counts (spec problem)', () => {
    const r = decide(seqInput({ name: 'request-success-rate', canary: v(99.9) }));
    expect(r.decision).toMatchObject({ action: 'hold', reason: 'CheckFailed' });
    expect(r.decision.message).toMatch(/sequential mode needs request counts/);
  });

  it('a sequential rollback wins over a failing threshold metric', () => {
    const r = decide(
      input({
        spec: spec({ metrics: [SEQ, DUR] }),
        measurements: [counts(300, 30, 2700, 3), m('request-duration', v(900))],
      }),
    );
    expect(r.decision).toMatchObject({ action: 'rollback', reason: 'SequentialWorse' });
  });

  it('keeps evidence of a metric not evaluated this tick and drops evidence of removed metrics', () => {
    const evidence: SequentialEvidence[] = [
      { name: 'request-success-rate', canaryTotal: 10, canaryBad: 0, stableTotal: 90, stableBad: 0, verdict: 'unknown' },
      { name: 'removed', canaryTotal: 10, canaryBad: 0, stableTotal: 90, stableBad: 0, verdict: 'unknown' },
    ];
    const r = decide(seqInput(counts(30, 0, 270, 0), { evidence }, { metrics: [SEQ] }));
    expect(r.status.evidence?.map((e) => e.name)).toEqual(['request-success-rate']);
    const suspended = decide(input({ spec: spec({ metrics: [SEQ] }, { suspend: true }), status: { stepIndex: 0, canaryWeight: 10, evidence } }));
    expect(suspended.status.evidence?.map((e) => e.name)).toEqual(['request-success-rate']);
  });
});
