/**
 * The Event bookkeeping of status writes (event-ledger.ts), with an in-memory Canary store and an Event sink
 * that can be told to fail.
 */
import type { Canary } from '../api/canary.js';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { Reason } from '../events/reasons.js';
import { Recorder, type CoreEvent, type EventSink } from '../events/recorder.js';
import { KubeApiError } from '../kube/errors.js';
import type { CanaryStore } from './canary-store.js';
import { EventLedger, MAX_OWED_EVENTS, transitionEventName, type LedgerTick } from './event-ledger.js';
import { STEPS_ANNOTATION } from './advance-fold.js';

class Store implements CanaryStore {
  rv = 1;
  constructor(public canary: Canary) {}
  async get(): Promise<Canary> {
    return structuredClone(this.canary);
  }
  async list() {
    return { items: [structuredClone(this.canary)] };
  }
  async replaceStatus(c: Canary): Promise<Canary> {
    if (c.metadata.resourceVersion !== this.canary.metadata.resourceVersion) throw new KubeApiError(409, 'stale');
    this.canary = { ...this.canary, status: structuredClone(c.status ?? {}), metadata: { ...this.canary.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.canary);
  }
  async patch(): Promise<Canary> {
    throw new Error('unused');
  }
}

class Sink implements EventSink {
  events: CoreEvent[] = [];
  failing = new Set<string>();
  async create(_ns: string, e: CoreEvent): Promise<void> {
    if (this.failing.has(e.metadata.name) || this.failing.has('*')) throw new KubeApiError(500, 'injected');
    if (this.events.some((x) => x.metadata.name === e.metadata.name)) throw new KubeApiError(409, 'AlreadyExists');
    this.events.push(e);
  }
  async update(_ns: string, name: string, patch: { count: number }): Promise<void> {
    const e = this.events.find((x) => x.metadata.name === name);
    if (!e) throw new Error('gone');
    e.count = patch.count;
  }
}

function setup() {
  const canary: Canary = {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'ns', resourceVersion: '1', uid: 'u' },
    spec: { routeRef: { name: 'r' }, stable: { name: 's', port: 80 }, canary: { name: 'c', port: 80 }, analysis: { interval: '1m', threshold: 2 } },
    status: { revision: 'rev1', stepIndex: 0, phase: 'Progressing' },
  };
  const store = new Store(canary);
  const sink = new Sink();
  const ledger = new EventLedger({ store, recorder: new Recorder(sink, silentLogger(), new FakeClock(0)), clock: new FakeClock(0) });
  const tick = (): LedgerTick => ({
    canary: structuredClone(store.canary),
    status: structuredClone(store.canary.status ?? {}),
    signal: new AbortController().signal,
    log: silentLogger(),
  });
  return { store, sink, ledger, tick };
}

