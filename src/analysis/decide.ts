import { ANNOTATIONS, type SequentialEvidence } from '../api/canary.js';
import { formatPromDuration, parseDuration } from '../core/duration.js';
import { evaluateThresholdMetric } from './evaluate-metric.js';
import { closedGates, gateSummary } from './gates.js';
import { failureThreshold, handedOver, inconclusiveLimit, onInconclusiveLimit, PATIENCE, type MetricOutcome } from './policy.js';
import { evaluateSequentialMetric, requestsNeeded, sequentialParams, type Forecast, type Stage } from './sequential.js';
import { formatNumber } from './report.js';
import { describeStage, stagesOf, type TrafficStage } from './shapes.js';
import { isLastStep, nextStep, stepsOf, weightStepsOf } from './steps.js';
import type { Decision, DecisionInput, DecisionResult, GateResult } from './types.js';

/**
 * The assessing half of a tick: from what was measured, the spec and the counters in status, the move to
 * make and the counters to store. Pure: no I/O, no clock (input.now), same input → same answer.
 * The rules are written down in docs/analysis.md; the order of the checks below is part of them.
 */
export function decide(input: DecisionInput): DecisionResult {
  const { spec, status, gates, now } = input;
  const analysis = spec.analysis;
  const steps = stepsOf(analysis);
  const stepIndex = status.stepIndex ?? -1;
  const lastIndex = steps.length - 1;
  const weight = status.canaryWeight ?? (stepIndex >= 0 ? (steps[Math.min(stepIndex, lastIndex)] as number) : 0);
  const time = new Date(now).toISOString();
  const failedChecks = status.failedChecks ?? 0;
  // After the time-out handed the rollout to a person (onInconclusiveLimit: pause), `routeshift resume` starts a
  // new round of analyses; until someone decides, nothing moves up (rule 5).
  const limit = inconclusiveLimit(analysis);
  const resumed = handedOver(analysis, status) && input.requests?.resume === true;
  const waiting = handedOver(analysis, status) && !resumed;
  const inconclusiveChecks = resumed ? 0 : (status.inconclusiveChecks ?? 0);

  const promoteNext = stepIndex >= 0 && isLastStep(steps, stepIndex);
  const next = nextStep(steps, stepIndex);
  const intervalMs = parseDuration(analysis.interval, 'spec.analysis.interval');
  const stage: Stage = { promoteNext, nextWeight: next?.weight ?? 100, weight, intervalMs, lastWeight: steps[lastIndex] as number };
  const started = Date.parse(status.rolloutStartTime ?? '');
  if (Number.isFinite(started)) stage.sinceStartMs = now - started;

  let evaluation: Evaluation = carryOver(input);
  const result = (decision: Decision, counters: { failedChecks?: number; inconclusiveChecks?: number } = {}): DecisionResult => {
    const out: DecisionResult = {
      decision,
      reports: evaluation.outcomes.map((o) => o.report),
      status: {
        failedChecks: counters.failedChecks ?? failedChecks,
        inconclusiveChecks: counters.inconclusiveChecks ?? inconclusiveChecks,
        errorStreaks: evaluation.errorStreaks,
      },
    };
    if (evaluation.evidence) out.status.evidence = evaluation.evidence;
    return out;
  };
  const at = `at weight ${weight}`;
  const awaiting = (why: string, counters: { failedChecks?: number; inconclusiveChecks?: number } = {}): DecisionResult =>
    result(
      {
        action: 'hold',
        reason: 'AwaitingDecision',
        message: `Waiting for a decision ${at}: ${why} (onInconclusiveLimit: pause); routeshift resume analyses again, promote promotes, abort rolls back`,
      },
      counters,
    );
  const noAnswer = `no answer from the analysis in ${limit} intervals in a row`;

  // 1. Operator requests and suspension come before any analysis; counters and evidence stay as they were.
  const abort = input.requests?.abort;
  if (abort) {
    const message = typeof abort === 'string' ? `Rollback requested by an operator (${ANNOTATIONS.abort}=${abort})` : 'Rolling back: aborted by operator request';
    return result({ action: 'rollback', reason: 'Aborted', message });
  }
  if (spec.suspend) {
    const where = stepIndex < 0 ? `before its first step at canary weight ${weight}` : `at canary weight ${weight}`;
    return result({ action: 'hold', reason: 'Suspended', message: `Rollout paused ${where}` });
  }
  if (input.requests?.promote) {
    // The operator's call: analysis is skipped, but a closed confirm-promotion gate still holds.
    const closed = closedGates(gates, 'confirm-promotion');
    if (closed.length > 0) return gateHold(result, at, closed);
    return result({
      action: 'promote',
      fromWeight: weight,
      message: `Promoting canary from weight ${weight}: promotion requested by operator (analysis skipped)`,
    });
  }

  // 2. Before the first step: confirmed, checked, then the first weight (or, with skipAnalysis, the promotion).
  if (stepIndex < 0) return beforeFirstStep(input, result, weight, steps);

  // A weight the mesh has not programmed yet is not judged; waiting for it is bounded by progressDeadline.
  if (input.route && !input.route.programmed) {
    const overdue = overDeadline(input);
    if (overdue !== undefined) {
      return result({ action: 'rollback', reason: 'ProgressDeadline', harm: false, message: `Route not programmed within progressDeadline: ${input.route.message}` });
    }
    return result({ action: 'hold', reason: 'WaitingForRoute', message: `Waiting for the mesh to program canary weight ${weight}: ${input.route.message}` });
  }

  // skipAnalysis set during a rollout: promote now, as at the start (confirm-promotion still applies).
  if (spec.skipAnalysis) {
    const closed = closedGates(gates, 'confirm-promotion');
    if (closed.length > 0) return gateHold(result, at, closed);
    return result({ action: 'promote', fromWeight: weight, message: `Promoting canary from weight ${weight}: analysis skipped (skipAnalysis)` });
  }

  evaluation = evaluateMetrics(input, stage, time);
  const outcomes = evaluation.outcomes;

  // 3. The sequential test can end the rollout at once.
  const catastrophic = outcomes.filter((o) => o.rollback === 'Catastrophic');
  if (catastrophic.length > 0) {
    return result({ action: 'rollback', reason: 'Catastrophic', message: `Rolling back: ${summaries(catastrophic)}` });
  }
  const worse = outcomes.filter((o) => o.rollback === 'SequentialWorse');
  if (worse.length > 0) {
    return result({ action: 'rollback', reason: 'SequentialWorse', message: `Rolling back: ${summaries(worse)}` });
  }

  // 4. Failed checks: metrics, and failed rollout gates.
  const failedGates = closedGates(gates, 'rollout');
  const failed = [...outcomes.filter((o) => o.effect === 'fail').map((o) => o.summary), ...failedGates.map((g) => gateSummary(g, 'failed'))];
  if (failed.length > 0) {
    const count = failedChecks + 1;
    const threshold = failureThreshold(analysis);
    const tally = `(${count}/${threshold} failed checks)`;
    if (count >= threshold) {
      return result(
        { action: 'rollback', reason: 'ThresholdReached', message: `Rolling back: ${failed.join(', ')} ${tally}` },
        { failedChecks: count, inconclusiveChecks: 0 },
      );
    }
    if (waiting) return awaiting(`${noAnswer}; since then ${failed.join(', ')} ${tally}`, { failedChecks: count });
    return holdOrDeadline(input, result, at, `${failed.join(', ')} ${tally}`, 'CheckFailed', { failedChecks: count, inconclusiveChecks: 0 });
  }

  // 5. Handed to a person: the analysis goes on (and may still roll back above), but nothing moves up.
  if (waiting) return awaiting(noAnswer);

  // 6. No answer: too little data, no data, or a query error not counted yet. At inconclusiveLimit the rollout
  // times out: a rollback, or a hand-over to a person (onInconclusiveLimit: pause).
  const inconclusive = outcomes.filter((o) => o.effect === 'inconclusive');
  if (inconclusive.length > 0) {
    const count = inconclusiveChecks + 1;
    const tally = `${count}/${limit} inconclusive`;
    if (count >= limit) {
      // The time-out comes from the evidence: while every metric without an answer expects one within twice
      // the time the rollout has spent at this weight, it waits (the count stays just below the limit).
      const spent = Math.max(input.now - (Date.parse(status.stepStartTime ?? '') || input.now), count * intervalMs);
      const expected = expectedAnswer(inconclusive, PATIENCE * spent);
      if (expected !== undefined) {
        return holdOrDeadline(input, result, at, `${summaries(inconclusive)}, ${tally}; ${expected}`, 'Inconclusive', { inconclusiveChecks: limit - 1 });
      }
      const noEvidence = `${summaries(inconclusive)}, ${tally}`;
      if (onInconclusiveLimit(analysis) === 'pause') return awaiting(noEvidence, { inconclusiveChecks: count });
      return result(
        { action: 'rollback', reason: 'InconclusiveLimit', harm: false, message: `Rolling back without evidence of harm (onInconclusiveLimit: rollback): ${noEvidence}` },
        { inconclusiveChecks: count },
      );
    }
    return holdOrDeadline(input, result, at, `${summaries(inconclusive)}, ${tally}`, 'Inconclusive', { inconclusiveChecks: count });
  }

  // 7. Everything passed: the next step, or promotion after the last one, each behind its confirm gate.
  const passed = outcomes.length > 0 ? summaries(outcomes) : 'no metrics to check';
  const stages = stagesOf(analysis, weightStepsOf(analysis));
  const here = stages[Math.min(stepIndex, stages.length - 1)];
  if (next === undefined || promoteNext) {
    const closed = closedGates(gates, 'confirm-promotion');
    if (closed.length > 0) return gateHold(result, at, closed);
    const from = here && here.kind !== 'weight' ? `after ${describeStage(here)}` : `from weight ${weight}`;
    return result({ action: 'promote', fromWeight: weight, message: `Promoting canary ${from}: ${passed}` }, { inconclusiveChecks: 0 });
  }
  const closed = closedGates(gates, 'confirm-traffic-increase');
  if (closed.length > 0) return gateHold(result, at, closed);
  const advanced = result(
    { action: 'advance', fromWeight: weight, toWeight: next.weight, stepIndex: next.stepIndex, message: `${advanceText(weight, next.weight, stages[next.stepIndex])}: ${passed}` },
    { inconclusiveChecks: 0 },
  );
  const forecast = promotionForecasts(outcomes, steps[lastIndex] as number);
  if (forecast) advanced.forecast = forecast;
  return advanced;
}

