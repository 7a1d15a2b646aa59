import { PrometheusProvider, type PrometheusProviderOptions } from './prometheus-provider.js';
import type { MetricProvider } from './provider.js';
import { RouteshiftError } from '../core/errors.js';

export type { MetricProvider, QueryOutcome, VectorOutcome, Sample, QueryOptions, RangeProvider, RangeOutcome, RangeSeries, RangeQueryOptions } from './provider.js';
export { PrometheusProvider, PrometheusError } from './prometheus-provider.js';
export type { PrometheusProviderOptions, PrometheusRequestEvent, PrometheusErrorCode } from './prometheus-provider.js';
export * from './template.js';
export * from './promql.js';
export * from './templates.js';
export * from './measure.js';
export * from './validate.js';

export interface MetricProviderConfig extends PrometheusProviderOptions {
  /** Only Prometheus (and API-compatible servers: Thanos, Mimir, VictoriaMetrics) today. */
  type?: 'prometheus';
}

/** The controller's one way to get a provider; credentials are read from Secrets by the caller. */
export function createMetricProvider(config: MetricProviderConfig): MetricProvider & { close(): void } {
  const { type = 'prometheus', ...options } = config;
  if (type !== 'prometheus') {
    throw new RouteshiftError('UnsupportedMetricProvider', `metric provider type "${String(type)}" is not supported (use prometheus)`);
  }
  return new PrometheusProvider(options);
}
