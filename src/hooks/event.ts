import type { AnalysisSpec } from '../api/canary.js';
import type { GateResult } from '../analysis/types.js';
import { hooksOfType, runGates } from './gates.js';
import type { HookPayload, HookRunner } from './types.js';

export interface HookEvent {
  /** Event reason constant, e.g. WeightAdvanced, RolledBack. */
  reason: string;
  type: 'Normal' | 'Warning';
  message: string;
  /** Milliseconds since the epoch. */
  time: number;
}

/**
 * Sends one Event to every `event` hook. Fire-and-forget: callers `void` the promise; it never rejects
 * and nothing waits on it, so a slow receiver cannot hold the rollout. The metadata keys eventMessage,
 * eventType and timestamp (unix ms) are the ones Flagger's event payload uses; eventReason is ours.
 */
export function notifyEventHook(
  runner: HookRunner,
  spec: AnalysisSpec | undefined,
  payload: Omit<HookPayload, 'type'>,
  event: HookEvent,
  opts: { signal: AbortSignal },
): Promise<GateResult[]> {
  const hooks = hooksOfType(spec, 'event');
  if (hooks.length === 0) return Promise.resolve([]);
  const body: HookPayload = {
    ...payload,
    type: 'event',
    message: event.message,
    metadata: {
      ...payload.metadata,
      eventReason: event.reason,
      eventType: event.type,
      eventMessage: event.message,
      timestamp: String(event.time),
    },
  };
  return runGates(runner, hooks, body, { signal: opts.signal, approved: false }).catch(() => []);
}
