import type { CanarySpec, CanaryStatus, HookType } from '../api/canary.js';
import { parseDuration } from '../core/duration.js';
import { isLastStep, stepsOf } from './steps.js';
import type { OperatorRequests } from './types.js';

/**
 * What a tick must gather before decide() can answer: which gates to run (stage by stage: a stage with a
 * closed or failed gate stops the later ones, so a pre-rollout check never runs before its rollout is
 * confirmed), whether to measure, and how long until the analysis is due. Part of the policy, so it lives
 * next to decide(); the controller only carries it out.
 */
export interface TickPlan {
  /** Ms until the tick is due (0: now). A not-yet-due tick gathers nothing and decides nothing. */
  dueInMs: number;
  /** Run the metric queries (only at a weight the mesh has programmed; the controller checks that first). */
  measure: boolean;
  gates: HookType[][];
}

/**
 * `earlyMs`: how long before its interval is up an analysis may run. The controller's tick grid rounds a next
 * tick down to a quarter second so canaries due together share one query; without this slack each analysis
 * would start a grid step after the last one's time plus the interval, and the rollout would drift a quarter
 * second per step (0.976 analyses per interval at 10 s).
 */
export function planTick(spec: CanarySpec, status: CanaryStatus, requests: OperatorRequests, now: number, earlyMs = 0): TickPlan {
  const nothing: TickPlan = { dueInMs: 0, measure: false, gates: [] };
  // Abort and suspension are decided without any measurement or gate, at once.
  if (requests.abort || spec.suspend) return nothing;
  const stepIndex = status.stepIndex ?? -1;
  const steps = stepsOf(spec.analysis);
  if (requests.promote) return { ...nothing, gates: [['confirm-promotion']] };
  if (stepIndex < 0) {
    // skipAnalysis (Flagger's behaviour): promote at the rollout's start, without pre-rollout checks, once the
    // rollout is confirmed and behind the confirm-promotion gate.
    return { ...nothing, gates: spec.skipAnalysis ? [['confirm-rollout'], ['confirm-promotion']] : [['confirm-rollout'], ['pre-rollout']] };
  }
  if (spec.skipAnalysis) return { ...nothing, gates: [['confirm-promotion']] };
  // The analysis window at this weight must be full before it is judged.
  const interval = parseDuration(spec.analysis.interval, 'spec.analysis.interval');
  const stepStart = Date.parse(status.stepStartTime ?? '') || now;
  const last = Math.max(stepStart, Date.parse(status.lastAnalysisTime ?? '') || 0);
  // A mirror or A/B iteration that leads to another at the same weight sends no more traffic: no confirm gate.
  const last_ = isLastStep(steps, stepIndex);
  const confirm: HookType[] = last_ ? ['confirm-promotion'] : (steps[stepIndex + 1] as number) > (steps[stepIndex] as number) ? ['confirm-traffic-increase'] : [];
  // The slack never takes more than a quarter of an interval (a 1 s interval on a 250 ms grid).
  const early = Math.min(earlyMs, interval / 4);
  return { dueInMs: Math.max(0, last + interval - now - early), measure: true, gates: [['rollout', ...confirm]] };
}

/**
 * When a rollout at a step is next due for analysis (epoch ms; may be in the past), from status alone; undefined
 * when it is not at a step being analysed, or the interval cannot be read (its tick reports that). A replica that
 * takes a canary over (a shard moved, the lease changed hands) queues it by this, so a canary already due keeps its
 * place instead of waiting behind the new owner's own backlog.
 */
export function analysisDueAt(spec: CanarySpec | undefined, status: CanaryStatus | undefined): number | undefined {
  if (!spec?.analysis || spec.suspend || spec.skipAnalysis || (status?.stepIndex ?? -1) < 0) return undefined;
  if (status?.phase !== 'Progressing' && status?.phase !== 'Waiting') return undefined;
  const stepStart = Date.parse(status.stepStartTime ?? '');
  if (!Number.isFinite(stepStart)) return undefined;
  try {
    return Math.max(stepStart, Date.parse(status.lastAnalysisTime ?? '') || 0) + parseDuration(spec.analysis.interval, 'spec.analysis.interval');
  } catch {
    return undefined;
  }
}
