import { WeightError } from './errors.js';
import { applyJsonPatch, JsonPatchError } from './json-patch.js';
import { locateOwnedBackends, type LocateInput } from './locate.js';
import { buildWeightPatch } from './patch.js';
import { seedRoute } from './testing.js';
import type { BackendRef, Route } from './types.js';
import { readWeights, weightsFor } from './weights.js';

const seedInput: LocateInput = {
  routeRef: { name: 'backend-split' },
  stable: { name: 'backend-v1', port: 80 },
  canary: { name: 'backend-v2', port: 80 },
};

/** A route with everything a user might have around the owned pair. */
function shopRoute(): Route {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name: 'shop',
      namespace: 'prod',
      generation: 7,
      resourceVersion: '123456',
      labels: { app: 'shop' },
      annotations: { 'example.com/owner': 'payments', 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"blob"}' },
    },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'shop', port: 8080 }],
      rules: [
        {
          name: 'beta-users',
          matches: [{ headers: [{ type: 'Exact', name: 'x-beta', value: 'true' }], path: { type: 'PathPrefix', value: '/' } }],
          filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-route', value: 'beta' }] } }],
          backendRefs: [{ group: '', kind: 'Service', name: 'shop-canary', port: 8080, weight: 1 }],
        },
        {
          name: 'api',
          matches: [{ path: { type: 'PathPrefix', value: '/api' } }],
          filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }],
          backendRefs: [
            {
              group: '',
              kind: 'Service',
              name: 'shop-legacy',
              port: 8080,
              weight: 5,
              filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-legacy', value: '1' }] } }],
            },
            { group: '', kind: 'Service', name: 'shop-stable', port: 8080, weight: 80 },
            { group: '', kind: 'Service', name: 'shop-canary', port: 8080, weight: 15 },
          ],
          timeouts: { request: '10s' },
        },
        { name: 'default', backendRefs: [{ group: '', kind: 'Service', name: 'shop-stable', port: 8080, weight: 1 }] },
      ],
    },
    status: {
      parents: [
        {
          parentRef: { group: '', kind: 'Service', name: 'shop', port: 8080 },
          controllerName: 'istio.io/gateway-controller',
          conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', observedGeneration: 7 }],
        },
      ],
    },
  };
}

const shopInput: LocateInput = {
  routeRef: { name: 'shop' },
  stable: { name: 'shop-stable', port: 8080 },
  canary: { name: 'shop-canary', port: 8080 },
};

function refAt(route: Route, rule: number, i: number): BackendRef {
  const ref = route.spec.rules?.[rule]?.backendRefs?.[i];
  if (!ref) throw new Error(`fixture: no backendRef ${rule}/${i}`);
  return ref;
}

