import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { parseDuration } from '../core/duration.js';
import { createMetricProvider } from '../metrics/index.js';
import { BatchingProvider } from '../metrics/batch.js';
import type { MetricProvider } from '../metrics/provider.js';
import type { OutboundPolicy } from '../hooks/outbound.js';
import { templateProvider } from './template-provider.js';
import type { ControllerConfig } from './config.js';
import type { ControllerMetrics } from './metrics.js';

export interface Providers {
  /** The configured Prometheus, with its credentials (pinged for readiness). */
  main: ReturnType<typeof createMetricProvider>;
  /** What the analysis measures through: `main`, batched when prometheus.batchWindow is set. */
  measuring: MetricProvider;
  /** The provider of a template naming its own Prometheus address. */
  providerFor: (address: string) => MetricProvider;
  close(): void;
}

function secretFile(path: string | undefined): string | undefined {
  return path ? readFileSync(path, 'utf8').trim() : undefined;
}

/** The Prometheus providers of config.prometheus: credentials read from their files, request timings recorded. */
export function buildProviders(config: ControllerConfig, metrics: ControllerMetrics, logger: Logger, outbound: OutboundPolicy): Providers {
  const prom = config.prometheus;
  const timeoutMs = parseDuration(prom.timeout);
  const password = prom.basicAuth?.password ?? secretFile(prom.basicAuth?.passwordFile);
  const main = createMetricProvider({
    address: prom.address,
    timeoutMs,
    retries: prom.retries,
    ...(prom.bearerToken || prom.bearerTokenFile ? { bearerToken: prom.bearerToken ?? secretFile(prom.bearerTokenFile) } : {}),
    ...(prom.basicAuth ? { basicAuth: { username: prom.basicAuth.username, password: password ?? '' } } : {}),
    ...(prom.headers ? { headers: prom.headers } : {}),
    ...(prom.caFile ? { caFile: prom.caFile } : {}),
    ...(prom.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
    onRequest: (e) => metrics.promRequests.observe({ outcome: e.outcome }, e.durationMs / 1000),
    logger,
  });
  // A template naming its own Prometheus gets a provider of its own (cached per address), with the
  // same timeouts but none of the configured credentials, which belong to the configured address, and
  // held to the outbound policy (a tenant may write that address).
  const others = new Map<string, MetricProvider & { close(): void }>();
  const providerFor = (address: string): MetricProvider => {
    let p = others.get(address);
    if (!p) {
      p = templateProvider({ address, timeoutMs, retries: prom.retries, logger }, outbound);
      others.set(address, p);
    }
    return p;
  };
  // Opt-in query batching (src/metrics/batch.ts): the queries of ticks starting within one window share a request.
  const measuring = prom.batchWindow ? new BatchingProvider(main, { windowMs: parseDuration(prom.batchWindow, 'prometheus.batchWindow'), logger }) : main;
  return {
    main,
    measuring,
    providerFor,
    close: () => {
      main.close();
      for (const p of others.values()) p.close();
    },
  };
}