describe('EventLedger', () => {
  it('a step is one status write carrying the Event it owes, then the Event; the next status write drops the paid debt', async () => {
    const { store, sink, ledger, tick } = setup();
    const name = transitionEventName('app', 'rev1', 1, 'Progressing', 'WeightAdvanced');
    await ledger.transition(tick(), Reason.WeightAdvanced, 'moved', (s) => ({ ...s, stepIndex: 1, canaryWeight: 20 }));
    expect(store.canary.status?.canaryWeight).toBe(20);
    expect(store.rv).toBe(2); // one status write
    expect(store.canary.status?.pendingEvent?.name).toBe(name);
    expect(sink.events.map((e) => [e.metadata.name, e.message])).toEqual([[name, 'moved']]);
    // The next tick knows it paid: it owes nothing, announces nothing, and its own write drops the debt.
    const next = tick();
    expect(ledger.owes(next)).toBe(false);
    await ledger.announcePending(next);
    expect(next.resuming).toBeUndefined();
    expect(store.rv).toBe(2);
    await ledger.commit(next, (s) => ({ ...s, message: 'analysed' }));
    expect(store.canary.status?.pendingEvent).toBeUndefined();
    expect(sink.events).toHaveLength(1);
  });

  it('a controller restarted with a paid debt in status announces it under its name, which the API already has', async () => {
    const { store, sink, ledger, tick } = setup();
    await ledger.transition(tick(), Reason.WeightAdvanced, 'moved', (s) => ({ ...s, stepIndex: 1, canaryWeight: 20 }));
    const restarted = new EventLedger({ store, recorder: new Recorder(sink, silentLogger(), new FakeClock(0)), clock: new FakeClock(0) });
    const t = tick();
    expect(restarted.owes(t)).toBe(true);
    await restarted.announcePending(t);
    expect(t.resuming).toBe(true);
    expect(store.canary.status?.pendingEvent).toBeUndefined();
    expect(sink.events).toHaveLength(1);
  });

  it('a final phase drops the paid debt in the same tick (no status write follows)', async () => {
    const { store, sink, ledger, tick } = setup();
    await ledger.transition(tick(), Reason.Promoted, 'promoted', (s) => ({ ...s, phase: 'Succeeded' }));
    expect(store.canary.status?.phase).toBe('Succeeded');
    expect(store.canary.status?.pendingEvent).toBeUndefined();
    expect(sink.events.map((e) => e.reason)).toEqual(['Promoted']);
  });

  it('keeps the debt in status when the Event cannot be written, and announcePending pays it once', async () => {
    const { store, sink, ledger, tick } = setup();
    sink.failing.add('*');
    await ledger.transition(tick(), Reason.PromotionStarted, 'promoting', (s) => ({ ...s, phase: 'Promoting' }));
    expect(store.canary.status?.pendingEvent?.message).toBe('promoting');
    sink.failing.clear();
    const t = tick();
    await ledger.announcePending(t);
    expect(t.resuming).toBe(true);
    expect(store.canary.status?.pendingEvent).toBeUndefined();
    await ledger.announcePending(tick());
    expect(sink.events.filter((e) => e.reason === 'PromotionStarted')).toHaveLength(1);
  });

  it('moves a debt displaced by a new transition to owedEvents and pays it in the same tick', async () => {
    const { store, sink, ledger, tick } = setup();
    store.canary.status = { ...store.canary.status, pendingEvent: { name: 'app.old', reason: 'WeightAdvanced', message: 'old' } };
    await ledger.transition(tick(), Reason.WeightAdvanced, 'new', (s) => ({ ...s, stepIndex: 2 }));
    expect(sink.events.map((e) => e.message).sort()).toEqual(['new', 'old']);
    expect(store.canary.status?.owedEvents).toBeUndefined();
    expect(store.canary.status?.pendingEvent?.message).toBe('new'); // paid; the next status write drops it
  });

  it('tries each owed Event once per tick and bounds the list', async () => {
    const { store, sink, ledger, tick } = setup();
    const owed = Array.from({ length: MAX_OWED_EVENTS + 5 }, (_, i) => ({ name: `app.e${i}`, reason: 'WeightAdvanced', message: `e${i}` }));
    store.canary.status = { ...store.canary.status, owedEvents: owed };
    sink.failing.add('*');
    const t = tick();
    await ledger.commit(t, (s) => ({ ...s, message: 'x' }));
    expect(store.canary.status?.owedEvents).toHaveLength(MAX_OWED_EVENTS);
    expect(t.tried?.size).toBe(MAX_OWED_EVENTS);
    sink.failing.clear();
    await ledger.announcePending(tick());
    expect(sink.events).toHaveLength(MAX_OWED_EVENTS);
    expect(store.canary.status?.owedEvents).toBeUndefined();
  });
});

/** A ledger folding WeightAdvanced Events: `interval` against a 60 s window (10s: 6 steps an Event). */
function folding(interval = '10s', windowMs = 60_000) {
  const base = setup();
  base.store.canary.spec.analysis.interval = interval;
  const clock = new FakeClock(Date.UTC(2026, 11, 7));
  const notified: string[] = [];
  const fresh = (): EventLedger => {
    const recorder = new Recorder(base.sink, silentLogger(), clock);
    recorder.onEvent((e) => notified.push(e.message));
    return new EventLedger({ store: base.store, recorder, clock, advanceWindowMs: windowMs });
  };
  const tick = (): LedgerTick => ({ ...base.tick(), now: clock.now() });
  /** One advancing tick as moveTo makes it: status (step i, weight `to`), then the Event or its deferral. */
  const step = async (ledger: EventLedger, i: number, from: number, to: number): Promise<LedgerTick> => {
    const t = tick();
    const message = `Advanced canary weight ${from} -> ${to}: success-rate 99.9% >= 99`;
    const mutate = (s: Canary['status'] & object) => ({ ...s, phase: 'Progressing' as const, stepIndex: i, canaryWeight: to });
    await ledger.transition(t, Reason.WeightAdvanced, message, mutate, { from, to, stepIndex: i }, { from, to });
    return t;
  };
  return { ...base, clock, notified, fresh, tick, step, ledger: fresh() };
}

