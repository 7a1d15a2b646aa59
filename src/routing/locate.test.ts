import { locateOwnedBackends, type LocateInput } from './locate.js';
import { RouteMismatchError } from './errors.js';
import { seedRoute } from './testing.js';
import type { BackendRef, Route, RouteRule } from './types.js';

const seedInput: LocateInput = {
  routeRef: { name: 'backend-split' },
  stable: { name: 'backend-v1', port: 80 },
  canary: { name: 'backend-v2', port: 80 },
  canaryNamespace: 'istio-test',
};

function routeWith(rules: RouteRule[], namespace = 'istio-test'): Route {
  return { kind: 'HTTPRoute', metadata: { name: 'backend-split', namespace }, spec: { rules } };
}

function svc(name: string, port: number, extra: Partial<BackendRef> = {}): BackendRef {
  return { name, port, ...extra };
}

function mismatch(fn: () => unknown): RouteMismatchError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RouteMismatchError) return err;
    throw err;
  }
  throw new Error('expected a RouteMismatchError');
}

describe('locateOwnedBackends', () => {
  it("finds the seed route's single rule and both backends", () => {
    const route = seedRoute();
    const owned = locateOwnedBackends(route, seedInput);
    expect(owned).toEqual({
      ruleIndex: 0,
      stableIndex: 0,
      canaryIndex: 1,
      stableRef: route.spec.rules?.[0]?.backendRefs?.[0],
      canaryRef: route.spec.rules?.[0]?.backendRefs?.[1],
    });
  });

  it('matches with absent group/kind/namespace defaulted, and an explicit namespace equal to the route namespace', () => {
    const route = routeWith([{ backendRefs: [svc('backend-v1', 80), svc('backend-v2', 80, { namespace: 'istio-test', group: '', kind: 'Service' })] }]);
    const owned = locateOwnedBackends(route, seedInput);
    expect([owned.stableIndex, owned.canaryIndex]).toEqual([0, 1]);
  });

  it('does not match the same name on another port, and says what it looked for and what the rule has', () => {
    const route = routeWith([{ backendRefs: [svc('backend-v1', 80), svc('backend-v2', 80)] }]);
    const err = mismatch(() => locateOwnedBackends(route, { ...seedInput, canary: { name: 'backend-v2', port: 8080 } }));
    expect(err.code).toBe('BackendNotFound');
    expect(err.side).toBe('canary');
    expect(err.message).toBe(
      'rule 0 of HTTPRoute istio-test/backend-split has no backendRef Service backend-v2:8080 for canary (it has backend-v1:80, backend-v2:80)',
    );
  });

  it('picks the backendRef with the right port when the same Service is listed on two ports', () => {
    const route = routeWith([{ backendRefs: [svc('backend-v2', 8080), svc('backend-v1', 80), svc('backend-v2', 80)] }]);
    const owned = locateOwnedBackends(route, seedInput);
    expect([owned.stableIndex, owned.canaryIndex]).toEqual([1, 2]);
  });

  it('tells namespaces apart', () => {
    const route = routeWith([{ backendRefs: [svc('backend-v1', 80), svc('backend-v2', 80, { namespace: 'other' })] }]);
    const err = mismatch(() => locateOwnedBackends(route, seedInput));
    expect(err.code).toBe('BackendNotFound');
    expect(err.message).toContain('(it has backend-v1:80, other/backend-v2:80)');
    const owned = locateOwnedBackends(route, { ...seedInput, canary: { name: 'backend-v2', port: 80, namespace: 'other' } });
    expect(owned.canaryIndex).toBe(1);
  });

  it('does not take a non-Service backend with the same name', () => {
    const route = routeWith([
      { backendRefs: [svc('backend-v1', 80), svc('backend-v2', 80, { group: 'multicluster.x-k8s.io', kind: 'ServiceImport' })] },
    ]);
    const err = mismatch(() => locateOwnedBackends(route, seedInput));
    expect(err.code).toBe('BackendNotFound');
    expect(err.message).toContain('ServiceImport.multicluster.x-k8s.io backend-v2:80');
  });

  describe('rule selection', () => {
    const rules: RouteRule[] = [
      { name: 'beta', backendRefs: [svc('backend-v2', 80)] },
      { name: 'main', backendRefs: [svc('backend-v1', 80), svc('backend-v2', 80)] },
      { name: 'mirror', backendRefs: [svc('backend-v2', 80), svc('backend-v1', 80)] },
    ];

    it('selects a rule by name and by index (number or numeric string)', () => {
      const route = routeWith(rules);
      const byName = locateOwnedBackends(route, { ...seedInput, routeRef: { name: 'backend-split', rule: 'mirror' } });
      expect(byName).toMatchObject({ ruleIndex: 2, ruleName: 'mirror', stableIndex: 1, canaryIndex: 0 });
      const byIndex = locateOwnedBackends(route, { ...seedInput, routeRef: { name: 'backend-split', rule: 1 } });
      expect(byIndex).toMatchObject({ ruleIndex: 1, ruleName: 'main', stableIndex: 0, canaryIndex: 1 });
      const byText = locateOwnedBackends(route, { ...seedInput, routeRef: { name: 'backend-split', rule: '1' } });
      expect(byText.ruleIndex).toBe(1);
    });

    it('asks for routeRef.rule when several rules hold both backends', () => {
      const err = mismatch(() => locateOwnedBackends(routeWith(rules), seedInput));
      expect(err.code).toBe('AmbiguousRule');
      expect(err.message).toContain('rule 1 ("main"), rule 2 ("mirror")');
      expect(err.message).toContain('routeRef.rule');
    });

    it('picks the single rule holding both when not told', () => {
      const route = routeWith([rules[0] as RouteRule, rules[1] as RouteRule, { name: 'fallback', backendRefs: [svc('backend-v1', 80)] }]);
      expect(locateOwnedBackends(route, seedInput).ruleIndex).toBe(1);
    });

    it('reports RuleNotFound for an unknown name or an out-of-range index', () => {
      const route = routeWith(rules);
      const byName = mismatch(() => locateOwnedBackends(route, { ...seedInput, routeRef: { name: 'backend-split', rule: 'canary' } }));
      expect(byName.code).toBe('RuleNotFound');
      expect(byName.message).toContain('rule names: beta, main, mirror');
      const byIndex = mismatch(() => locateOwnedBackends(route, { ...seedInput, routeRef: { name: 'backend-split', rule: 3 } }));
      expect(byIndex.code).toBe('RuleNotFound');
    });

    it('reports BackendNotFound for the given rule even if another rule has the pair', () => {
      const route = routeWith(rules);
      const err = mismatch(() => locateOwnedBackends(route, { ...seedInput, routeRef: { name: 'backend-split', rule: 'beta' } }));
      expect(err.code).toBe('BackendNotFound');
      expect(err.side).toBe('stable');
      expect(err.message).toContain('rule 0 ("beta") of HTTPRoute istio-test/backend-split has no backendRef Service backend-v1:80');
    });

    it('reports which side is missing when no rule of several holds both', () => {
      const route = routeWith([{ backendRefs: [svc('backend-v1', 80)] }, { backendRefs: [svc('backend-v3', 80)] }]);
      const err = mismatch(() => locateOwnedBackends(route, seedInput));
      expect(err.code).toBe('BackendNotFound');
      expect(err.side).toBe('canary');
      expect(err.message).toContain('rule 0: backend-v1:80; rule 1: backend-v3:80');
    });
  });

  it('refuses a backend listed twice in the owned rule, and stable == canary', () => {
    const route = routeWith([{ backendRefs: [svc('backend-v1', 80), svc('backend-v2', 80), svc('backend-v1', 80, { weight: 3 })] }]);
    const dup = mismatch(() => locateOwnedBackends(route, seedInput));
    expect(dup.code).toBe('DuplicateBackend');
    expect(dup.side).toBe('stable');
    const same = mismatch(() => locateOwnedBackends(seedRoute(), { ...seedInput, canary: { name: 'backend-v1', port: 80 } }));
    expect(same.code).toBe('DuplicateBackend');
  });

  it('reports unsupported routes: no rules, a rule without backendRefs, another kind', () => {
    expect(mismatch(() => locateOwnedBackends(routeWith([]), seedInput)).code).toBe('UnsupportedRoute');
    const noRefs = routeWith([{ name: 'redirect', filters: [{ type: 'RequestRedirect' }] }, { backendRefs: [svc('backend-v1', 80)] }]);
    expect(mismatch(() => locateOwnedBackends(noRefs, { ...seedInput, routeRef: { name: 'backend-split', rule: 0 } })).code).toBe(
      'UnsupportedRoute',
    );
    const tls = { ...seedRoute(), kind: 'TLSRoute' };
    expect(mismatch(() => locateOwnedBackends(tls, seedInput)).code).toBe('UnsupportedRoute');
  });

  it('locates in a GRPCRoute the same way', () => {
    const grpc = { ...seedRoute(), kind: 'GRPCRoute' };
    expect(locateOwnedBackends(grpc, seedInput)).toMatchObject({ ruleIndex: 0, stableIndex: 0, canaryIndex: 1 });
  });
});
