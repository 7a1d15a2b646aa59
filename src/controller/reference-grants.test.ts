/**
 * Cross-namespace references (issue 15): which references need a grant, Gateway API matching of
 * ReferenceGrants, and the reconciler refusing a Canary before it reads or patches anything.
 */
import type { Canary, CanaryStatus } from '../api/canary.js';
import { decide } from '../analysis/decide.js';
import { stepsOf } from '../analysis/steps.js';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { Recorder, type CoreEvent, type EventSink } from '../events/recorder.js';
import type { CanaryStore } from './canary-store.js';
import { Reconciler } from './reconcile.js';
import { revisionOf } from './revision.js';
import {
  crossNamespaceRefs,
  permits,
  referenceCheck,
  REFERENCE_RECHECK_MS,
  type ReferenceGrant,
} from './reference-grants.js';
import { FakeRouteClient, seedRoute } from '../routing/testing.js';
import type { Route, RouteKey } from '../routing/types.js';

function canary(o: { routeNs?: string; stableNs?: string; templateNs?: string } = {}): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'team-a', generation: 1, resourceVersion: '1' },
    spec: {
      routeRef: { name: 'split', ...(o.routeNs ? { namespace: o.routeNs } : {}) },
      stable: { name: 'app-v1', port: 80, ...(o.stableNs ? { namespace: o.stableNs } : {}) },
      canary: { name: 'app-v2', port: 80 },
      analysis: {
        interval: '1m',
        threshold: 2,
        stepWeights: [50],
        metrics: [{ name: 'm', thresholdRange: { min: 1 }, templateRef: { name: 't', ...(o.templateNs ? { namespace: o.templateNs } : {}) } }],
      },
    },
  };
}

const grant = (to: ReferenceGrant['spec'] extends infer S ? (S extends { to?: infer T } ? T : never) : never, fromNs = 'team-a', ns = 'team-b'): ReferenceGrant => ({
  metadata: { name: 'g', namespace: ns },
  spec: { from: [{ group: 'routeshift.io', kind: 'Canary', namespace: fromNs }], to },
});
const ROUTE_AND_SERVICES = [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }, { group: '', kind: 'Service' }];

describe('crossNamespaceRefs', () => {
  it('is empty for a Canary that names only its own namespace', () => {
    expect(crossNamespaceRefs(canary())).toEqual([]);
    expect(crossNamespaceRefs(canary({ routeNs: 'team-a', templateNs: 'team-a' }))).toEqual([]);
  });

  it('names the route, both Services (defaulting to the route namespace) and templates', () => {
    expect(crossNamespaceRefs(canary({ routeNs: 'team-b', templateNs: 'shared' })).map((r) => `${r.path} ${r.kind} ${r.namespace}/${r.name}`)).toEqual([
      'spec.routeRef HTTPRoute team-b/split',
      'spec.stable Service team-b/app-v1',
      'spec.canary Service team-b/app-v2',
      'spec.analysis.metrics[0].templateRef MetricTemplate shared/t',
    ]);
    expect(crossNamespaceRefs(canary({ stableNs: 'team-c' })).map((r) => r.path)).toEqual(['spec.stable']);
  });
});

describe('permits (Gateway API ReferenceGrant matching)', () => {
  const [route] = crossNamespaceRefs(canary({ routeNs: 'team-b' }));
  const ref = route!;

  it('needs from = routeshift.io/Canary in the Canary namespace and to = the kind (and name when set)', () => {
    expect(permits([grant(ROUTE_AND_SERVICES)], 'team-a', ref)).toBe(true);
    expect(permits([grant([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'split' }])], 'team-a', ref)).toBe(true);
    expect(permits([grant([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'other' }])], 'team-a', ref)).toBe(false);
    expect(permits([grant(ROUTE_AND_SERVICES, 'team-x')], 'team-a', ref)).toBe(false);
    expect(permits([grant([{ group: '', kind: 'Service' }])], 'team-a', ref)).toBe(false);
    expect(permits([grant(ROUTE_AND_SERVICES, 'team-a', 'team-c')], 'team-a', ref)).toBe(false);
    const fromGateway: ReferenceGrant = { metadata: { namespace: 'team-b' }, spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'team-a' }], to: ROUTE_AND_SERVICES } };
    expect(permits([fromGateway], 'team-a', ref)).toBe(false);
  });
});

describe('referenceCheck', () => {
  const signal = new AbortController().signal;

  it('makes no API call for a Canary without cross-namespace references', async () => {
    let calls = 0;
    const list = async () => (calls++, [] as ReferenceGrant[]);
    expect(await referenceCheck(list, 'grant')(canary(), signal)).toBeUndefined();
    expect(calls).toBe(0);
  });

  it('refuses with the path and the grant it needs, and accepts once the grant exists', async () => {
    const grants: ReferenceGrant[] = [];
    const check = referenceCheck(async () => grants, 'grant');
    const err = await check(canary({ routeNs: 'team-b' }), signal);
    expect(err?.code).toBe('RefNotPermitted');
    expect(err?.problems.map((p) => p.path)).toEqual(['spec.routeRef', 'spec.stable', 'spec.canary']);
    expect(err?.message).toContain('spec.routeRef: HTTPRoute.gateway.networking.k8s.io team-b/split is in another namespace; it needs a ReferenceGrant in team-b from routeshift.io/Canary in team-a');
    grants.push(grant([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]));
    expect((await check(canary({ routeNs: 'team-b' }), signal))?.problems.map((p) => p.path)).toEqual(['spec.stable', 'spec.canary']);
    grants.push(grant([{ group: '', kind: 'Service' }]));
    expect(await check(canary({ routeNs: 'team-b' }), signal)).toBeUndefined();
  });

  it('forbids every cross-namespace reference when configured, grants or not', async () => {
    let calls = 0;
    const list = async () => (calls++, [grant(ROUTE_AND_SERVICES)]);
    const err = await referenceCheck(list, 'forbid')(canary({ routeNs: 'team-b' }), signal);
    expect(err?.message).toContain('this controller forbids cross-namespace references');
    expect(calls).toBe(0);
  });
});

