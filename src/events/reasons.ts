/**
 * Every Event routeshift emits has one of these reasons, so `kubectl get events --field-selector
 * reason=RolledBack` and alert rules can rely on them (Flagger reports nearly everything as "Synced").
 * docs/events.md lists when each is emitted; a test keeps the two in step.
 */
export const Reason = {
  RolloutStarted: 'RolloutStarted',
  WeightAdvanced: 'WeightAdvanced',
  AnalysisHeld: 'AnalysisHeld',
  CheckFailed: 'CheckFailed',
  WaitingForRoute: 'WaitingForRoute',
  WaitingForGate: 'WaitingForGate',
  AwaitingDecision: 'AwaitingDecision',
  PromotionStarted: 'PromotionStarted',
  Promoted: 'Promoted',
  RollbackStarted: 'RollbackStarted',
  RolledBack: 'RolledBack',
  RouteMismatch: 'RouteMismatch',
  WeightRestored: 'WeightRestored',
  InvalidSpec: 'InvalidSpec',
  MetricsUnavailable: 'MetricsUnavailable',
  Paused: 'Paused',
  Resumed: 'Resumed',
  HookFailed: 'HookFailed',
  // Releases from the workload (spec.workloads)
  WorkloadNotReady: 'WorkloadNotReady',
  WorkloadDeadlineExceeded: 'WorkloadDeadlineExceeded',
  SlotsSwapped: 'SlotsSwapped',
  LiveWorkloadChanged: 'LiveWorkloadChanged',
  RefNotPermitted: 'RefNotPermitted',
  DecisionForecast: 'DecisionForecast',
  // The native load source (rollout hooks with a hey command and no url)
  LoadStarted: 'LoadStarted',
  LoadStopped: 'LoadStopped',
} as const;

export type Reason = (typeof Reason)[keyof typeof Reason];

export type EventType = 'Normal' | 'Warning';

const WARNINGS: ReadonlySet<Reason> = new Set<Reason>([
  Reason.CheckFailed,
  Reason.RollbackStarted,
  Reason.RolledBack,
  Reason.RouteMismatch,
  Reason.WeightRestored,
  Reason.InvalidSpec,
  Reason.MetricsUnavailable,
  Reason.HookFailed,
  Reason.AwaitingDecision,
  Reason.WorkloadDeadlineExceeded,
  Reason.LiveWorkloadChanged,
  Reason.RefNotPermitted,
]);

export function eventTypeOf(reason: Reason): EventType {
  return WARNINGS.has(reason) ? 'Warning' : 'Normal';
}

export function severityOf(reason: Reason): 'info' | 'warn' | 'error' {
  if (reason === Reason.RolledBack || reason === Reason.RollbackStarted || reason === Reason.InvalidSpec || reason === Reason.RefNotPermitted) return 'error';
  return WARNINGS.has(reason) ? 'warn' : 'info';
}
