import type { Canary } from '../../api/canary.js';
import { demoCanary, echoDeployment, service } from '../seed.js';
import { TRAEFIK_CONTROLLER_NAME } from './traefik.js';

/** The north-south scenario's objects: a Gateway served by Traefik and a route whose parent is it. */
export const EDGE_NS = 'edge';
export const GATEWAY = 'edge';
export const ROUTE = 'shop';
const GW_API = 'gateway.networking.k8s.io/v1';

/** The seed's builders, moved to this scenario's namespace. */
function inEdge<T extends object>(o: T): T {
  const m = (o as { metadata: Record<string, unknown> }).metadata;
  m['namespace'] = EDGE_NS;
  return o;
}

export function backend(version: string, opts: Parameters<typeof echoDeployment>[1] = {}): object[] {
  return [inEdge(echoDeployment(version, opts)), inEdge(service(`backend-${version}`, { app: 'backend', version }))];
}

export function gatewayObjects(listenerPort: number): object[] {
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: EDGE_NS } },
    { apiVersion: GW_API, kind: 'GatewayClass', metadata: { name: 'traefik' }, spec: { controllerName: TRAEFIK_CONTROLLER_NAME } },
    {
      apiVersion: GW_API,
      kind: 'Gateway',
      metadata: { name: GATEWAY, namespace: EDGE_NS },
      spec: {
        gatewayClassName: 'traefik',
        // Traefik serves a listener on the entry point with the same port.
        listeners: [{ name: 'web', port: listenerPort, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'Same' } } }],
      },
    },
  ];
}

/**
 * Rule 0 splits `/` between stable and canary. Rule 1 (`/static`, a header filter, stable only)
 * is not routeshift's: it must come out of every rollout exactly as it went in.
 */
export function shopRoute(stable: string, canary: string): object {
  return {
    apiVersion: GW_API,
    kind: 'HTTPRoute',
    metadata: { name: ROUTE, namespace: EDGE_NS },
    spec: {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: GATEWAY, sectionName: 'web' }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { name: stable, port: 80, weight: 100 },
            { name: canary, port: 80, weight: 0 },
          ],
        },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/static' } }],
          filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-edge-rule', value: 'static' }] } }],
          backendRefs: [{ name: stable, port: 80 }],
        },
      ],
    },
  };
}

export function edgeCanary(stable: string, canary: string): Canary {
  const c = demoCanary({ stable, canary, interval: '6s', window: '10s', threshold: 2 });
  c.metadata.namespace = EDGE_NS;
  c.metadata.name = 'shop';
  c.spec.routeRef = { name: ROUTE };
  c.spec.provider = 'traefik';
  return c;
}