/** "Advanced canary weight 10 -> 20", or the stage a mirror or A/B iteration moves to. */
function advanceText(from: number, to: number, stage: TrafficStage | undefined): string {
  if (stage === undefined || stage.kind === 'weight') return `Advanced canary weight ${from} -> ${to}`;
  return stage.kind === 'mirror' ? `Mirroring to the canary, ${describeStage(stage)}` : `Matched traffic on the canary, ${describeStage(stage)}`;
}

type ResultFn = (decision: Decision, counters?: { failedChecks?: number; inconclusiveChecks?: number }) => DecisionResult;

function summaries(outcomes: readonly MetricOutcome[]): string {
  return outcomes.map((o) => o.summary).join(', ');
}

/**
 * "answer expected in about 25s (...)" when every metric without an answer is a sequential one whose evidence
 * should be complete within `spentMs` more at its current rate; undefined otherwise (a threshold metric without
 * data, a canary without traffic, a canary whose share so far no amount of traffic would clear).
 */
function expectedAnswer(inconclusive: readonly MetricOutcome[], spentMs: number): string | undefined {
  const parts: string[] = [];
  for (const o of inconclusive) {
    const f = o.forecast?.();
    if (!f || f.etaMs === undefined || f.etaMs > spentMs) return undefined;
    parts.push(`${o.report.name} ${forecastText(f)}`);
  }
  return parts.length > 0 ? `waiting: ${parts.join('; ')}` : undefined;
}

