import type { AlertSpec } from '../api/canary.js';

export type Severity = 'info' | 'warn' | 'error';
export type AlertProvider = AlertSpec['provider'];

/** One thing worth telling people about a rollout, rendered per provider by the formatters. */
export interface RolloutNotification {
  canary: { name: string; namespace: string };
  /** Event reason constant, e.g. WeightAdvanced, RolledBack. */
  reason: string;
  /** Human text that carries the values and thresholds behind the event. */
  message: string;
  severity: Severity;
  phase: string;
  weight: number;
  revision?: string;
  /** RFC 3339. */
  time: string;
  metrics?: NotificationMetric[];
}

export interface NotificationMetric {
  name: string;
  value?: number;
  threshold: string;
  verdict: string;
}

export interface Notifier {
  /**
   * Queues `n` for every alert whose severity filter admits it and returns at once; never throws.
   * An alert's URL is its `url`, else whatever the notifier's resolveUrl returns (a Secret lookup).
   */
  notify(n: RolloutNotification, alerts: AlertSpec[]): void;
}

/** The outcome of one send, for the controller's counters. */
export interface NotifyResult {
  provider: AlertProvider;
  /** The alert's name in the Canary. */
  alert: string;
  ok: boolean;
  /** HTTP status when there was an answer. */
  status?: number;
  /** Why it failed, when it did. */
  error?: string;
  /** The message was dropped unsent because the queue was full. */
  dropped?: boolean;
}

export interface NotifierStats {
  queued: number;
  inFlight: number;
  sent: number;
  failed: number;
  dropped: number;
}
