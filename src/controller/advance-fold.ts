import type { OwedEvent } from '../api/canary.js';
import type { RecordedEvent } from '../events/recorder.js';

/**
 * Folding of WeightAdvanced Events (docs/events.md#weightadvanced): a canary stepping faster than the
 * controller's events.advanceWindow gets one Event for several consecutive steps, as client-go's event
 * correlator combines similar Events. Pure rules; the bookkeeping is in event-ledger.ts.
 */

/** The weights a WeightAdvanced Event covers, in order ("20,30,40"), so tools can expand a folded Event. */
export const STEPS_ANNOTATION = 'routeshift.io/steps';

/** One weight step, as moveTo takes it. */
export interface AdvanceStep {
  /** The Event name this step would have on its own (a fold keeps its first step's). */
  name: string;
  message: string;
  from: number;
  to: number;
  /** When the step was taken (ISO). */
  at: string;
}

/**
 * Steps one Event may cover: ceil(window / interval) for a canary whose interval is shorter than the
 * window, else 1 (each step its own Event at once). Fixed by the spec, so timing never decides it.
 */
export function foldSize(windowMs: number, intervalMs: number): number {
  if (!(windowMs > 0) || !(intervalMs > 0) || intervalMs >= windowMs) return 1;
  return Math.ceil(windowMs / intervalMs);
}

/** A folded debt: a WeightAdvanced debt that lists its steps (even a single one). */
export function isFold(debt: OwedEvent | undefined): debt is OwedEvent & { steps: number[] } {
  return debt !== undefined && debt.reason === 'WeightAdvanced' && Array.isArray(debt.steps) && debt.steps.length > 0;
}

/** A fold of one step: the step's own message, so an Event that ends up covering it alone reads as today's. */
export function startFold(step: AdvanceStep): OwedEvent {
  return { name: step.name, reason: 'WeightAdvanced', message: step.message, count: 1, from: step.from, steps: [step.to], firstTime: step.at, lastTime: step.at };
}

/** The fold taken one step further: its name and first time stay, count, steps, message and last time follow. */
export function extendFold(debt: OwedEvent, step: AdvanceStep): OwedEvent {
  const steps = [...(debt.steps ?? []), step.to];
  return { ...debt, count: steps.length, steps, lastTime: step.at, message: foldMessage(debt.from ?? 0, steps, step.message) };
}

/**
 * "Advanced canary weight 10 -> 40 in 3 steps (20, 30, 40); last step: <verdict>": the usual shape first
 * (readers take the target from `-> N`), then the count, the weights and the last step's analysis verdict.
 */
export function foldMessage(from: number, steps: readonly number[], last: string): string {
  const colon = last.indexOf(': ');
  const verdict = colon >= 0 ? `; last step: ${last.slice(colon + 2)}` : '';
  return `Advanced canary weight ${from} -> ${steps.at(-1) ?? from} in ${steps.length} steps (${steps.join(', ')})${verdict}`;
}

/** Whether a fold must be written now: it covers k steps, or it is a window old (the rollout holds or waits). */
export function foldDue(debt: OwedEvent, k: number, windowMs: number, now: number): boolean {
  return (debt.count ?? 1) >= k || !(now - Date.parse(debt.firstTime ?? '') < windowMs);
}

/** Milliseconds until a fold falls due by age (0: now). */
export function foldDueIn(debt: OwedEvent, windowMs: number, now: number): number {
  const age = now - Date.parse(debt.firstTime ?? '');
  return Number.isFinite(age) ? Math.max(0, windowMs - age) : 0;
}

/** What an Event written for the debt carries beyond name, reason and message: the fold's count, times and steps. */
export function foldRecord(debt: OwedEvent): Pick<RecordedEvent, 'count' | 'firstTime' | 'lastTime' | 'annotations' | 'logged' | 'fields'> {
  if (!isFold(debt)) return {};
  return {
    count: debt.steps.length,
    ...(debt.firstTime ? { firstTime: debt.firstTime } : {}),
    ...(debt.lastTime ? { lastTime: debt.lastTime } : {}),
    annotations: { [STEPS_ANNOTATION]: debt.steps.join(',') },
    logged: true,
    fields: { from: debt.from, to: debt.steps.at(-1), steps: debt.steps },
  };
}
