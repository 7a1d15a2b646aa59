import type { CanarySpec, CanaryStatus, HookType, MetricReport, SequentialEvidence } from '../api/canary.js';
import type { QueryOutcome } from '../api/query-outcome.js';

/** What was measured for one Canary metric this tick (the "measuring" half; `decide` is the "assessing" half). */
export interface Measurement {
  name: string;
  /**
   * Unit of the canary value when known (a MetricTemplate's `unit`), for messages only: "%" or "percent"
   * print "99.8%", "ms"/"s" print durations. Absent: guessed from the metric name (report.ts).
   */
  unit?: string;
  /** The canary's value from the rendered query. */
  canary: QueryOutcome;
  /** The stable's value from the same template, for relative checks. */
  stable?: QueryOutcome;
  /** Request count behind the canary's value, for minRequests. */
  requests?: QueryOutcome;
  /** Counter increases over this interval, for the sequential mode. */
  counts?: {
    canaryTotal: QueryOutcome;
    canaryBad: QueryOutcome;
    stableTotal: QueryOutcome;
    stableBad: QueryOutcome;
  };
  /**
   * The stable's counts over the sequential metric's stableBaseline window before the rollout started; measured
   * only until status holds a baseline for the metric.
   */
  baseline?: { window: string; time: string; stableTotal: QueryOutcome; stableBad: QueryOutcome };
}

export interface GateResult {
  name: string;
  type: HookType;
  passed: boolean;
  message: string;
}

export interface DecisionInput {
  spec: CanarySpec;
  status: CanaryStatus;
  measurements: Measurement[];
  /** Results of the gates run this tick (rollout checks, and the confirm gate for the move being considered). */
  gates: GateResult[];
  /** Milliseconds since the epoch; decide() never reads a clock itself. */
  now: number;
  requests?: OperatorRequests;
  /**
   * Whether the mesh has programmed the current weight (checked at a step, not before the first one): an
   * unprogrammed weight is not judged, and waiting for it is bounded by progressDeadline.
   */
  route?: { programmed: boolean; message: string };
}

/**
 * Operator requests recognised this tick. `abort` may carry the annotation's value, for the message.
 * `resume`: a new approve request (`routeshift resume`), which also ends a hand-over.
 */
export interface OperatorRequests {
  promote?: boolean;
  abort?: boolean | string;
  resume?: boolean;
}

export type HoldReason =
  | 'Inconclusive' // no data, too few requests, or a not-yet-counted query error
  | 'CheckFailed' // a failed check below the threshold
  | 'GateClosed' // a confirm-* gate said no
  | 'AwaitingDecision' // inconclusiveLimit reached with onInconclusiveLimit: pause; a person decides
  | 'PreRolloutFailed' // a pre-rollout check failed, below the threshold
  | 'WaitingForRoute' // the mesh has not programmed the current weight yet
  | 'Suspended';

export type RollbackReason =
  | 'ThresholdReached' // failed checks reached analysis.threshold
  | 'InconclusiveLimit' // too long without an answer
  | 'ProgressDeadline'
  | 'SequentialWorse' // the sequential test concluded the canary is worse
  | 'Catastrophic' // far worse than stable, rolled back at once
  | 'Aborted'; // an operator asked

export type Decision =
  | { action: 'advance'; fromWeight: number; toWeight: number; stepIndex: number; message: string }
  | { action: 'promote'; fromWeight: number; message: string }
  | { action: 'hold'; reason: HoldReason; message: string }
  /**
   * `harm: false`: rolled back without evidence that the canary is worse (a time-out the user chose to end in a
   * rollback, a progress deadline while the analysis had no answer); the rollout ends TimedOut, not Failed.
   */
  | { action: 'rollback'; reason: RollbackReason; message: string; harm?: boolean };

/** decide()'s whole answer: the move, the per-metric report, and the counters to store in status. */
export interface DecisionResult {
  decision: Decision;
  reports: MetricReport[];
  status: Pick<CanaryStatus, 'failedChecks' | 'inconclusiveChecks' | 'errorStreaks'> & { evidence?: SequentialEvidence[] };
  /** When the sequential test may answer, for an Event at the rollout's start and at each step. */
  forecast?: string;
}
