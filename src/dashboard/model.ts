import type { Canary, Phase } from '../api/canary.js';
import type { EventSummary } from '../cli/render.js';
import { stepsOf } from '../analysis/steps.js';
import { orient } from '../controller/workload-slots.js';
import { parseDuration } from '../core/duration.js';

/**
 * What the dashboard shows, computed from Canaries and their Events without I/O, so the page and the
 * tests read the same numbers the server derives.
 */

export interface CanaryRow {
  key: string;
  namespace: string;
  name: string;
  phase: Phase | 'Unknown';
  stable: string;
  canary: string;
  canaryWeight: number | null;
  stableWeight: number | null;
  /** e.g. "2/4" (the step the rollout is at, of the steps there are); '' without a rollout. */
  step: string;
  failedChecks: number;
  threshold: number;
  /** Seconds since the Canary was created; null when the API server did not say. */
  ageSeconds: number | null;
  message: string;
}

export const canaryKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export function canaryRow(c: Canary, nowMs: number): CanaryRow {
  const s = c.status ?? {};
  const ns = c.metadata.namespace ?? 'default';
  let steps = 0;
  try {
    steps = stepsOf(c.spec.analysis ?? {}).length;
  } catch {
    // Malformed steps: the controller marks the Canary Invalid; the row shows no step.
  }
  // With spec.workloads, stable is whichever slot is live now.
  const { stable, canary } = orient(c).spec;
  const created = c.metadata.creationTimestamp ? Date.parse(c.metadata.creationTimestamp) : NaN;
  const weight = typeof s.canaryWeight === 'number' ? s.canaryWeight : null;
  return {
    key: canaryKey(ns, c.metadata.name),
    namespace: ns,
    name: c.metadata.name,
    phase: s.phase ?? 'Unknown',
    stable: stable?.name ?? '',
    canary: canary?.name ?? '',
    canaryWeight: weight,
    stableWeight: weight === null ? null : 100 - weight,
    // stepIndex counts from 0 (-1 before the first step), as `routeshift status` shows it.
    step: s.stepIndex === undefined || !steps ? '' : `${Math.min(steps, Math.max(0, s.stepIndex + 1))}/${steps}`,
    failedChecks: s.failedChecks ?? 0,
    threshold: c.spec.analysis?.threshold ?? 0,
    ageSeconds: Number.isNaN(created) ? null : Math.max(0, Math.floor((nowMs - created) / 1000)),
    message: s.message ?? c.status?.conditions?.find((x) => x.type === 'Ready')?.message ?? '',
  };
}

/** "42s", "5m", "3h", "2d": kubectl's AGE column, roughly. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** Event reasons that are a decision of the controller, drawn on the time line. */
const DECISIONS = new Set([
  'RolloutStarted',
  'WeightAdvanced',
  'AnalysisHeld',
  'CheckFailed',
  'AwaitingDecision',
  'PromotionStarted',
  'Promoted',
  'RollbackStarted',
  'RolledBack',
  'WeightRestored',
  'Paused',
  'Resumed',
  'InvalidSpec',
]);
const HOOKS = new Set(['HookFailed', 'WaitingForGate']);

export type DecisionKind = 'rollback' | 'promote' | 'failed-check' | 'other';

export interface Decision {
  /** Seconds since the epoch (the Event's last occurrence). */
  t: number;
  reason: string;
  message: string;
  kind: DecisionKind;
  count: number;
}

export function eventTime(e: EventSummary): number {
  const t = Date.parse(e.lastTimestamp ?? e.firstTimestamp ?? '');
  return Number.isNaN(t) ? 0 : t / 1000;
}

function kindOf(reason: string): DecisionKind {
  if (reason === 'RollbackStarted' || reason === 'RolledBack') return 'rollback';
  if (reason === 'PromotionStarted' || reason === 'Promoted') return 'promote';
  if (reason === 'CheckFailed') return 'failed-check';
  return 'other';
}

/** The decisions among a Canary's Events, oldest first. */
export function decisionsFrom(events: readonly EventSummary[]): Decision[] {
  return events
    .filter((e) => DECISIONS.has(e.reason))
    .map((e) => ({ t: eventTime(e), reason: e.reason, message: e.message, kind: kindOf(e.reason), count: e.count }))
    .sort((a, b) => a.t - b.t);
}

/** Webhook and gate outcomes: the controller reports them as Events (a pass is silent, so is a gate that opened). */
export function hookResultsFrom(events: readonly EventSummary[]): EventSummary[] {
  return events.filter((e) => HOOKS.has(e.reason)).sort((a, b) => eventTime(a) - eventTime(b));
}

/**
 * How often the dashboard may ask Prometheus: never faster than the shortest analysis interval of the
 * Canaries it shows (they change no faster), and at least every `ceilingMs` so the view stays current.
 */
export function pollIntervalMs(canaries: readonly Canary[], floorMs: number, ceilingMs: number): number {
  let shortest = Infinity;
  for (const c of canaries) {
    try {
      shortest = Math.min(shortest, parseDuration(c.spec.analysis.interval));
    } catch {
      // A malformed interval is the controller's to report; it does not speed the dashboard up.
    }
  }
  return Math.max(floorMs, Math.min(ceilingMs, shortest));
}
