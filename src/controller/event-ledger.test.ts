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