/** "at 3.2 canary rps, promotion needs about 330 clean requests (279 so far): about 4s at weight 60". */
export function forecastText(f: Forecast, weight?: number): string {
  const what = f.target === 'promotion' ? 'promotion' : `weight ${f.target}`;
  const needs = f.needed === Infinity ? 'cannot be shown at the shares seen so far' : `needs about ${Math.round(f.needed)} canary requests (${f.have} so far)`;
  const rate = f.ratePerSec > 0 ? `at ${formatNumber(f.ratePerSec, 1)} canary rps, ` : '';
  const eta = f.etaMs === undefined ? '' : `: about ${humanDuration(f.etaMs)}${weight !== undefined ? ` at weight ${weight}` : ''}`;
  return `${rate}${what} ${needs}${eta}`;
}

function humanDuration(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m}m` : `${formatNumber(m / 60, 1)}h`;
}

/** The promotion forecasts of the sequential metrics, for the Event that goes with a move. */
function promotionForecasts(outcomes: readonly MetricOutcome[], lastWeight: number): string | undefined {
  const parts = outcomes.flatMap((o) => {
    const f = o.promotionForecast?.();
    return f ? [`${o.report.name}: ${forecastText(f, lastWeight)}`] : [];
  });
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** A closed confirm gate waits for a person or a webhook: it is not a failure and not subject to the deadline. */
function gateHold(result: ResultFn, at: string, closed: GateResult[]): DecisionResult {
  return result(
    { action: 'hold', reason: 'GateClosed', message: `Holding ${at}: ${closed.map((g) => gateSummary(g, 'closed')).join(', ')}` },
    { inconclusiveChecks: 0 },
  );
}

/** An analysis hold, unless the weight has not moved for longer than progressDeadline. */
function holdOrDeadline(
  input: DecisionInput,
  result: ResultFn,
  at: string,
  why: string,
  reason: 'CheckFailed' | 'Inconclusive',
  counters: { failedChecks?: number; inconclusiveChecks?: number },
): DecisionResult {
  const held = overDeadline(input);
  if (held !== undefined) {
    const deadline = input.spec.analysis.progressDeadline;
    return result(
      {
        action: 'rollback',
        reason: 'ProgressDeadline',
        harm: reason === 'CheckFailed',
        message: `Rolling back: no progress ${at} for ${formatPromDuration(held)} (progressDeadline ${deadline}): ${why}`,
      },
      counters,
    );
  }
  return result({ action: 'hold', reason, message: `Holding ${at}: ${why}` }, counters);
}

/** Ms the weight has not moved, when that is longer than progressDeadline; undefined otherwise. */
function overDeadline(input: DecisionInput): number | undefined {
  const deadline = input.spec.analysis.progressDeadline;
  const since = input.status.stepStartTime ? Date.parse(input.status.stepStartTime) : NaN;
  if (deadline === undefined || !Number.isFinite(since)) return undefined;
  const held = input.now - since;
  return held > parseDuration(deadline, 'spec.analysis.progressDeadline') ? held : undefined;
}

/**
 * Rule 2: before the first step. A closed confirm-rollout gate waits; with skipAnalysis the rollout is promoted
 * at once behind its confirm-promotion gate (Flagger's behaviour: no pre-rollout checks, no analysis); a failed
 * pre-rollout check counts toward the threshold; then the first weight.
 */
function beforeFirstStep(input: DecisionInput, result: ResultFn, weight: number, steps: number[]): DecisionResult {
  const { gates, spec } = input;
  const confirm = closedGates(gates, 'confirm-rollout');
  if (confirm.length > 0) {
    return result({ action: 'hold', reason: 'GateClosed', message: `Waiting for confirm-rollout: ${confirm.map((g) => g.message).join('; ')}` });
  }
  if (spec.skipAnalysis) {
    const closed = closedGates(gates, 'confirm-promotion');
    if (closed.length > 0) return gateHold(result, `at weight ${weight}`, closed);
    return result({ action: 'promote', fromWeight: weight, message: `Promoting without analysis (skipAnalysis): canary weight ${weight} -> 100` });
  }
  const failed = closedGates(gates, 'pre-rollout');
  if (failed.length > 0) {
    const count = (input.status.failedChecks ?? 0) + 1;
    const threshold = failureThreshold(spec.analysis);
    const why = failed.map((g) => g.message).join('; ');
    if (count >= threshold) {
      return result({ action: 'rollback', reason: 'ThresholdReached', message: `Pre-rollout checks failed ${count}/${threshold}: ${why}` }, { failedChecks: count });
    }
    return result({ action: 'hold', reason: 'PreRolloutFailed', message: `Pre-rollout check failed (${count}/${threshold}): ${why}` }, { failedChecks: count });
  }
  const increase = closedGates(gates, 'confirm-traffic-increase');
  if (increase.length > 0) return gateHold(result, `at weight ${weight}`, increase);
  const first = steps[0] as number;
  const stage = stagesOf(spec.analysis, weightStepsOf(spec.analysis))[0];
  const message =
    stage && stage.kind !== 'weight'
      ? `${advanceText(weight, first, stage)} (the weighted rule stays at canary ${first})`
      : weight === first
        ? `Canary weight is at the first step, ${first} (step 1/${steps.length})`
        : `Shifted canary weight ${weight} -> ${first} (step 1/${steps.length})`;
  const started = result({ action: 'advance', fromWeight: weight, toWeight: first, stepIndex: 0, message }, { inconclusiveChecks: 0 });
  const needs = (spec.analysis.metrics ?? [])
    .filter((m) => m.mode === 'sequential')
    .map((m) => {
      const p = sequentialParams(m.sequential);
      const n = requestsNeeded({ canaryTotal: 0, canaryBad: 0, stableTotal: 0, stableBad: 0 }, p, p.tolerance, first);
      return `${m.name}: promotion needs about ${n ?? '?'} clean canary requests (tolerance ${formatNumber(p.tolerance * 100)}pp, badPromotion ${p.badPromotion}); the time to gather them is announced at each step`;
    });
  if (needs.length > 0) started.forecast = needs.join('; ');
  return started;
}

interface Evaluation {
  outcomes: MetricOutcome[];
  errorStreaks: Record<string, number>;
  evidence: SequentialEvidence[] | undefined;
}

function evaluateMetrics(input: DecisionInput, stage: Stage, time: string): Evaluation {
  const metrics = input.spec.analysis.metrics ?? [];
  const byName = new Map(input.measurements.map((m) => [m.name, m]));
  const previousStreaks = input.status.errorStreaks ?? {};
  const previousEvidence = new Map((input.status.evidence ?? []).map((e) => [e.name, e]));
  const outcomes: MetricOutcome[] = [];
  const errorStreaks: Record<string, number> = {};
  const evidence: SequentialEvidence[] = [];
  for (const metric of metrics) {
    const m = byName.get(metric.name);
    const streak = previousStreaks[metric.name] ?? 0;
    const o =
      metric.mode === 'sequential'
        ? evaluateSequentialMetric(metric, m, previousEvidence.get(metric.name), streak, time, stage)
        : evaluateThresholdMetric(metric, m, streak, time);
    outcomes.push(o);
    if (o.errorStreak > 0) errorStreaks[metric.name] = o.errorStreak;
    if (metric.mode === 'sequential') {
      const e = o.evidence ?? previousEvidence.get(metric.name);
      if (e) evidence.push(e);
    }
  }
  const hasSequential = metrics.some((m) => m.mode === 'sequential');
  return { outcomes, errorStreaks, evidence: hasSequential || input.status.evidence ? evidence : undefined };
}

/** No analysis this tick: counters and evidence stay as they were. */
function carryOver(input: DecisionInput): Evaluation {
  const names = new Set((input.spec.analysis.metrics ?? []).map((m) => m.name));
  const errorStreaks: Record<string, number> = {};
  for (const [name, n] of Object.entries(input.status.errorStreaks ?? {})) if (names.has(name) && n > 0) errorStreaks[name] = n;
  const evidence = input.status.evidence?.filter((e) => names.has(e.name));
  return { outcomes: [], errorStreaks, evidence };
}

