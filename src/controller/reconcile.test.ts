/**
 * The phase machine with fakes: an in-memory Canary store (resourceVersion + 409), the routing
 * module's FakeRouteClient (JSON Patch with `test` ops) plus a mesh that reports status, a list
 * Event sink, a fake clock, the real decide() and stepsOf(), and scripted measurements.
 */
import { ANNOTATIONS, type Canary, type CanaryStatus } from '../api/canary.js';
import { decide } from '../analysis/decide.js';
import { stepsOf } from '../analysis/steps.js';
import type { GateResult, Measurement } from '../analysis/types.js';
import { FakeClock } from '../core/clock.js';
import { InvalidSpecError } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { Recorder, type CoreEvent, type EventSink } from '../events/recorder.js';
import { KubeApiError } from '../kube/errors.js';
import type { CanaryStore } from './canary-store.js';
import { Reconciler, transitionEventName } from './reconcile.js';
import type { QueryOutcome } from '../metrics/provider.js';
import { FakeRouteClient, seedRoute } from '../routing/testing.js';
import type { Route, RouteKey } from '../routing/types.js';

const ROUTE: RouteKey = { kind: 'HTTPRoute', namespace: 'istio-test', name: 'backend-split' };

class MemoryStore implements CanaryStore {
  rv = 100;
  canary: Canary;
  /** Conflicts to answer the next status writes with. */
  conflicts = 0;
  writes = 0;
  constructor(c: Canary) {
    this.canary = { ...structuredClone(c), metadata: { ...c.metadata, uid: 'uid-1', generation: 1, resourceVersion: String(this.rv) } };
  }
  async get(): Promise<Canary> {
    return structuredClone(this.canary);
  }
  async list() {
    return { items: [structuredClone(this.canary)] };
  }
  async replaceStatus(c: Canary): Promise<Canary> {
    if (this.conflicts > 0) {
      this.conflicts--;
      this.bump();
      throw new KubeApiError(409, 'conflict');
    }
    if (c.metadata.resourceVersion !== this.canary.metadata.resourceVersion) throw new KubeApiError(409, 'stale');
    this.writes++;
    this.canary = { ...this.canary, status: structuredClone(c.status ?? {}) };
    this.bump();
    return structuredClone(this.canary);
  }
  async patch(): Promise<Canary> {
    throw new Error('unused');
  }
  /** A user's edit: spec/annotations change, resourceVersion moves on. */
  edit(f: (c: Canary) => void): void {
    f(this.canary);
    this.canary.metadata.generation = (this.canary.metadata.generation ?? 1) + 1;
    this.bump();
  }
  bump(): void {
    this.canary.metadata.resourceVersion = String(++this.rv);
  }
}

class ListSink implements EventSink {
  events: CoreEvent[] = [];
  async create(_ns: string, e: CoreEvent): Promise<void> {
    if (this.events.some((x) => x.metadata.name === e.metadata.name)) throw new KubeApiError(409, 'AlreadyExists');
    this.events.push(e);
  }
  async update(_ns: string, name: string, patch: { count: number }): Promise<void> {
    const e = this.events.find((x) => x.metadata.name === name);
    if (!e) throw new Error('gone');
    e.count = patch.count;
  }
}

/** The mesh: reports the route programmed at its current generation unless `lagging`. */
class MeshRoutes extends FakeRouteClient {
  lagging = false;
  override async get(ref: RouteKey, signal: AbortSignal): Promise<Route> {
    if (!this.lagging) this.program(ref);
    return super.get(ref, signal);
  }
  override async patchWeights(ref: RouteKey, ops: Parameters<FakeRouteClient['patchWeights']>[1], signal: AbortSignal): Promise<Route> {
    return super.patchWeights(ref, ops, signal);
  }
  program(ref: RouteKey): void {
    this.update(ref, (r) => {
      const gen = r.metadata.generation ?? 1;
      const cond = (type: string) => ({ type, status: 'True', reason: type, message: '', lastTransitionTime: '2026-01-01T00:00:00Z', observedGeneration: gen });
      r.status = { parents: [{ parentRef: { group: '', kind: 'Service', name: 'backend', port: 80 }, controllerName: 'istio.io/gateway-controller', conditions: [cond('Accepted'), cond('ResolvedRefs')] }] };
    });
  }
  weights(): Record<string, number | undefined> {
    const r = this.peek(ROUTE);
    return Object.fromEntries((r?.spec.rules?.[0]?.backendRefs ?? []).map((b) => [b.name, b.weight]));
  }
}

