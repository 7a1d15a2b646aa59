import { FakeClock, flushMicrotasks } from '../core/clock.js';
import { LoadRun, type Send, type SendResult } from './generator.js';

/** A send that answers at once, or holds each request until released. */
function recorder(hold = false) {
  const at: number[] = [];
  const pending: Array<() => void> = [];
  return {
    at,
    pending,
    make(clock: FakeClock): Send {
      return () => {
        at.push(clock.now());
        if (!hold) return Promise.resolve({ outcome: '2xx' } as SendResult);
        return new Promise<SendResult>((r) => pending.push(() => r({ outcome: '2xx' })));
      };
    },
  };
}

describe('LoadRun', () => {
  it('sends at the given rate until the deadline', async () => {
    const clock = new FakeClock(0);
    const rec = recorder();
    const run = new LoadRun({ clock, send: rec.make(clock), rps: 4, workers: 2, until: 10_000, signal: new AbortController().signal });
    const done = run.run();
    await clock.advance(10_000);
    expect(await done).toBe('deadline');
    expect(rec.at).toHaveLength(40);
    expect(rec.at.slice(0, 3)).toEqual([0, 250, 500]);
    expect(Math.max(...rec.at)).toBeLessThan(10_000);
  });

  it('keeps going when the deadline is extended (a re-armed hook)', async () => {
    const clock = new FakeClock(0);
    const rec = recorder();
    const run = new LoadRun({ clock, send: rec.make(clock), rps: 1, workers: 1, until: 5_000, signal: new AbortController().signal });
    const done = run.run();
    await clock.advance(4_000);
    run.extendTo(8_000);
    await clock.advance(4_000);
    expect(await done).toBe('deadline');
    expect(rec.at).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000]);
  });

  it('stops after -n requests', async () => {
    const clock = new FakeClock(0);
    const rec = recorder();
    const run = new LoadRun({ clock, send: rec.make(clock), rps: 10, workers: 2, requests: 5, signal: new AbortController().signal });
    const done = run.run();
    await clock.advance(5_000);
    expect(await done).toBe('requests');
    expect(rec.at).toHaveLength(5);
  });

  it('keeps at most -c requests in flight and does not burst to catch up', async () => {
    const clock = new FakeClock(0);
    const rec = recorder(true);
    const run = new LoadRun({ clock, send: rec.make(clock), rps: 10, workers: 2, until: 60_000, signal: new AbortController().signal });
    const done = run.run();
    await clock.advance(3_000);
    expect(rec.at).toEqual([0, 100]);
    // Both answer: the schedule restarts from now, one request now and the next a gap later.
    rec.pending.splice(0).forEach((r) => r());
    await flushMicrotasks();
    expect(rec.at).toEqual([0, 100, 3_000]);
    rec.pending.splice(0).forEach((r) => r());
    await clock.advance(100);
    expect(rec.at).toEqual([0, 100, 3_000, 3_100]);
    rec.pending.splice(0).forEach((r) => r());
    await clock.advance(60_000);
    rec.pending.splice(0).forEach((r) => r());
    expect(await done).toBe('deadline');
  });

  it('ends at once when aborted and waits for the requests in flight', async () => {
    const clock = new FakeClock(0);
    const rec = recorder(true);
    const ac = new AbortController();
    const results: string[] = [];
    const run = new LoadRun({ clock, send: rec.make(clock), rps: 1, workers: 1, until: 60_000, signal: ac.signal, onResult: (r) => results.push(r.outcome) });
    const done = run.run();
    await clock.advance(500);
    ac.abort();
    let ended = false;
    void done.then(() => (ended = true));
    await flushMicrotasks();
    expect(ended).toBe(false);
    rec.pending.splice(0).forEach((r) => r());
    expect(await done).toBe('aborted');
    expect(results).toEqual(['2xx']);
    expect(clock.pending).toBe(0);
  });

  it('refuses a rate that is not above 0', () => {
    const clock = new FakeClock(0);
    expect(() => new LoadRun({ clock, send: recorder().make(clock), rps: 0, workers: 1, signal: new AbortController().signal })).toThrow(RangeError);
  });
});