describe('EventLedger folding WeightAdvanced Events', () => {
  const stepName = (i: number) => transitionEventName('app', 'rev1', i, 'Progressing', 'WeightAdvanced');

  it('folds k = ceil(window / interval) steps into one Event written at the k-th: one status write per step, one Event write', async () => {
    const { store, sink, clock, notified, ledger, step } = folding('10s');
    const first = clock.now();
    for (let i = 0; i < 6; i++) {
      if (i > 0) await clock.advance(10_000);
      await step(ledger, i, i * 10, (i + 1) * 10);
      expect(sink.events).toHaveLength(i < 5 ? 0 : 1);
    }
    expect(store.rv).toBe(1 + 6);
    const [e] = sink.events;
    expect(e?.metadata.name).toBe(stepName(0));
    expect(e?.count).toBe(6);
    expect(e?.metadata.annotations).toEqual({ [STEPS_ANNOTATION]: '10,20,30,40,50,60' });
    expect([e?.firstTimestamp, e?.lastTimestamp]).toEqual([new Date(first).toISOString(), new Date(first + 50_000).toISOString()]);
    expect(e?.message).toBe('Advanced canary weight 0 -> 60 in 6 steps (10, 20, 30, 40, 50, 60); last step: success-rate 99.9% >= 99');
    expect(notified).toEqual([e?.message]); // listeners hear the Event, not each step
    // The seventh step starts the next fold, under its own name; the paid one is dropped from status.
    await clock.advance(10_000);
    await step(ledger, 6, 60, 70);
    expect(store.canary.status?.pendingEvent).toMatchObject({ name: stepName(6), count: 1, steps: [70] });
    expect(sink.events).toHaveLength(1);
  });

  it('writes the fold before the Event of a different transition, so Events stay in order', async () => {
    const { store, sink, clock, ledger, step, tick } = folding('10s');
    await step(ledger, 0, 0, 20);
    await clock.advance(10_000);
    await step(ledger, 1, 20, 40);
    await ledger.transition(tick(), Reason.PromotionStarted, 'promoting', (s) => ({ ...s, phase: 'Promoting', canaryWeight: 100 }));
    expect(sink.events.map((e) => [e.reason, e.count, e.metadata.annotations?.[STEPS_ANNOTATION]])).toEqual([
      ['WeightAdvanced', 2, '20,40'],
      ['PromotionStarted', 1, undefined],
    ]);
    expect(store.canary.status?.owedEvents).toBeUndefined();
  });

  it('writes a deferred fold before any other Event about the canary (a failed check), except a decision forecast', async () => {
    const { sink, clock, ledger, step, tick } = folding('10s');
    await step(ledger, 0, 0, 20);
    await ledger.event(tick(), Reason.DecisionForecast, 'the test may answer at weight 20');
    expect(sink.events.map((e) => e.reason)).toEqual(['DecisionForecast']);
    await clock.advance(10_000);
    const t = tick();
    await ledger.event(t, Reason.CheckFailed, 'Holding at weight 20: success-rate 90% < 99 (1/2 failed checks)');
    expect(sink.events.map((e) => [e.reason, e.metadata.annotations?.[STEPS_ANNOTATION]])).toEqual([
      ['DecisionForecast', undefined],
      ['WeightAdvanced', '20'],
      ['CheckFailed', undefined],
    ]);
    expect(ledger.owes(t)).toBe(false);
    // Written once: the next step starts a fold of its own.
    await clock.advance(10_000);
    await step(ledger, 1, 20, 40);
    expect(sink.events.filter((e) => e.reason === 'WeightAdvanced')).toHaveLength(1);
  });

  it('writes a fold a window old while the rollout holds, without a status write of its own; not before', async () => {
    const { store, sink, clock, ledger, step, tick } = folding('10s');
    await step(ledger, 0, 0, 20);
    await clock.advance(30_000);
    let t = tick();
    expect(ledger.owes(t)).toBe(false); // deferred by this process: no retry soon
    expect(ledger.foldDueIn(t)).toBe(30_000); // but the tick comes back when it falls due
    await ledger.announcePending(t);
    expect(sink.events).toHaveLength(0);
    await clock.advance(30_000);
    t = tick();
    const rv = store.rv;
    await ledger.announcePending(t);
    expect(sink.events.map((e) => [e.metadata.name, e.count, e.message, e.metadata.annotations?.[STEPS_ANNOTATION]])).toEqual([
      [stepName(0), 1, 'Advanced canary weight 0 -> 20: success-rate 99.9% >= 99', '20'],
    ]);
    expect(store.rv).toBe(rv);
    expect(ledger.owes(tick())).toBe(false);
    // The hold's own status write drops the paid debt.
    await ledger.commit(tick(), (s) => ({ ...s, message: 'held' }));
    expect(store.canary.status?.pendingEvent).toBeUndefined();
  });

  it('writes every step at once, as without folding, for a canary whose interval is not shorter than the window', async () => {
    const { store, sink, clock, ledger, step } = folding('1m');
    await step(ledger, 0, 0, 20);
    await clock.advance(60_000);
    await step(ledger, 1, 20, 40);
    expect(sink.events.map((e) => [e.metadata.name, e.count, e.metadata.annotations])).toEqual([
      [stepName(0), 1, undefined],
      [stepName(1), 1, undefined],
    ]);
    expect(store.canary.status?.pendingEvent).toEqual({ name: stepName(1), reason: 'WeightAdvanced', message: 'Advanced canary weight 20 -> 40: success-rate 99.9% >= 99' });
  });

  it('a restarted controller writes a fold it finds in status at once, under its name and as status has it; AlreadyExists counts as written', async () => {
    const { store, sink, clock, ledger, step, tick, fresh } = folding('10s');
    for (let i = 0; i < 3; i++) {
      await step(ledger, i, i * 20, (i + 1) * 20);
      await clock.advance(10_000);
    }
    const debt = store.canary.status?.pendingEvent;
    const restarted = fresh();
    const t = tick();
    expect(restarted.owes(t)).toBe(true);
    await restarted.announcePending(t);
    expect(sink.events.map((e) => [e.metadata.name, e.count, e.metadata.annotations?.[STEPS_ANNOTATION]])).toEqual([[stepName(0), 3, '20,40,60']]);
    expect(store.canary.status?.pendingEvent).toBeUndefined();
    // Killed after the Event, before the status write: a second restart finds the Event there and writes no other.
    store.canary.status = { ...store.canary.status, pendingEvent: debt };
    const again = tick();
    await fresh().announcePending(again);
    expect(sink.events).toHaveLength(1);
    expect(store.canary.status?.pendingEvent).toBeUndefined();
    // And a later step starts a new fold rather than extending one already in the API.
    await step(restarted, 3, 60, 80);
    expect(store.canary.status?.pendingEvent).toMatchObject({ name: stepName(3), steps: [80] });
  });

  it('does not extend a fold it finds in status but did not defer itself (its Event may be in the API): it is written first', async () => {
    const { store, sink, ledger, step, fresh, tick } = folding('10s');
    await step(ledger, 0, 0, 20);
    sink.failing.add(stepName(0)); // the restarted controller cannot write it yet
    const restarted = fresh();
    await step(restarted, 1, 20, 40);
    expect(store.canary.status?.pendingEvent).toMatchObject({ name: stepName(1), steps: [40] });
    expect(store.canary.status?.owedEvents).toEqual([expect.objectContaining({ name: stepName(0), steps: [20], count: 1 })]);
    sink.failing.clear();
    await restarted.announcePending(tick());
    expect(sink.events.map((e) => [e.metadata.name, e.count])).toEqual([[stepName(0), 1]]);
    expect(store.canary.status?.owedEvents).toBeUndefined();
    expect(store.canary.status?.pendingEvent?.name).toBe(stepName(1)); // still deferred: not due
  });

  it('forgets its deferred fold when the canary comes back from another owner, who may have written it', async () => {
    const { store, sink, ledger, step, clock } = folding('10s');
    await step(ledger, 0, 0, 20);
    // Another owner wrote the fold's Event meanwhile and lost the canary before dropping the debt.
    await sink.create('ns', { metadata: { name: stepName(0), namespace: 'ns' }, count: 1 } as CoreEvent);
    ledger.forget(store.canary);
    await clock.advance(10_000);
    await step(ledger, 1, 20, 40);
    expect(store.canary.status?.pendingEvent).toMatchObject({ name: stepName(1), steps: [40] }); // a new fold
    expect(store.canary.status?.owedEvents).toBeUndefined(); // the old one written first (AlreadyExists: paid)
    expect(sink.events.map((e) => e.metadata.name)).toEqual([stepName(0)]);
  });
});