function canary(over: Partial<Canary['spec']['analysis']> = {}): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'backend', namespace: 'istio-test' },
    spec: {
      routeRef: { name: 'backend-split' },
      stable: { name: 'backend-v1', port: 80 },
      canary: { name: 'backend-v2', port: 80 },
      analysis: {
        interval: '1m',
        threshold: 2,
        stepWeights: [10, 25, 50, 75],
        metrics: [{ name: 'request-success-rate', thresholdRange: { min: 99 } }],
        ...over,
      },
    },
  };
}

const value = (v: number): QueryOutcome => ({ kind: 'value', value: v });

function setup(c: Canary = canary(), advanceWindowMs = 0) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const store = new MemoryStore(c);
  const routes = new MeshRoutes([seedRoute()]);
  const sink = new ListSink();
  const recorder = new Recorder(sink, silentLogger(), clock);
  let outcome: QueryOutcome = value(99.9);
  let gateResults: GateResult[] = [];
  let problems: Array<{ path: string; message: string }> = [];
  const reconciler = new Reconciler({
    clock,
    logger: silentLogger(),
    recorder,
    store,
    routes,
    validate: () => problems,
    measure: async (cv): Promise<Measurement[]> => (cv.spec.analysis.metrics ?? []).map((m) => ({ name: m.name, canary: outcome })),
    decide,
    stepsOf: (cv) => stepsOf(cv.spec.analysis),
    gates: async (_c, type) => gateResults.filter((g) => g.type === type),
    advanceWindowMs,
  });
  const signal = new AbortController().signal;
  /** Runs ticks as the scheduler would: each at the delay the previous one asked for. */
  async function run(maxTicks = 50, stop: (s: CanaryStatus) => boolean = () => false): Promise<void> {
    for (let i = 0; i < maxTicks; i++) {
      const next = await reconciler.reconcile(structuredClone(store.canary), signal);
      if (next === undefined || stop(store.canary.status ?? {})) return;
      await clock.advance(next);
    }
  }
  return {
    clock,
    store,
    routes,
    sink,
    reconciler,
    run,
    signal,
    reasons: () => sink.events.map((e) => e.reason),
    setOutcome: (o: QueryOutcome) => (outcome = o),
    setGates: (g: GateResult[]) => (gateResults = g),
    setProblems: (p: typeof problems) => (problems = p),
  };
}

