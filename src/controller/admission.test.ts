import type { Canary, CanaryStatus } from '../api/canary.js';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { Admission } from './admission.js';
import { Scheduler } from './scheduler.js';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const canary = (name: string, status: CanaryStatus = {}): Canary =>
  ({
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace: 'ns' },
    spec: { routeRef: { name: 'r' }, stable: { name: 's', port: 80 }, canary: { name: 'c', port: 80 }, analysis: { interval: '5s', threshold: 2, stepWeights: [10, 20, 30] } },
    status,
  }) as Canary;
const atStep = (name: string, stepStart: number): Canary => canary(name, { phase: 'Progressing', stepIndex: 0, canaryWeight: 10, stepStartTime: iso(stepStart) });

describe('Admission', () => {
  it('queues a canary at a step at the time its analysis falls due, even when that has passed', () => {
    const a = new Admission(new FakeClock(T0), 50);
    expect(a.at(atStep('due-later', T0 - 1_000))).toBe(T0 + 4_000);
    expect(a.at(atStep('overdue', T0 - 8_000))).toBe(T0 - 3_000);
  });

  it('paces canaries without a due analysis (new, starting, finishing) from now, and does not count the others against the pace', () => {
    const a = new Admission(new FakeClock(T0), 50);
    expect(a.at(canary('new'))).toBe(T0);
    a.at(atStep('at-a-step', T0 - 8_000));
    expect(a.at(canary('starting', { phase: 'Initializing', stepIndex: -1 }))).toBe(T0 + 20);
    expect(a.at(canary('promoting', { phase: 'Promoting', stepIndex: 2 }))).toBe(T0 + 40);
    expect(a.delay()).toBe(60);
  });

  it('a failover: moved canaries already due run before the new owner\'s own backlog that fell due after them', async () => {
    const clock = new FakeClock(T0);
    const ran: Array<{ key: string; at: number; late: number }> = [];
    let late = 0;
    // One worker, each tick 1 s: the new owner is behind, its own canaries due every 0.5 s from 8 s ago.
    const s = new Scheduler({
      clock,
      logger: silentLogger(),
      concurrency: 1,
      onStart: (_k, l) => (late = l),
      handler: async (key) => {
        ran.push({ key, at: clock.now(), late });
        await clock.sleep(1_000);
        return undefined;
      },
    });
    const ac = new AbortController();
    const done = s.run(ac.signal);
    for (let i = 0; i < 16; i++) s.scheduleAt(`own-${i}`, T0 - 8_000 + i * 500);
    await clock.advance(0);
    // The shard is acquired now; its two canaries fell due 7 s and 6 s ago, a third is due in 2 s.
    const admission = new Admission(clock, 50);
    for (const c of [atStep('moved-0', T0 - 12_000), atStep('moved-1', T0 - 11_000), atStep('moved-2', T0 - 3_000)]) s.scheduleAt(`${c.metadata.namespace}/${c.metadata.name}`, admission.at(c));
    await clock.advance(30_000);
    const order = ran.map((r) => r.key);
    // own-0 was running; then by due time: own-1 (-7.5 s), own-2 and ns/moved-0 (-7 s; own-2 queued first),
    // own-3 (-6.5 s), own-4 and ns/moved-1 (-6 s). Paced from now, the moved ones would have run after own-15.
    expect(order.slice(0, 7)).toEqual(['own-0', 'own-1', 'own-2', 'ns/moved-0', 'own-3', 'own-4', 'ns/moved-1']);
    expect(order.indexOf('ns/moved-2')).toBe(order.indexOf('own-15') + 1);
    // Their start reports how late they are against when they fell due, not against the takeover.
    expect(ran.find((r) => r.key === 'ns/moved-0')?.late).toBe(10_000);
    ac.abort();
    await clock.advance(1_000);
    await done;
  });
});
