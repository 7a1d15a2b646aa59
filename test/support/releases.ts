/**
 * A release of its own next to the seed: stable and canary Deployments (http-echo) with their
 * Services, a root Service, and an HTTPRoute splitting it 100/0, so several rollouts can run in one
 * sandbox without touching each other's route.
 */
import type { Canary } from '../../src/api/canary.js';
import { demoCanary, echoDeployment, NS, service, type DemoCanaryOptions } from '../../src/sandbox/seed.js';

export type EchoOptions = Parameters<typeof echoDeployment>[1];

export interface Release {
  /** Canary and HTTPRoute `<name>-split` names derive from this. */
  name: string;
  stable: string;
  canary: string;
  route: string;
  objects: object[];
  /** The Canary for this release (demoCanary's analysis, this release's route and Services). */
  canaryObject(o?: Omit<DemoCanaryOptions, 'stable' | 'canary'>): Canary;
}

export function release(name: string, o: { stable?: EchoOptions; canary?: EchoOptions } = {}): Release {
  // echoDeployment names Deployments backend-<version> and labels them app=backend,version=<version>.
  const stable = `backend-${name}-stable`;
  const canary = `backend-${name}-canary`;
  const route = `${name}-split`;
  const objects = [
    echoDeployment(`${name}-stable`, { replicas: 1, ...o.stable }),
    echoDeployment(`${name}-canary`, { replicas: 1, ...o.canary }),
    service(stable, { app: 'backend', version: `${name}-stable` }),
    service(canary, { app: 'backend', version: `${name}-canary` }),
    service(`${name}-root`, { app: 'backend', version: `${name}-stable` }),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: route, namespace: NS },
      spec: {
        parentRefs: [{ name: `${name}-root`, kind: 'Service', group: '', port: 80 }],
        rules: [{ backendRefs: [{ name: stable, port: 80, weight: 100 }, { name: canary, port: 80, weight: 0 }] }],
      },
    },
  ];
  return {
    name,
    stable,
    canary,
    route,
    objects,
    canaryObject(opts = {}) {
      const c = demoCanary({ ...opts, stable, canary });
      c.metadata.name = name;
      c.spec.routeRef.name = route;
      return c;
    },
  };
}
