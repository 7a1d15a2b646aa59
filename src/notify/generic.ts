import type { RolloutNotification } from './types.js';

/** The generic provider receives the notification itself, as documented in docs/webhooks.md. */
export function genericPayload(n: RolloutNotification): RolloutNotification {
  return { ...n, canary: { ...n.canary }, ...(n.metrics ? { metrics: n.metrics.map((m) => ({ ...m })) } : {}) };
}
