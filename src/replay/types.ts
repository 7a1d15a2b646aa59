import type { MetricReport, RelativeCheck, SequentialEvidence, ThresholdRange } from '../api/canary.js';
import type { Decision } from '../analysis/types.js';

/** Where the canary weights of a replay come from. */
export type WeightSource = 'plan' | 'recorded';

/** One analysis interval of the replay: what the controller would have decided at `time`. */
export interface ReplayStep {
  time: string;
  /** 1-based number of the simulated rollout this step belongs to. */
  rollout: number;
  /** Canary weight while the interval was measured (before the decision). */
  weight: number;
  decision: Decision;
  reports: MetricReport[];
  failedChecks: number;
  inconclusiveChecks: number;
  /** Sequential metrics: the counts and test state carried to the next interval (status.evidence). */
  evidence?: SequentialEvidence[];
}

export interface ReplayRollout {
  index: number;
  start: string;
  end?: string;
  /** promoted / rolled-back by a decision; unfinished when the window (or, with recorded weights, the history) ended first. */
  outcome: 'promoted' | 'rolled-back' | 'unfinished';
  reason?: string;
}

/** What a chart needs to know about a metric: its bounds, in the unit of the value it draws. */
export interface ReplayMetricInfo {
  name: string;
  threshold: string;
  mode: 'threshold' | 'sequential';
  thresholdRange?: ThresholdRange;
  relative?: RelativeCheck;
  /** Sequential metrics: the tolerance in percentage points (the spec's, or the default). */
  tolerance?: number;
}

export interface ReplayResult {
  canary: { name: string; namespace: string };
  from: string;
  to: string;
  interval: string;
  weights: WeightSource;
  stableOnly: boolean;
  /** How the history was read: range queries (one request per query and chunk), or one instant query per step. */
  reads: 'range' | 'instant';
  metrics: ReplayMetricInfo[];
  steps: ReplayStep[];
  rollouts: ReplayRollout[];
  summary: { intervals: number; analysed: number; rollbacks: number; promotions: number; holds: number; advances: number };
}
