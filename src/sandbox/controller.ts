import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DEFAULT_CONFIG, type ControllerConfig } from '../controller/config.js';
import { startControllerRuntime } from '../controller/run.js';

/** The controller inside the sandbox process: same code path as `routeshift controller`, no Lease. */
export async function startInProcessController(opts: {
  kubeConfig: KubeConfig;
  prometheusUrl: string;
  logger: Logger;
  signal: AbortSignal;
  config?: Partial<ControllerConfig>;
}): Promise<{ stop: () => Promise<void>; metricsPort: number }> {
  const config: ControllerConfig = structuredClone(DEFAULT_CONFIG);
  // Everything in the sandbox listens on loopback, webhook receivers included.
  config.outbound = { ...config.outbound, allow: ['127.0.0.0/8', '::1'] };
  Object.assign(config, opts.config ?? {});
  config.prometheus = { ...config.prometheus, address: opts.prometheusUrl, timeout: '3s' };
  config.leaderElection = { ...config.leaderElection, enabled: false };
  config.server = { host: '127.0.0.1', port: 0 };
  const ac = new AbortController();
  const signal = AbortSignal.any([opts.signal, ac.signal]);
  const rt = await startControllerRuntime({ config, logger: opts.logger, signal, kubeConfig: opts.kubeConfig });
  return {
    metricsPort: rt.port,
    stop: async () => {
      ac.abort();
      await rt.done;
    },
  };
}
