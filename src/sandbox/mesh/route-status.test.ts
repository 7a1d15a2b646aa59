import type { HTTPRoute, RouteParentStatus } from './kube/types.js';
import { desiredParentStatuses, mergeRouteStatus } from './route-status.js';
import { backends, NS, route, service } from './test-fixtures.js';

const CTRL = 'istio.io/gateway-controller';
const services = [service('backend', { app: 'backend' }), service('backend-v1', { app: 'backend', version: 'v1' }), service('backend-v2', { app: 'backend', version: 'v2' })];
const lookup = (ns: string, name: string) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
const T0 = '2026-01-01T00:00:00Z';
const T1 = '2026-01-01T00:05:00Z';

function cond(status: RouteParentStatus | undefined, type: string) {
  return status?.conditions.find((c) => c.type === type);
}

describe('desiredParentStatuses', () => {
  it('reports Accepted=False UnsupportedValue for what the mesh cannot program, and a missing mirror Service as BackendNotFound', () => {
    const r = route('r', [
      {
        filters: [{ type: 'URLRewrite' }, { type: 'RequestMirror', requestMirror: { backendRef: { name: 'backend-v9', port: 80 } } }],
        backendRefs: backends(['backend-v1', 1]),
      },
    ]);
    const [entry] = desiredParentStatuses(r, lookup, CTRL, T0);
    expect(cond(entry, 'Accepted')).toMatchObject({ status: 'False', reason: 'UnsupportedValue', message: 'rule 0: filter type "URLRewrite" is not implemented by the sandbox mesh' });
    expect(cond(entry, 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'BackendNotFound', message: `backend Service ${NS}/backend-v9 not found` });
    const fine = route('r', [{ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'backend-v2', port: 80 }, percent: 5 } }], backendRefs: backends(['backend-v1', 1]) }]);
    expect(desiredParentStatuses(fine, lookup, CTRL, T0)[0]?.conditions.map((c) => c.status)).toEqual(['True', 'True']);
  });

  it('accepts a route whose parent and backends exist, with the route generation', () => {
    const r = route('split', [{ backendRefs: backends(['backend-v1', 90], ['backend-v2', 10]) }], { port: 80, generation: 4 });
    const [entry, ...rest] = desiredParentStatuses(r, lookup, CTRL, T0);
    expect(rest).toHaveLength(0);
    expect(entry?.controllerName).toBe(CTRL);
    expect(entry?.parentRef).toEqual({ group: '', kind: 'Service', name: 'backend', port: 80 });
    expect(cond(entry, 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted', observedGeneration: 4, lastTransitionTime: T0 });
    expect(cond(entry, 'ResolvedRefs')).toMatchObject({ status: 'True', reason: 'ResolvedRefs', observedGeneration: 4 });
  });

  it('reports BackendNotFound naming the missing Service, InvalidKind for other kinds, NoMatchingParent for a missing parent', () => {
    const missing = route('r', [{ backendRefs: backends(['backend-v1', 1], ['backend-v3', 1]) }]);
    const resolved = cond(desiredParentStatuses(missing, lookup, CTRL, T0)[0], 'ResolvedRefs');
    expect(resolved).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
    expect(resolved?.message).toContain(`${NS}/backend-v3`);

    const kind = route('r', [{ backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'b', weight: 1 }, { name: 'gone', port: 80 }] }]);
    expect(cond(desiredParentStatuses(kind, lookup, CTRL, T0)[0], 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'InvalidKind' });

    const orphan = route('r', [{ backendRefs: backends(['backend-v1', 1]) }], { parent: 'no-such-svc' });
    expect(cond(desiredParentStatuses(orphan, lookup, CTRL, T0)[0], 'Accepted')).toMatchObject({ status: 'False', reason: 'NoMatchingParent' });
    const badPort = route('r', [{ backendRefs: backends(['backend-v1', 1]) }], { port: 8080 });
    expect(cond(desiredParentStatuses(badPort, lookup, CTRL, T0)[0], 'Accepted')).toMatchObject({ status: 'False', reason: 'NoMatchingParent' });
  });

  it('writes nothing for Gateway parents', () => {
    const r = route('r', [{ backendRefs: backends(['backend-v1', 1]) }]);
    r.spec!.parentRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }];
    expect(desiredParentStatuses(r, lookup, CTRL, T0)).toEqual([]);
  });
});

describe('mergeRouteStatus', () => {
  const base = route('split', [{ backendRefs: backends(['backend-v1', 90], ['backend-v2', 10]) }], { port: 80, generation: 2 });
  const other: RouteParentStatus = {
    parentRef: { group: '', kind: 'Service', name: 'backend', port: 80 },
    controllerName: 'linkerd.io/policy-controller',
    conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', lastTransitionTime: T0 }],
  };

  it('adds our entry and keeps other controllers entries', () => {
    const r: HTTPRoute = { ...base, status: { parents: [other] } };
    const { parents, changed } = mergeRouteStatus(r, desiredParentStatuses(r, lookup, CTRL, T0), CTRL);
    expect(changed).toBe(true);
    expect(parents).toHaveLength(2);
    expect(parents[0]).toBe(other);
    expect(parents[1]?.controllerName).toBe(CTRL);
  });

  it('reports no change when only the time differs, and keeps the old lastTransitionTime', () => {
    const first = mergeRouteStatus(base, desiredParentStatuses(base, lookup, CTRL, T0), CTRL);
    const written: HTTPRoute = { ...base, status: { parents: first.parents } };
    const again = mergeRouteStatus(written, desiredParentStatuses(written, lookup, CTRL, T1), CTRL);
    expect(again.changed).toBe(false);
    expect(cond(again.parents[0], 'Accepted')?.lastTransitionTime).toBe(T0);
  });

  it('changes on a new generation but keeps lastTransitionTime when the status stays True', () => {
    const first = mergeRouteStatus(base, desiredParentStatuses(base, lookup, CTRL, T0), CTRL);
    const next: HTTPRoute = { ...base, metadata: { ...base.metadata, generation: 3 }, status: { parents: first.parents } };
    const merged = mergeRouteStatus(next, desiredParentStatuses(next, lookup, CTRL, T1), CTRL);
    expect(merged.changed).toBe(true);
    expect(cond(merged.parents[0], 'Accepted')).toMatchObject({ observedGeneration: 3, lastTransitionTime: T0 });
  });

  it('moves lastTransitionTime when a condition flips, and removes our entry for a parent no longer referenced', () => {
    const first = mergeRouteStatus(base, desiredParentStatuses(base, lookup, CTRL, T0), CTRL);
    const broken: HTTPRoute = { ...base, spec: { ...base.spec, rules: [{ backendRefs: backends(['gone', 1]) }] }, status: { parents: first.parents } };
    const merged = mergeRouteStatus(broken, desiredParentStatuses(broken, lookup, CTRL, T1), CTRL);
    expect(cond(merged.parents[0], 'ResolvedRefs')).toMatchObject({ status: 'False', lastTransitionTime: T1 });
    expect(cond(merged.parents[0], 'Accepted')?.lastTransitionTime).toBe(T0);

    const detached: HTTPRoute = { ...base, spec: { ...base.spec, parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }] }, status: { parents: [other, ...first.parents] } };
    const cleared = mergeRouteStatus(detached, desiredParentStatuses(detached, lookup, CTRL, T1), CTRL);
    expect(cleared).toEqual({ parents: [other], changed: true });
  });
});
