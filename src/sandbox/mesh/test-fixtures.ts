import type { Deployment, EndpointSlice, HTTPBackendRef, HTTPRoute, HTTPRouteRule, Service } from './kube/types.js';
import { DEPLOYMENT_LABEL, SERVICE_NAME_LABEL } from './mesh-config.js';

/** Plain objects shaped like the blog's GAMMA canary (namespace istio-test), for unit tests. */
export const NS = 'istio-test';

export function service(name: string, selector: Record<string, string> | undefined, ports = [{ name: 'http', port: 80, targetPort: 5678 }], ns = NS): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, uid: `uid-${name}` }, spec: { ...(selector ? { selector } : {}), ports } };
}

export function route(name: string, rules: HTTPRouteRule[], opts: { ns?: string; parent?: string; port?: number; generation?: number; created?: string } = {}): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name,
      namespace: opts.ns ?? NS,
      generation: opts.generation ?? 1,
      creationTimestamp: opts.created ?? '2026-01-01T00:00:00Z',
      resourceVersion: '10',
    },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: opts.parent ?? 'backend', ...(opts.port === undefined ? {} : { port: opts.port }) }],
      rules,
    },
  };
}

export function backends(...refs: Array<[string, number] | HTTPBackendRef>): HTTPBackendRef[] {
  return refs.map((r) => (Array.isArray(r) ? { name: r[0], port: 80, weight: r[1] } : r));
}

export function slice(svc: string, deployment: string, i: number, port: number, opts: { ready?: boolean; address?: string; ns?: string; portName?: string } = {}): EndpointSlice {
  const ns = opts.ns ?? NS;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-${deployment}-${i}`, namespace: ns, labels: { [SERVICE_NAME_LABEL]: svc, [DEPLOYMENT_LABEL]: deployment } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [opts.address ?? '127.0.0.1'], conditions: { ready: opts.ready ?? true }, targetRef: { kind: 'Pod', name: `${deployment}-${i}`, namespace: ns } }],
    ports: [{ name: opts.portName ?? 'http', port, protocol: 'TCP' }],
  };
}

export function deployment(name: string, labels: Record<string, string>, opts: { replicas?: number; args?: string[]; annotations?: Record<string, string>; image?: string; ns?: string } = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: opts.ns ?? NS, generation: 1 },
    spec: {
      replicas: opts.replicas ?? 1,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
        spec: { containers: [{ name: 'echo', image: opts.image ?? 'hashicorp/http-echo', args: opts.args ?? [`-text=hello from ${name}`], ports: [{ containerPort: 5678 }] }] },
      },
    },
  };
}
