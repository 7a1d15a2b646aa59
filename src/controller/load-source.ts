import type { Logger } from 'pino';
import type { Canary } from '../api/canary.js';
import type { Clock } from '../core/clock.js';
import { Reason } from '../events/reasons.js';
import type { Recorder } from '../events/recorder.js';
import type { OutboundPolicy } from '../hooks/outbound.js';
import { rolloutStopReason } from '../load/hook.js';
import { LoadManager } from '../load/manager.js';
import type { ControllerConfig } from './config.js';
import type { ControllerMetrics } from './metrics.js';

/**
 * The native load source, bound to the controller: its caps from the config, its target checked by the
 * webhooks' outbound policy, an Event when a load starts or stops, and the Canary as the informer sees it
 * (undefined when it is gone or this replica does not lead) to stop the load when the rollout ends.
 */
export function buildLoadSource(o: {
  config: ControllerConfig;
  outbound: OutboundPolicy;
  recorder: Recorder;
  metrics: ControllerMetrics;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
  canary: (namespace: string, name: string) => Canary | undefined;
}): LoadManager {
  const load = new LoadManager({
    clock: o.clock,
    policy: o.outbound,
    caps: { perCanary: o.config.load.maxRpsPerCanary, total: o.config.load.maxRps },
    logger: o.logger.child({ component: 'load' }),
    stopReason: (ns, name) => {
      const c = o.canary(ns, name);
      return c ? rolloutStopReason(c) : 'the Canary is gone (deleted, out of the watch, or this replica no longer leads)';
    },
    onEvent: (e) => {
      void o.recorder.record({ object: e.canary, reason: e.kind === 'started' ? Reason.LoadStarted : Reason.LoadStopped, message: e.message, fields: { hook: e.hook } }, o.signal);
    },
    onResult: (namespace, name, result) => o.metrics.loadRequests.inc({ namespace, name, result }),
    // A deleted Canary's series are gone already (forgetCanary): a load stopping after it must not bring one back.
    onRate: (namespace, name, rps) => (rps > 0 || o.canary(namespace, name) ? o.metrics.loadRate.set({ namespace, name }, rps) : o.metrics.loadRate.remove({ namespace, name })),
  });
  // At once on shutdown, not after the ticks in flight have drained.
  if (o.signal.aborted) void load.stopAll();
  else o.signal.addEventListener('abort', () => void load.stopAll(), { once: true });
  return load;
}