describe('Reconciler phase machine', () => {
  it('walks the seed route 90/10 through every step to 100 and ends Succeeded', async () => {
    const t = setup();
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    expect(t.routes.weights()).toEqual({ 'backend-v1': 0, 'backend-v2': 100 });
    expect(t.reasons()).toEqual(['RolloutStarted', 'WeightAdvanced', 'WeightAdvanced', 'WeightAdvanced', 'WeightAdvanced', 'PromotionStarted', 'Promoted']);
    const advanced = t.sink.events.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    expect(advanced[1]).toMatch(/10 -> 25: request-success-rate 99\.9% >= 99/);
    // Each weight change happened only after a full interval at the previous weight.
    const patches = t.routes.calls.filter((c) => c.verb === 'patch');
    expect(patches).toHaveLength(4); // 25, 50, 75, 100 (10 was already there)
    expect(t.store.canary.status?.lastCompletedRevision).toBe(t.store.canary.status?.revision);
  });

  it('touches nothing on the route but the two weights', async () => {
    const t = setup();
    t.routes.update(ROUTE, (r) => {
      r.metadata.annotations = { team: 'payments' };
      const rule = r.spec.rules?.[0];
      if (rule) rule.filters = [{ type: 'RequestHeaderModifier', requestHeaderModifier: { add: [{ name: 'x-canary', value: '1' }] } }];
      r.spec.rules?.push({ matches: [{ path: { type: 'PathPrefix', value: '/admin' } }], backendRefs: [{ group: '', kind: 'Service', name: 'admin', port: 8080, weight: 1 }] });
    });
    const before = t.routes.peek(ROUTE) as Route;
    await t.run();
    const after = t.routes.peek(ROUTE) as Route;
    const strip = (r: Route) => {
      const x = structuredClone(r);
      delete x.status;
      delete x.metadata.resourceVersion;
      delete x.metadata.generation;
      for (const b of x.spec.rules?.[0]?.backendRefs ?? []) delete b.weight;
      return JSON.stringify(x);
    };
    expect(strip(after)).toBe(strip(before));
    expect(after.spec.rules?.[1]?.backendRefs?.[0]?.weight).toBe(1);
  });

  it('holds on a failed check, then rolls back when failed checks reach the threshold', async () => {
    const t = setup();
    t.setOutcome(value(91.5));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Failed');
    expect(t.routes.weights()).toEqual({ 'backend-v1': 100, 'backend-v2': 0 });
    const r = t.reasons();
    expect(r.filter((x) => x === 'CheckFailed')).toHaveLength(1);
    expect(r.slice(-2)).toEqual(['RollbackStarted', 'RolledBack']);
    const rb = t.sink.events.find((e) => e.reason === 'RollbackStarted');
    expect(rb?.message).toContain('91.5%');
    expect(rb?.type).toBe('Warning');
  });

  it('never advances or promotes on missing data; the time-out hands the rollout to a person, never Failed', async () => {
    const t = setup();
    t.setOutcome({ kind: 'no-data' });
    const seen: Array<number | undefined> = [];
    await t.run(50, (s) => (seen.push(s.canaryWeight), false));
    expect(seen.every((w) => w === undefined || w <= 10)).toBe(true);
    expect(t.store.canary.status?.phase).toBe('Waiting');
    expect(t.reasons()).not.toContain('Promoted');
    expect(t.reasons()).not.toContain('RollbackStarted');
    expect(t.reasons()).toContain('AnalysisHeld');
    expect(t.reasons()).toContain('AwaitingDecision');
    expect(t.store.canary.status?.lastAnalysis?.[0]?.verdict).toBe('inconclusive');
  });

  it('a time-out the user chose to end in a rollback ends TimedOut, not Failed', async () => {
    const t = setup(canary({ onInconclusiveLimit: 'rollback' }));
    t.setOutcome({ kind: 'no-data' });
    await t.run();
    expect(t.store.canary.status?.phase).toBe('TimedOut');
    expect(t.routes.weights()).toEqual({ 'backend-v1': 100, 'backend-v2': 0 });
    expect(t.sink.events.find((e) => e.reason === 'RollbackStarted')?.message).toMatch(/^Rolling back without evidence of harm/);
    expect(t.store.canary.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('TimedOut');
    // The next rollout starts clean: a failed one afterwards ends Failed.
    t.setOutcome(value(50));
    t.store.edit((c) => (c.metadata.annotations = { [ANNOTATIONS.retry]: '1' }));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Failed');
  });

  it('an advancing tick writes status once (the step with the Event it owes), the Event once and the route once', async () => {
    const t = setup();
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 1); // at 25
    await t.clock.advance(60_000);
    const writes = t.store.writes;
    const events = t.sink.events.length;
    const patches = t.routes.calls.filter((c) => c.verb === 'patch').length;
    const next = await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.store.canary.status?.canaryWeight).toBe(50);
    expect(t.store.writes - writes).toBe(1);
    expect(t.sink.events.length - events).toBe(1);
    expect(t.routes.calls.filter((c) => c.verb === 'patch').length - patches).toBe(1);
    expect(next).toBe(60_000); // not back in 2 s for an Event it has written
    expect(t.store.canary.status?.pendingEvent?.name).toBe(t.sink.events.at(-1)?.metadata.name);
  });

  it('resumes after a crash between the status write and the route patch without repeating the step', async () => {
    const t = setup();
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 1); // at 25
    expect(t.routes.weights()['backend-v2']).toBe(25);
    // Simulate: status says 50 with the Event it owes (written), but neither the Event nor the
    // route patch happened (controller killed right after the status write).
    const st = t.store.canary.status as CanaryStatus;
    const name = transitionEventName('backend', st.revision ?? '', 2, 'Progressing', 'WeightAdvanced');
    t.store.canary.status = {
      ...st,
      stepIndex: 2,
      canaryWeight: 50,
      stepStartTime: new Date(t.clock.now()).toISOString(),
      pendingEvent: { name, reason: 'WeightAdvanced', message: 'Advanced canary weight 25 -> 50: request-success-rate 99.9% >= 99' },
    };
    const eventsBefore = t.sink.events.length;
    const fresh = new Reconciler((t.reconciler as unknown as { deps: ConstructorParameters<typeof Reconciler>[0] }).deps);
    const delay = await fresh.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.routes.weights()).toEqual({ 'backend-v1': 50, 'backend-v2': 50 });
    expect(delay).toBeGreaterThan(0); // waits out the rest of the interval at 50, not judged at once
    // The owed Event is announced once; a second tick does not repeat it.
    expect(t.sink.events.slice(eventsBefore).map((e) => e.reason)).toEqual(['WeightAdvanced']);
    await fresh.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.sink.events.slice(eventsBefore).map((e) => e.reason)).toEqual(['WeightAdvanced']);
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    const moves = t.sink.events.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    expect(moves.filter((m) => m.includes('-> 50'))).toHaveLength(1);
    expect(moves.filter((m) => m.includes('-> 75'))).toHaveLength(1);
  });

  describe('an owed transition Event found only on a conflict (the tick started from a stale copy)', () => {
    /** At 25 with its analysis due; the stored status owes an Event the tick's own copy does not show. */
    async function staleTick(t: ReturnType<typeof setup>): Promise<Canary> {
      await t.run(3, (s) => (s.stepIndex ?? -1) >= 1);
      const stale = structuredClone(t.store.canary);
      t.store.canary.status = { ...t.store.canary.status, pendingEvent: { name: 'backend.owed', reason: 'WeightAdvanced', message: 'owed step' } };
      t.store.bump();
      await t.clock.advance(60_000);
      return stale;
    }

    it('keeps the debt through a write that does not announce it, and the next tick announces it', async () => {
      const t = setup();
      const stale = await staleTick(t);
      t.setOutcome({ kind: 'no-data' }); // a hold: a status write without a transition
      await t.reconciler.reconcile(stale, t.signal);
      expect(t.store.canary.status?.lastAnalysis?.[0]?.verdict).toBe('inconclusive');
      expect(t.store.canary.status?.pendingEvent?.name).toBe('backend.owed');
      expect(t.sink.events.some((e) => e.metadata.name === 'backend.owed')).toBe(false);
      await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
      expect(t.sink.events.filter((e) => e.metadata.name === 'backend.owed')).toHaveLength(1);
      expect(t.store.canary.status?.pendingEvent).toBeUndefined();
    });

    it('announces a debt displaced by a new transition right after writing it', async () => {
      const t = setup();
      const stale = await staleTick(t);
      await t.reconciler.reconcile(stale, t.signal); // passes: advances 25 -> 50
      expect(t.store.canary.status?.canaryWeight).toBe(50);
      const names = t.sink.events.map((e) => e.metadata.name);
      expect(names).toContain('backend.owed');
      expect(names.indexOf('backend.owed')).toBeLessThan(names.length - 1);
      expect(t.sink.events.at(-1)?.reason).toBe('WeightAdvanced');
      // The new step's own debt, paid, stays for the next status write to drop.
      expect(t.store.canary.status?.pendingEvent?.name).toBe(t.sink.events.at(-1)?.metadata.name);
      expect(t.store.canary.status?.owedEvents).toBeUndefined();
    });

    it('keeps a displaced debt whose Event write fails too in status.owedEvents, and a later tick announces it (found by faults-api)', async () => {
      const t = setup();
      const stale = await staleTick(t);
      const create = t.sink.create.bind(t.sink);
      let failures = 1;
      t.sink.create = async (ns, e) => {
        if (e.metadata.name === 'backend.owed' && failures-- > 0) throw new KubeApiError(500, 'injected');
        return create(ns, e);
      };
      const next = await t.reconciler.reconcile(stale, t.signal); // advances 25 -> 50, displacing the debt
      expect(t.store.canary.status?.canaryWeight).toBe(50);
      expect(t.sink.events.some((e) => e.metadata.name === 'backend.owed')).toBe(false);
      expect(t.store.canary.status?.owedEvents).toEqual([{ name: 'backend.owed', reason: 'WeightAdvanced', message: 'owed step' }]);
      expect(next).toBeLessThanOrEqual(2_000); // retried soon
      await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
      expect(t.sink.events.filter((e) => e.metadata.name === 'backend.owed')).toHaveLength(1);
      expect(t.store.canary.status?.owedEvents).toBeUndefined();
      // The rollout goes on to the end; the debt is announced once.
      await t.run();
      expect(t.store.canary.status?.phase).toBe('Succeeded');
      expect(t.sink.events.filter((e) => e.metadata.name === 'backend.owed')).toHaveLength(1);
    });
  });

  it('restores weights someone else changed, and says so', async () => {
    const t = setup();
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 1);
    t.routes.update(ROUTE, (r) => {
      const refs = r.spec.rules?.[0]?.backendRefs ?? [];
      (refs[0] as { weight: number }).weight = 1;
      (refs[1] as { weight: number }).weight = 99;
    });
    await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.routes.weights()).toEqual({ 'backend-v1': 75, 'backend-v2': 25 });
    expect(t.reasons()).toContain('WeightRestored');
  });

  it('waits for the mesh to program a change before judging it', async () => {
    const t = setup();
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 1);
    t.routes.lagging = true;
    t.routes.update(ROUTE, (r) => {
      const p = r.status?.parents?.[0];
      if (p) for (const c of p.conditions ?? []) c.observedGeneration = 0;
    });
    await t.clock.advance(60_000);
    const patchesBefore = t.routes.calls.filter((c) => c.verb === 'patch').length;
    const delay = await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(delay).toBeLessThanOrEqual(2_000);
    expect(t.reasons()).toContain('WaitingForRoute');
    expect(t.routes.calls.filter((c) => c.verb === 'patch').length).toBe(patchesBefore);
    expect(t.store.canary.status?.canaryWeight).toBe(25);
  });

  it('retries an owed transition Event that failed to write, even once the rollout has ended', async () => {
    const t = setup();
    await t.run(30, (s) => s.phase === 'Promoting');
    const create = t.sink.create.bind(t.sink);
    let failures = 1;
    t.sink.create = async (ns, e) => {
      if (e.reason === 'Promoted' && failures-- > 0) throw new KubeApiError(500, 'injected');
      return create(ns, e);
    };
    await t.clock.advance(1_000);
    const next = await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    expect(t.reasons()).not.toContain('Promoted');
    expect(next).toBeDefined();
    await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.reasons().filter((r) => r === 'Promoted')).toHaveLength(1);
    expect(t.store.canary.status?.pendingEvent).toBeUndefined();
    expect(await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal)).toBeUndefined();
  });

  it('refuses a route whose backendRefs do not match, leaving it untouched', async () => {
    const t = setup();
    t.store.canary.spec.canary = { name: 'backend-v9', port: 80 };
    const before = JSON.stringify(t.routes.peek(ROUTE)?.spec);
    await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(JSON.stringify(t.routes.peek(ROUTE)?.spec)).toBe(before);
    const ready = t.store.canary.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.reason).toBe('RouteMismatch');
    expect(ready?.message).toContain('backend-v9');
    expect(t.reasons()).toEqual(['RouteMismatch']);
  });

  it('reports an invalid spec in status and an Event, and waits for an edit', async () => {
    const t = setup();
    t.setProblems([{ path: 'spec.analysis.stepWeights[1]', message: 'steps must ascend' }]);
    const next = await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(next).toBeUndefined();
    expect(t.store.canary.status?.phase).toBe('Invalid');
    expect(t.store.canary.status?.conditions?.[0]?.reason).toBe('InvalidSpec');
    expect(t.sink.events[0]?.message).toContain('spec.analysis.stepWeights[1]: steps must ascend');
    expect(t.routes.calls.filter((c) => c.verb === 'patch')).toHaveLength(0);
    expect(new InvalidSpecError([{ path: 'a', message: 'b' }]).code).toBe('InvalidSpec');
  });

  it('rolls back at once on an abort request, and reruns the revision on a retry request', async () => {
    const t = setup();
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 1);
    t.store.edit((c) => (c.metadata.annotations = { [ANNOTATIONS.abort]: 'now' }));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Failed');
    expect(t.sink.events.find((e) => e.reason === 'RollbackStarted')?.message).toContain('operator');
    const failedRevision = t.store.canary.status?.revision;
    t.store.edit((c) => (c.metadata.annotations = { ...c.metadata.annotations, [ANNOTATIONS.retry]: '1' }));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    expect(t.store.canary.status?.revision).not.toBe(failedRevision);
    expect(t.reasons().filter((r) => r === 'RolloutStarted')).toHaveLength(2);
  });

  it('an abort left on an idle Canary does not act on the next rollout', async () => {
    const t = setup();
    t.store.edit((c) => (c.metadata.annotations = { [ANNOTATIONS.abort]: 'old' }));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
  });

  it('pauses on spec.suspend and resumes where it was', async () => {
    const t = setup();
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 1);
    t.store.edit((c) => (c.spec.suspend = true));
    await t.clock.advance(60_000);
    expect(await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal)).toBeUndefined();
    expect(t.store.canary.status?.phase).toBe('Paused');
    expect(t.routes.weights()['backend-v2']).toBe(25);
    t.store.edit((c) => (c.spec.suspend = false));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    expect(t.reasons()).toEqual(expect.arrayContaining(['Paused', 'Resumed']));
  });

  it('a suspended Canary holds a new rollout before its first step', async () => {
    const t = setup(canary());
    t.store.edit((c) => (c.spec.suspend = true));
    await t.run(5);
    expect(t.store.canary.status?.phase).toBe('Paused');
    expect(t.store.canary.status?.stepIndex).toBe(-1);
    expect(t.reasons()).not.toContain('WeightAdvanced');
    t.store.edit((c) => (c.spec.suspend = false));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
  });

  it('hands a time-out to a person with onInconclusiveLimit: pause; resume analyses again, promote promotes', async () => {
    const t = setup(canary({ inconclusiveLimit: 3, onInconclusiveLimit: 'pause' }));
    t.setOutcome({ kind: 'no-data' });
    await t.run(12);
    // Held at the first weight, not rolled back, for as long as nobody decides.
    expect(t.store.canary.status?.phase).toBe('Waiting');
    expect(t.routes.weights()['backend-v2']).toBe(10);
    expect(t.store.canary.status?.inconclusiveChecks).toBe(3);
    expect(t.reasons()).not.toContain('RollbackStarted');
    const handover = t.sink.events.filter((e) => e.reason === 'AwaitingDecision');
    expect(handover.length).toBeGreaterThanOrEqual(1);
    expect(handover[0]?.type).toBe('Warning');
    expect(handover[0]?.message).toMatch(/^Waiting for a decision at weight 10: request-success-rate .*3\/3 inconclusive \(onInconclusiveLimit: pause\)/);
    expect(t.store.canary.status?.message).toMatch(/^Waiting for a decision at weight 10/);
    // `routeshift resume`: a new approve value starts a new round of three analyses, and is used up.
    t.store.edit((c) => (c.metadata.annotations = { [ANNOTATIONS.approve]: 'r1' }));
    await t.run(2);
    expect(t.store.canary.status?.handledAnnotations?.[ANNOTATIONS.approve]).toBe('r1');
    expect(t.store.canary.status?.inconclusiveChecks).toBeLessThan(3);
    expect(t.store.canary.status?.phase).toBe('Progressing');
    // With data back, the analysis passes and the rollout goes on to the end.
    t.setOutcome(value(99.9));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
  });

  it('a rollout handed to a person is promoted by a promote request, or rolled back by an abort', async () => {
    for (const [annotation, phase] of [
      [ANNOTATIONS.promote, 'Succeeded'],
      [ANNOTATIONS.abort, 'Failed'],
    ] as const) {
      const t = setup(canary({ inconclusiveLimit: 2, onInconclusiveLimit: 'pause' }));
      t.setOutcome({ kind: 'no-data' });
      await t.run(8);
      expect(t.store.canary.status?.phase).toBe('Waiting');
      t.store.edit((c) => (c.metadata.annotations = { [annotation]: 'now' }));
      await t.run();
      expect(t.store.canary.status?.phase).toBe(phase);
    }
  });

  it('skipAnalysis promotes at the rollout start, behind a closed confirm-promotion gate, without pre-rollout checks', async () => {
    const t = setup();
    t.store.edit((c) => (c.spec.skipAnalysis = true));
    t.setGates([
      { name: 'release', type: 'confirm-promotion', passed: false, message: 'not yet' },
      { name: 'smoke', type: 'pre-rollout', passed: false, message: 'would fail' },
    ]);
    await t.run(4);
    expect(t.store.canary.status?.phase).toBe('Waiting');
    expect(t.store.canary.status?.failedChecks ?? 0).toBe(0);
    expect(t.reasons()).not.toContain('WeightAdvanced');
    t.setGates([{ name: 'smoke', type: 'pre-rollout', passed: false, message: 'would fail' }]);
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    expect(t.reasons()).toEqual(['RolloutStarted', 'WaitingForGate', 'PromotionStarted', 'Promoted']);
    expect(t.sink.events.find((e) => e.reason === 'PromotionStarted')?.message).toBe('Promoting without analysis (skipAnalysis): canary weight 10 -> 100');
  });

  it('skipAnalysis set during a rollout promotes at the next tick instead of walking the steps', async () => {
    const t = setup();
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 1); // at 25
    t.store.edit((c) => (c.spec.skipAnalysis = true));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    const moves = t.sink.events.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    expect(moves.some((m) => m.includes('-> 50'))).toBe(false);
    expect(t.sink.events.find((e) => e.reason === 'PromotionStarted')?.message).toBe('Promoting canary from weight 25: analysis skipped (skipAnalysis)');
  });

  it('a failed pre-rollout check holds before the first step and rolls back at the threshold', async () => {
    const t = setup();
    t.setGates([{ name: 'smoke', type: 'pre-rollout', passed: false, message: 'smoke failed' }]);
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Failed');
    expect(t.reasons()).toEqual(['RolloutStarted', 'HookFailed', 'RollbackStarted', 'RolledBack']);
    expect(t.sink.events.find((e) => e.reason === 'RollbackStarted')?.message).toBe('Pre-rollout checks failed 2/2: smoke failed');
  });

  it('holds without counting a failure while a confirm-promotion gate is closed', async () => {
    const t = setup();
    t.setGates([{ name: 'approval', type: 'confirm-promotion', passed: false, message: "confirm-promotion gate 'approval' closed: HTTP 403" }]);
    await t.run(12);
    expect(t.store.canary.status?.phase).toBe('Waiting');
    expect(t.store.canary.status?.canaryWeight).toBe(75);
    expect(t.store.canary.status?.failedChecks ?? 0).toBe(0);
    expect(t.reasons()).toContain('WaitingForGate');
    t.setGates([]);
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
  });

  it('keeps its status write through a conflict by re-reading', async () => {
    const t = setup();
    t.store.conflicts = 2;
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
  });

  it('says MetricsUnavailable while every query fails, and never advances meanwhile', async () => {
    const t = setup();
    t.setOutcome({ kind: 'error', code: 'PrometheusUnreachable', message: 'connect ECONNREFUSED', transient: true });
    await t.run(4);
    expect(t.reasons()).toContain('MetricsUnavailable');
    expect(t.store.canary.status?.canaryWeight).toBe(10);
    t.setOutcome(value(99.9));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
  });

  it('aggregates repeated identical events into one Event with a count', async () => {
    const t = setup(canary({ threshold: 50, inconclusiveLimit: 100 }));
    t.setOutcome({ kind: 'no-data' });
    await t.run(6);
    const held = t.sink.events.filter((e) => e.reason === 'AnalysisHeld');
    expect(held.length).toBeGreaterThanOrEqual(1);
    expect(held.length).toBeLessThan(5);
  });
});

