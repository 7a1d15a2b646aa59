import type { Canary } from '../api/canary.js';

/**
 * The seed walkthrough's objects (gamma-canary-blog: namespace istio-test, backend-v1/v2, root
 * Service `backend`, HTTPRoute `backend-split` at 90/10), as the demo and e2e tests create them.
 * deploy/examples/seed.yaml holds the same objects for kubectl.
 */
export const NS = 'istio-test';

export function echoDeployment(version: string, opts: { replicas?: number; text?: string; statusCode?: number; errorRate?: number; latencyMs?: number } = {}): object {
  const args = [`-text=${opts.text ?? `hello from backend ${version}`}`];
  if (opts.statusCode) args.push(`-status-code=${opts.statusCode}`);
  const annotations: Record<string, string> = {};
  if (opts.errorRate !== undefined) annotations['sandbox.routeshift.io/error-rate'] = String(opts.errorRate);
  if (opts.latencyMs !== undefined) annotations['sandbox.routeshift.io/latency-ms'] = String(opts.latencyMs);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `backend-${version}`, namespace: NS },
    spec: {
      replicas: opts.replicas ?? 2,
      selector: { matchLabels: { app: 'backend', version } },
      template: {
        metadata: { labels: { app: 'backend', version }, ...(Object.keys(annotations).length ? { annotations } : {}) },
        spec: { containers: [{ name: 'echo', image: 'hashicorp/http-echo', args, ports: [{ containerPort: 5678 }] }] },
      },
    },
  };
}

export function service(name: string, selector: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 5678 }] },
  };
}

export function seedRoute(stableWeight = 90, canaryWeight = 10): object {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'backend-split', namespace: NS },
    spec: {
      parentRefs: [{ name: 'backend', kind: 'Service', group: '', port: 80 }],
      rules: [
        {
          backendRefs: [
            { name: 'backend-v1', port: 80, weight: stableWeight },
            { name: 'backend-v2', port: 80, weight: canaryWeight },
          ],
        },
      ],
    },
  };
}

export function seedObjects(): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS, labels: { 'istio-injection': 'enabled' } } },
    echoDeployment('v1', { replicas: 3 }),
    echoDeployment('v2', { replicas: 2 }),
    service('backend-v1', { app: 'backend', version: 'v1' }),
    service('backend-v2', { app: 'backend', version: 'v2' }),
    service('backend', { app: 'backend' }),
    seedRoute(),
  ];
}

export interface DemoCanaryOptions {
  stable?: string;
  canary?: string;
  interval?: string;
  window?: string;
  threshold?: number;
  stepWeights?: number[];
  minSuccess?: number;
  maxP99Ms?: number;
}

export function demoCanary(o: DemoCanaryOptions = {}): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'backend', namespace: NS },
    spec: {
      routeRef: { name: 'backend-split' },
      stable: { name: o.stable ?? 'backend-v1', port: 80 },
      canary: { name: o.canary ?? 'backend-v2', port: 80 },
      provider: 'istio',
      analysis: {
        interval: o.interval ?? '5s',
        threshold: o.threshold ?? 2,
        stepWeights: o.stepWeights ?? [10, 25, 50, 75],
        metrics: [
          { name: 'request-success-rate', interval: o.window ?? '10s', thresholdRange: { min: o.minSuccess ?? 99 } },
          { name: 'request-duration', interval: o.window ?? '10s', thresholdRange: { max: o.maxP99Ms ?? 500 } },
        ],
      },
    },
  };
}
