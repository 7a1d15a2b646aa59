import { KubeApiError } from '../kube/errors.js';
import { ControllerMetrics } from './metrics.js';
import { instrumentRoutes, timed } from './instrument.js';
import type { Route } from '../routing/index.js';

describe('timed API calls', () => {
  it('counts calls by verb, resource and outcome class', async () => {
    const m = new ControllerMetrics(false);
    const ok = timed(m, 'get', 'canaries', async (x: number) => x * 2);
    const conflict = timed(m, 'update', 'canaries/status', async () => {
      throw new KubeApiError(409, 'conflict');
    });
    expect(await ok(2)).toBe(4);
    await expect(conflict()).rejects.toThrow('conflict');
    await expect(conflict()).rejects.toThrow('conflict');
    const text = await m.registry.metrics();
    expect(text).toContain('routeshift_kube_request_duration_seconds_count{verb="get",resource="canaries",outcome="ok"} 1');
    expect(text).toContain('routeshift_kube_request_duration_seconds_count{verb="update",resource="canaries/status",outcome="409"} 2');
  });
});

describe('timed route calls', () => {
  it('names the resource after the route kind', async () => {
    const m = new ControllerMetrics(false);
    const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GRPCRoute', metadata: { name: 'r' }, spec: {} } as unknown as Route;
    const routes = instrumentRoutes({ get: async () => route, patchWeights: async () => route }, m);
    await routes.get({ kind: 'GRPCRoute', namespace: 'shop', name: 'r' }, new AbortController().signal);
    await routes.patchWeights({ kind: 'HTTPRoute', namespace: 'shop', name: 'r' }, [], new AbortController().signal);
    const text = await m.registry.metrics();
    expect(text).toContain('routeshift_kube_request_duration_seconds_count{verb="get",resource="grpcroutes",outcome="ok"} 1');
    expect(text).toContain('routeshift_kube_request_duration_seconds_count{verb="patch",resource="httproutes",outcome="ok"} 1');
  });
});