describe('Reconciler with a traffic shape', () => {
  /** The seed route with a named weighted rule and an A/B rule holding the same two backendRefs. */
  function abSetup(): ReturnType<typeof setup> {
    const c = canary({ stepWeights: undefined, iterations: 2, matchRule: 'testers' });
    c.spec.routeRef.rule = 'main';
    const t = setup(c);
    t.routes.update(ROUTE, (r) => {
      const main = r.spec.rules?.[0];
      if (main) main.name = 'main';
      r.spec.rules?.unshift({
        name: 'testers',
        matches: [{ headers: [{ name: 'x-canary', value: 'insider' }] }],
        backendRefs: [{ name: 'backend-v1', port: 80, weight: 100 }, { name: 'backend-v2', port: 80, weight: 0 }],
      });
    });
    return t;
  }
  const ruleWeights = (t: ReturnType<typeof setup>, name: string): Array<number | undefined> =>
    (t.routes.peek(ROUTE)?.spec.rules?.find((r) => r.name === name)?.backendRefs ?? []).map((b) => b.weight);

  it('flips the A/B rule for the iterations and promotes the weighted rule after them', async () => {
    const t = abSetup();
    await t.run(50, (s) => s.stepIndex === 0 && s.phase === 'Progressing');
    expect(ruleWeights(t, 'testers')).toEqual([0, 100]);
    // The seed's 90/10 went to canary 0 with the flip: during the test only the testers reach the canary.
    expect(ruleWeights(t, 'main')).toEqual([100, 0]);
    expect(t.routes.calls.filter((c) => c.verb === 'patch')).toHaveLength(1);
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    expect(ruleWeights(t, 'testers')).toEqual([0, 100]);
    expect(ruleWeights(t, 'main')).toEqual([0, 100]);
    const advanced = t.sink.events.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    expect(advanced).toEqual([expect.stringMatching(/A\/B iteration 1\/2/), expect.stringMatching(/A\/B iteration 2\/2: request-success-rate/)]);
  });

  it('flips the A/B rule back on a failed test, touching only that rule', async () => {
    const t = abSetup();
    await t.run(50, (s) => s.stepIndex === 0 && s.phase === 'Progressing');
    t.setOutcome(value(50));
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Failed');
    expect(ruleWeights(t, 'testers')).toEqual([100, 0]);
    expect(ruleWeights(t, 'main')).toEqual([100, 0]);
    const last = t.routes.calls.filter((c) => c.verb === 'patch').at(-1);
    expect(last?.ops?.filter((o) => o.op === 'replace').map((o) => o.path)).toEqual([
      '/spec/rules/0/backendRefs/0/weight',
      '/spec/rules/0/backendRefs/1/weight',
    ]);
  });

  it('restores an A/B rule someone reset during the test, and says it was the shape', async () => {
    const t = abSetup();
    await t.run(50, (s) => s.stepIndex === 0 && s.phase === 'Progressing');
    t.routes.update(ROUTE, (r) => {
      const refs = r.spec.rules?.[0]?.backendRefs ?? [];
      (refs[0] as { weight: number }).weight = 100;
      (refs[1] as { weight: number }).weight = 0;
    });
    await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(ruleWeights(t, 'testers')).toEqual([0, 100]);
    expect(t.sink.events.find((e) => e.reason === 'WeightRestored')?.message).toBe(
      'HTTPRoute istio-test/backend-split: restored the traffic shape this rollout is at (canary 0, A/B rule canary 100)',
    );
  });

  it('reports a route without the A/B rule and writes nothing', async () => {
    const c = canary({ stepWeights: undefined, iterations: 2, matchRule: 'testers' });
    const t = setup(c);
    const before = t.routes.peek(ROUTE);
    await t.run(3);
    expect(t.store.canary.status?.conditions?.find((k) => k.type === 'Ready')).toMatchObject({ status: 'False', reason: 'RouteMismatch' });
    expect(t.sink.events.find((e) => e.reason === 'RouteMismatch')?.message).toMatch(/has no rule named "testers".*\(weights left untouched\)/);
    expect(t.routes.peek(ROUTE)?.spec).toEqual(before?.spec);
  });
});

