import type { HookType, WebhookSpec } from '../api/canary.js';
import type { GateResult } from '../analysis/types.js';

/**
 * The JSON body POSTed to every webhook. A superset of Flagger's {name, namespace, phase, metadata},
 * so receivers written for Flagger (e.g. its load tester) read it unchanged.
 */
export interface HookPayload {
  /** The Canary's name and namespace. */
  name: string;
  namespace: string;
  /** The Canary's phase when the hook runs. */
  phase: string;
  /** Canary weight now (0..100). */
  weight: number;
  /** status.revision: what is being rolled out. */
  revision: string;
  /** Overwritten with the hook's own type when sent. */
  type: HookType;
  /** Controller-supplied values; the hook's own `metadata` is merged over them per hook. */
  metadata: Record<string, string>;
  message?: string;
}

export interface HookRunOptions {
  signal: AbortSignal;
  /** Whether the manual gates are open (the routeshift.io/approve annotation was set for this step). */
  approved: boolean;
}

export interface HookRunner {
  /** Calls one hook. Never throws: every failure is a result with passed=false and a message. */
  run(hook: WebhookSpec, payload: HookPayload, opts: HookRunOptions): Promise<GateResult>;
}

/** One finished HTTP call, for metrics (manual gates make no call and are not reported). */
export interface HookCall {
  type: HookType;
  name: string;
  ok: boolean;
  durationMs: number;
}
