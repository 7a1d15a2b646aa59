import { backends, route } from '../mesh/test-fixtures.js';
import { copyStats, countResponse, emptyStats } from './stats.js';
import { loadTargets } from './targets.js';

describe('loadTargets', () => {
  it('lists each root Service parent once, with its FQDN host', () => {
    const a = route('a', [{ backendRefs: backends(['backend-v1', 1]) }], { port: 80 });
    const b = route('b', [{ backendRefs: backends(['backend-v1', 1]) }]);
    const c = route('c', [{ backendRefs: backends(['x', 1]) }], { parent: 'api', port: 8080 });
    const gw = route('gw', [{ backendRefs: backends(['x', 1]) }]);
    gw.spec!.parentRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'ingress' }];
    expect(loadTargets([a, b, c, gw])).toEqual([
      { id: 'istio-test/api:8080', name: 'api', namespace: 'istio-test', host: 'api.istio-test.svc.cluster.local:8080' },
      { id: 'istio-test/backend', name: 'backend', namespace: 'istio-test', host: 'backend.istio-test.svc.cluster.local' },
    ]);
  });
});

describe('load stats', () => {
  it('counts answers by status, backend and both; copies are independent', () => {
    const s = emptyStats('istio-test/backend', 'backend.istio-test.svc.cluster.local');
    countResponse(s, 200, 'backend-v1');
    countResponse(s, 200, 'backend-v1');
    countResponse(s, 503, 'backend-v2');
    countResponse(s, 404, undefined);
    const copy = copyStats(s);
    countResponse(s, 200, 'backend-v1');
    expect(copy).toMatchObject({
      responses: 4,
      byStatus: { '200': 2, '503': 1, '404': 1 },
      byBackend: { 'backend-v1': 2, 'backend-v2': 1, '-': 1 },
      byBackendStatus: { 'backend-v1': { '200': 2 }, 'backend-v2': { '503': 1 }, '-': { '404': 1 } },
    });
  });
});
