import { createMetricProvider, type MetricProvider, type MetricProviderConfig } from '../metrics/index.js';
import { guardedLookup } from '../hooks/guarded-agent.js';
import type { OutboundPolicy } from '../hooks/outbound.js';
import { OutboundRefusedError } from '../hooks/errors.js';

/**
 * A MetricTemplate may name its own Prometheus (spec.provider.address), and a MetricTemplate is a namespaced
 * object a tenant can create: its address is an outbound URL like a webhook's, held to the same policy.
 * The configured Prometheus is the operator's and is not.
 */
export function templateProvider(config: MetricProviderConfig, policy: OutboundPolicy): MetricProvider & { close(): void } {
  let host = '';
  try {
    host = new URL(config.address).hostname;
  } catch {
    // createMetricProvider reports the bad address on the first query
  }
  const why = host ? policy.refuseHost(host) : undefined;
  if (why) return refusing(new OutboundRefusedError(why).message, config.address);
  return createMetricProvider({ ...config, lookup: guardedLookup(policy) });
}

function refusing(message: string, address: string): MetricProvider & { close(): void } {
  const outcome = { kind: 'error' as const, code: 'PrometheusUnreachable', message: `request to ${address} ${message}`, transient: false };
  return {
    query: async () => outcome,
    queryVector: async () => outcome,
    ping: async () => {
      throw new OutboundRefusedError(message);
    },
    close: () => undefined,
  };
}