describe('Reconciler on a stale informer copy', () => {
  it('announces RolloutStarted once when the next tick still sees the Canary from before its own status write', async () => {
    const t = setup();
    const announced: string[] = [];
    (t.reconciler as unknown as { deps: { recorder: Recorder } }).deps.recorder.onEvent((e) => announced.push(e.reason));
    const before = structuredClone(t.store.canary);
    await t.reconciler.reconcile(structuredClone(before), t.signal);
    // The informer has not delivered our writes yet: the scheduler's immediate re-tick gets the old copy.
    await t.reconciler.reconcile(structuredClone(before), t.signal);
    expect(announced.filter((r) => r === 'RolloutStarted')).toEqual(['RolloutStarted']);
    expect(t.reasons().filter((r) => r === 'RolloutStarted')).toHaveLength(1);
  });
});

describe('Reconciler folding WeightAdvanced Events (events.advanceWindow)', () => {
  it('folds the steps of a canary faster than the window into one Event: an advancing tick is one status write and one route patch', async () => {
    const t = setup(canary({ interval: '10s' }), 60_000);
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 0); // at 10
    await t.clock.advance(10_000);
    const [writes, events, patches] = [t.store.writes, t.sink.events.length, t.routes.calls.filter((c) => c.verb === 'patch').length];
    const next = await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.store.canary.status?.canaryWeight).toBe(25);
    expect(t.store.canary.status?.pendingEvent).toMatchObject({ count: 2, steps: [10, 25] });
    expect([t.store.writes - writes, t.sink.events.length - events, t.routes.calls.filter((c) => c.verb === 'patch').length - patches]).toEqual([1, 0, 1]);
    expect(next).toBe(10_000); // the next analysis; the fold is not due before it
    await t.run();
    expect(t.store.canary.status?.phase).toBe('Succeeded');
    // k = 6 > 4 steps: one Event for all four, written before PromotionStarted.
    expect(t.reasons()).toEqual(['RolloutStarted', 'WeightAdvanced', 'PromotionStarted', 'Promoted']);
    const fold = t.sink.events[1];
    expect([fold?.count, fold?.metadata.annotations?.['routeshift.io/steps']]).toEqual([4, '10,25,50,75']);
    expect(fold?.message).toMatch(/^Advanced canary weight 10 -> 75 in 4 steps \(10, 25, 50, 75\); last step: request-success-rate 99\.9% >= 99/);
    expect(fold?.metadata.name).toBe(transitionEventName('backend', t.store.canary.status?.revision ?? '', 0, 'Progressing', 'WeightAdvanced'));
  });

  it('a canary suspended with a deferred fold writes the fold before its Paused Event, and then waits for the edit', async () => {
    const t = setup(canary({ interval: '10s' }), 60_000);
    await t.run(3, (s) => (s.stepIndex ?? -1) >= 0); // at 10, its Event deferred
    const first = t.clock.now();
    expect(t.reasons()).not.toContain('WeightAdvanced');
    t.store.canary.spec.suspend = true;
    await t.clock.advance(10_000);
    const next = await t.reconciler.reconcile(structuredClone(t.store.canary), t.signal);
    expect(t.store.canary.status?.phase).toBe('Paused');
    expect(next).toBeUndefined();
    const reasons = t.reasons();
    expect(reasons.indexOf('WeightAdvanced')).toBeGreaterThanOrEqual(0);
    expect(reasons.indexOf('WeightAdvanced')).toBeLessThan(reasons.indexOf('Paused'));
    const fold = t.sink.events.filter((e) => e.reason === 'WeightAdvanced');
    expect(fold.map((e) => [e.count, e.metadata.annotations?.['routeshift.io/steps'], e.firstTimestamp])).toEqual([[1, '10', new Date(first).toISOString()]]);
  });
});