class OneCanaryStore implements CanaryStore {
  constructor(public canary: Canary) {}
  async get(): Promise<Canary> {
    return structuredClone(this.canary);
  }
  async list() {
    return { items: [structuredClone(this.canary)] };
  }
  async replaceStatus(c: Canary): Promise<Canary> {
    this.canary = { ...this.canary, status: structuredClone(c.status ?? {}), metadata: { ...this.canary.metadata, resourceVersion: String(Number(this.canary.metadata.resourceVersion) + 1) } };
    return structuredClone(this.canary);
  }
  async patch(): Promise<Canary> {
    throw new Error('unused');
  }
}

class CountingRoutes extends FakeRouteClient {
  gets = 0;
  override async get(ref: RouteKey, signal: AbortSignal): Promise<Route> {
    this.gets++;
    return super.get(ref, signal);
  }
}

describe('the reconciler with a refused reference', () => {
  function setup(c: Canary, routeList: Route[] = []) {
    const events: CoreEvent[] = [];
    const sink: EventSink = {
      create: async (_ns, e) => void events.push(e),
      update: async () => undefined,
    };
    const clock = new FakeClock(Date.parse('2026-01-01T00:00:00Z'));
    const store = new OneCanaryStore(c);
    const routes = new CountingRoutes(routeList);
    const grants: ReferenceGrant[] = [];
    let lists = 0;
    const reconciler = new Reconciler({
      clock,
      logger: silentLogger(),
      recorder: new Recorder(sink, silentLogger(), clock),
      store,
      routes,
      validate: () => [],
      measure: async () => [],
      decide,
      stepsOf: (x) => stepsOf(x.spec.analysis),
      gates: async () => [],
      references: referenceCheck(async () => (lists++, grants), 'grant'),
    });
    return { events, store, routes, grants, reconciler, lists: () => lists };
  }

  it('does not ask for a grant while the Canary is idle (its revision done): it reads nothing', async () => {
    const c = canary({ routeNs: 'team-b' });
    c.status = { phase: 'Succeeded', revision: revisionOf(c) };
    const f = setup(c);
    expect(await f.reconciler.reconcile(f.store.canary, new AbortController().signal)).toBeUndefined();
    expect(f.lists()).toBe(0);
    expect(f.events).toEqual([]);
    expect(f.store.canary.status?.phase).toBe('Succeeded');
  });

  it('holds a rollout under way where it is when its grant disappears, and goes on when it is back', async () => {
    // The routing fakes' seed route (istio-test/backend-split, backend-v1 90 / backend-v2 10), named from team-a.
    const c = canary({ routeNs: 'istio-test' });
    c.spec.routeRef.name = 'backend-split';
    c.spec.stable.name = 'backend-v1';
    c.spec.canary.name = 'backend-v2';
    c.status = { phase: 'Progressing', revision: revisionOf(c), canaryWeight: 10, stepIndex: 0, stepStartTime: '2026-01-01T00:00:00Z' };
    const f = setup(c, [seedRoute()]);
    expect(await f.reconciler.reconcile(f.store.canary, new AbortController().signal)).toBe(REFERENCE_RECHECK_MS);
    expect(f.store.canary.status).toMatchObject({ phase: 'Progressing', canaryWeight: 10 });
    expect(f.events[0]?.message).toMatch(/^Reference not permitted \(weights held where they are\): spec.routeRef: /);
    expect(f.routes.gets).toBe(0);

    f.grants.push(grant(ROUTE_AND_SERVICES, 'team-a', 'istio-test'));
    await f.reconciler.reconcile(f.store.canary, new AbortController().signal);
    expect(f.routes.gets).toBeGreaterThan(0);
    expect(f.store.canary.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True', reason: 'Progressing' });
  });

  it('reads and patches nothing, says RefNotPermitted in status and an Event, and checks again later', async () => {
    const { events, store, routes, grants, reconciler } = setup(canary({ routeNs: 'team-b' }));
    const signal = new AbortController().signal;
    expect(await reconciler.reconcile(store.canary, signal)).toBe(REFERENCE_RECHECK_MS);
    const status = store.canary.status as CanaryStatus;
    expect(status.phase).toBe('Invalid');
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'RefNotPermitted' });
    expect(events.map((e) => [e.reason, e.type])).toEqual([['RefNotPermitted', 'Warning']]);
    expect(events[0]?.message).toContain('needs a ReferenceGrant in team-b');
    expect(routes.gets).toBe(0);

    // The recheck does not repeat the Event or rewrite status while nothing changed.
    expect(await reconciler.reconcile(store.canary, signal)).toBe(REFERENCE_RECHECK_MS);
    expect(events).toHaveLength(1);

    grants.push(grant(ROUTE_AND_SERVICES));
    await reconciler.reconcile(store.canary, signal).catch(() => undefined);
    expect(routes.gets).toBe(1); // now it reads the route (absent in this fake: that is another story)
  });
});
