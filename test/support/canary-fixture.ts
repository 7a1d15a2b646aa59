import type { Canary, MetricSpec } from '../../src/api/canary.js';

/** A valid GAMMA Canary: route "backend" in "shop", stable backend-v1, canary backend-v2. */
export function makeCanary(metrics: MetricSpec[], patch: Partial<Canary['spec']> = {}): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'backend', namespace: 'shop' },
    spec: {
      routeRef: { name: 'backend' },
      stable: { name: 'backend-v1', port: 8080 },
      canary: { name: 'backend-v2', port: 8080 },
      ...patch,
      analysis: { interval: '1m', threshold: 3, stepWeights: [10, 50], metrics, ...(patch.analysis ?? {}) },
    },
  };
}
