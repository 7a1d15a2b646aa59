import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { MetricProvider } from '../metrics/provider.js';
import type { ControllerConfig } from './config.js';
import type { Controller } from './controller.js';
import type { ControllerMetrics } from './metrics.js';
import { startHealthServer } from './server.js';

export interface ReadinessDeps {
  config: ControllerConfig;
  controller: Controller;
  prometheus: MetricProvider;
  metrics: ControllerMetrics;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
}

/**
 * /healthz, /readyz and /metrics. Ready once the informers synced and, on the leader, Prometheus has
 * answered once; after that readiness does not follow Prometheus (analysis holds on missing data by
 * itself, and flapping readiness helps nobody).
 */
export async function startReadiness(d: ReadinessDeps): Promise<{ port: number; close(): Promise<void> }> {
  let promAnswered = false;
  const health = await startHealthServer(d.config.server.host, d.config.server.port, d.metrics.registry, {
    live: () => true,
    ready: () => d.controller.synced && (!d.controller.isLeader || promAnswered),
  });
  void (async () => {
    let warned = false;
    while (!d.signal.aborted && !promAnswered) {
      try {
        await d.prometheus.ping(d.signal);
        promAnswered = true;
      } catch (err) {
        if (!warned) d.logger.warn({ err: errorMessage(err) }, 'Prometheus does not answer yet; analysis holds until it does');
        warned = true;
        await d.clock.sleep(5_000, d.signal).catch(() => undefined);
      }
    }
  })();
  return health;
}