describe('buildWeightPatch', () => {
  it('seed route: reads 10%, setting 25% pins identity and weights, then replaces both weights', () => {
    const route = seedRoute();
    const owned = locateOwnedBackends(route, seedInput);
    expect(readWeights(route, owned).canaryPercent).toBe(10);
    const ops = buildWeightPatch(route, owned, weightsFor(25));
    expect(ops).toEqual([
      { op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'backend-v1' },
      { op: 'test', path: '/spec/rules/0/backendRefs/0/port', value: 80 },
      { op: 'test', path: '/spec/rules/0/backendRefs/0/kind', value: 'Service' },
      { op: 'test', path: '/spec/rules/0/backendRefs/0/group', value: '' },
      { op: 'test', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/name', value: 'backend-v2' },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/port', value: 80 },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/kind', value: 'Service' },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/group', value: '' },
      { op: 'test', path: '/spec/rules/0/backendRefs/1/weight', value: 10 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 75 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 25 },
    ]);
    const after = applyJsonPatch(route, ops);
    expect(readWeights(after, locateOwnedBackends(after, seedInput))).toEqual({ stable: 75, canary: 25, canaryPercent: 25 });
  });

  it('changes only the two weights: the rest of a busy route is byte-for-byte the same', () => {
    const route = shopRoute();
    const before = JSON.stringify(route);
    const owned = locateOwnedBackends(route, shopInput);
    expect(owned).toMatchObject({ ruleIndex: 1, ruleName: 'api', stableIndex: 1, canaryIndex: 2 });
    const ops = buildWeightPatch(route, owned, weightsFor(40));
    const after = applyJsonPatch(route, ops);

    expect(JSON.stringify(route)).toBe(before); // input untouched
    const expected = shopRoute();
    refAt(expected, 1, 1).weight = 60;
    refAt(expected, 1, 2).weight = 40;
    expect(JSON.stringify(after)).toBe(JSON.stringify(expected));
    // and the ops themselves only ever write the two weight paths
    const writes = ops.filter((o) => o.op !== 'test').map((o) => o.path);
    expect(writes).toEqual(['/spec/rules/1/backendRefs/1/weight', '/spec/rules/1/backendRefs/2/weight']);
    expect(ops[0]).toEqual({ op: 'test', path: '/spec/rules/1/name', value: 'api' });
  });

  it('uses add (and no weight test) where the weight is absent, keeping everything else', () => {
    const route = seedRoute();
    delete refAt(route, 0, 0).weight;
    delete refAt(route, 0, 1).weight;
    const owned = locateOwnedBackends(route, seedInput);
    const ops = buildWeightPatch(route, owned, weightsFor(10));
    expect(ops.filter((o) => o.path.endsWith('/weight'))).toEqual([
      { op: 'add', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'add', path: '/spec/rules/0/backendRefs/1/weight', value: 10 },
    ]);
    const after = applyJsonPatch(route, ops);
    expect(JSON.stringify(after)).toBe(JSON.stringify(seedRoute()));
  });

  it('pins only the identity fields present on the object', () => {
    const route: Route = {
      metadata: { name: 'r', namespace: 'ns' },
      spec: { rules: [{ backendRefs: [{ name: 'a', port: 80, weight: 1 }, { name: 'b', port: 80, namespace: 'ns', weight: 1 }] }] },
    };
    const owned = locateOwnedBackends(route, { routeRef: { name: 'r' }, stable: { name: 'a', port: 80 }, canary: { name: 'b', port: 80 } });
    const tests = buildWeightPatch(route, owned, { stable: 9, canary: 1 })
      .filter((o) => o.op === 'test')
      .map((o) => o.path);
    expect(tests).toEqual([
      '/spec/rules/0/backendRefs/0/name',
      '/spec/rules/0/backendRefs/0/port',
      '/spec/rules/0/backendRefs/0/weight',
      '/spec/rules/0/backendRefs/1/name',
      '/spec/rules/0/backendRefs/1/port',
      '/spec/rules/0/backendRefs/1/namespace',
      '/spec/rules/0/backendRefs/1/weight',
    ]);
  });

  it('returns no ops when the weights already hold the target (absent counts as 1)', () => {
    const route = seedRoute();
    expect(buildWeightPatch(route, locateOwnedBackends(route, seedInput), { stable: 90, canary: 10 })).toEqual([]);
    delete refAt(route, 0, 1).weight;
    expect(buildWeightPatch(route, locateOwnedBackends(route, seedInput), { stable: 90, canary: 1 })).toEqual([]);
  });

  describe('the test ops make a stale patch fail instead of writing onto the wrong backend', () => {
    const ops = (): ReturnType<typeof buildWeightPatch> => {
      const route = seedRoute();
      return buildWeightPatch(route, locateOwnedBackends(route, seedInput), weightsFor(25));
    };

    function rejected(route: Route): JsonPatchError {
      try {
        applyJsonPatch(route, ops());
      } catch (err) {
        if (err instanceof JsonPatchError) return err;
        throw err;
      }
      throw new Error('expected the patch to be rejected');
    }

    it('canary renamed: patch rejected, and locate reports BackendNotFound', () => {
      const changed = seedRoute();
      refAt(changed, 0, 1).name = 'backend-v3';
      expect(rejected(changed).code).toBe('PatchTestFailed');
      expect(() => locateOwnedBackends(changed, seedInput)).toThrow(expect.objectContaining({ code: 'BackendNotFound', side: 'canary' }));
    });

    it('backendRefs reordered: patch rejected; a fresh locate finds the new indices and its patch applies', () => {
      const changed = seedRoute();
      changed.spec.rules?.[0]?.backendRefs?.reverse();
      expect(rejected(changed).code).toBe('PatchTestFailed');
      const owned = locateOwnedBackends(changed, seedInput);
      expect([owned.stableIndex, owned.canaryIndex]).toEqual([1, 0]);
      const after = applyJsonPatch(changed, buildWeightPatch(changed, owned, weightsFor(25)));
      expect(refAt(after, 0, 0)).toMatchObject({ name: 'backend-v2', weight: 25 });
      expect(refAt(after, 0, 1)).toMatchObject({ name: 'backend-v1', weight: 75 });
    });

    it('weight changed by someone else, port changed, or a backendRef removed: patch rejected', () => {
      const reweighted = seedRoute();
      refAt(reweighted, 0, 1).weight = 50;
      expect(rejected(reweighted).code).toBe('PatchTestFailed');
      const reported = seedRoute();
      refAt(reported, 0, 0).port = 8080;
      expect(rejected(reported).code).toBe('PatchTestFailed');
      const removed = seedRoute();
      removed.spec.rules?.[0]?.backendRefs?.pop();
      expect(rejected(removed).code).toBe('PatchPathMissing');
    });
  });

  describe('unsafe targets', () => {
    const route = seedRoute();
    const owned = locateOwnedBackends(route, seedInput);

    it.each([
      [{ stable: -1, canary: 10 }],
      [{ stable: 90, canary: 0.5 }],
      [{ stable: 1_000_001, canary: 0 }],
      [{ stable: Number.NaN, canary: 1 }],
    ])('refuses %p', (target) => {
      expect(() => buildWeightPatch(route, owned, target)).toThrow(WeightError);
      expect(() => buildWeightPatch(route, owned, target)).toThrow(expect.objectContaining({ code: 'UnsafeWeights' }));
    });

    it('accepts the bounds 0 and 1000000', () => {
      expect(buildWeightPatch(route, owned, { stable: 1_000_000, canary: 0 })).toHaveLength(12);
    });

    it('refuses to leave every backendRef of the rule at 0, counting a third backend at weight 0', () => {
      expect(() => buildWeightPatch(route, owned, { stable: 0, canary: 0 })).toThrow(expect.objectContaining({ code: 'UnsafeWeights' }));
      const three = seedRoute();
      three.spec.rules?.[0]?.backendRefs?.push({ group: '', kind: 'Service', name: 'backend-v0', port: 80, weight: 0 });
      const o3 = locateOwnedBackends(three, seedInput);
      expect(() => buildWeightPatch(three, o3, { stable: 0, canary: 0 })).toThrow(expect.objectContaining({ code: 'UnsafeWeights' }));
    });

    it('allows the pair at 0/0 when another backendRef of the rule still carries traffic (absent weight = 1)', () => {
      const three = seedRoute();
      three.spec.rules?.[0]?.backendRefs?.push({ name: 'backend-v0', port: 80 });
      const o3 = locateOwnedBackends(three, seedInput);
      const after = applyJsonPatch(three, buildWeightPatch(three, o3, { stable: 0, canary: 0 }));
      expect(after.spec.rules?.[0]?.backendRefs?.map((r) => r.weight)).toEqual([0, 0, undefined]);
    });
  });
});
