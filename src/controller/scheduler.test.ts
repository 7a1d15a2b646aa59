import { FakeClock, flushMicrotasks } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { Scheduler } from './scheduler.js';

function setup(handler: (key: string) => number | undefined | Promise<number | undefined>, concurrency = 4, gridMs?: number) {
  const clock = new FakeClock(0);
  const runs: Array<{ key: string; at: number; late: number }> = [];
  let late = 0;
  const s = new Scheduler({
    clock,
    logger: silentLogger(),
    concurrency,
    ...(gridMs ? { gridMs } : {}),
    onStart: (_k, l) => (late = l),
    handler: async (key) => {
      runs.push({ key, at: clock.now(), late });
      return handler(key);
    },
  });
  const ac = new AbortController();
  const done = s.run(ac.signal);
  return { clock, s, runs, stop: async () => (ac.abort(), await done) };
}

describe('Scheduler', () => {
  it('runs each key at its own interval from one loop', async () => {
    const t = setup((key) => (key === 'a' ? 1000 : 2500));
    t.s.schedule('a', 0);
    t.s.schedule('b', 0);
    await t.clock.advance(5000);
    const at = (k: string) => t.runs.filter((r) => r.key === k).map((r) => r.at);
    expect(at('a')).toEqual([0, 1000, 2000, 3000, 4000, 5000]);
    expect(at('b')).toEqual([0, 2500, 5000]);
    expect(t.runs.every((r) => r.late === 0)).toBe(true);
    await t.stop();
  });

  it('with a grid, rounds an interval down to it so keys fall due together; short retries keep their time', async () => {
    const t = setup((key) => (key === 'retry' ? 300 : 1000), 4, 250);
    t.s.schedule('a', 10);
    t.s.schedule('b', 130);
    t.s.schedule('retry', 70);
    await t.clock.advance(2000);
    const at = (k: string) => t.runs.filter((r) => r.key === k).map((r) => r.at);
    expect(at('a')).toEqual([10, 1000, 2000]);
    expect(at('b')).toEqual([130, 1000, 2000]);
    expect(at('retry').slice(0, 3)).toEqual([70, 370, 670]);
    await t.stop();
  });

  it('with a grid, a tick that takes longer than a grid step does not push the next one later: no drift over many intervals', async () => {
    const clock = new FakeClock(0);
    const runs: number[] = [];
    const s = new Scheduler({
      clock,
      logger: silentLogger(),
      concurrency: 1,
      gridMs: 250,
      handler: async () => {
        runs.push(clock.now());
        await clock.sleep(400, new AbortController().signal);
        return 10_000;
      },
    });
    const ac = new AbortController();
    const done = s.run(ac.signal);
    s.schedule('a', 0);
    // Past the last tick's own 400 ms, so stopping finds no tick in flight.
    await clock.advance(100_500);
    expect(runs).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 70_000, 80_000, 90_000, 100_000]);
    ac.abort();
    await done;
  });

  it('forgets a cancelled key, so a deleted canary leaves nothing behind', async () => {
    const t = setup(() => 1000);
    t.s.schedule('a', 0);
    await t.clock.advance(0);
    t.s.cancel('a');
    await t.clock.advance(10_000);
    expect(t.runs.map((r) => r.key)).toEqual(['a']);
    expect(t.s.size).toBe(0);
    await t.stop();
  });

  it('an earlier request wins over a later one', async () => {
    const t = setup(() => undefined);
    t.s.schedule('a', 5000);
    t.s.schedule('a', 100);
    t.s.schedule('a', 9000);
    await t.clock.advance(10_000);
    expect(t.runs.map((r) => r.at)).toEqual([100]);
    await t.stop();
  });

  it('never runs a key twice at once and honours a request made while it ran', async () => {
    let release: (() => void) | undefined;
    let concurrent = 0;
    let maxConcurrent = 0;
    const t = setup(async () => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      await new Promise<void>((r) => (release = r));
      concurrent--;
      return undefined;
    });
    t.s.schedule('a', 0);
    await t.clock.advance(0);
    t.s.schedule('a', 0);
    await t.clock.advance(10);
    expect(t.runs.length).toBe(1);
    release?.();
    await flushMicrotasks();
    await t.clock.advance(0);
    expect(t.runs.length).toBe(2);
    expect(maxConcurrent).toBe(1);
    release?.();
    await flushMicrotasks();
    await t.stop();
  });

  it('bounds concurrency and reports lateness of waiting keys', async () => {
    const releases: Array<() => void> = [];
    const t = setup(() => new Promise<undefined>((r) => releases.push(() => r(undefined))), 2);
    for (const k of ['a', 'b', 'c']) t.s.schedule(k, 0);
    await t.clock.advance(0);
    expect(t.runs.map((r) => r.key)).toEqual(['a', 'b']);
    await t.clock.advance(300);
    releases.shift()?.();
    await flushMicrotasks();
    await t.clock.advance(0);
    expect(t.runs.map((r) => r.key)).toEqual(['a', 'b', 'c']);
    expect(t.runs[2]?.late).toBe(300);
    releases.splice(0).forEach((r) => r());
    await flushMicrotasks();
    await t.stop();
  });

  it('keeps going after a handler throws, retrying that key after a back-off', async () => {
    let n = 0;
    const t = setup(() => {
      n++;
      if (n === 1) throw new Error('boom');
      return undefined;
    });
    t.s.schedule('a', 0);
    await t.clock.advance(4999);
    expect(n).toBe(1);
    await t.clock.advance(1);
    expect(n).toBe(2);
    await t.stop();
  });

  it('lets ticks in flight finish after a stop, and runs again when restarted', async () => {
    const clock = new FakeClock(0);
    let release: (() => void) | undefined;
    const seen: string[] = [];
    const s = new Scheduler({
      clock,
      logger: silentLogger(),
      handler: async (key, signal) => {
        seen.push(`${key}:start`);
        await new Promise<void>((r) => (release = r));
        seen.push(`${key}:end:${signal.aborted ? 'aborted' : 'ok'}`);
        return 1000;
      },
    });
    const stop = new AbortController();
    const ticks = new AbortController();
    const done = s.run(stop.signal, ticks.signal);
    s.schedule('a', 0);
    await clock.advance(0);
    stop.abort();
    await flushMicrotasks();
    release?.();
    await done;
    expect(seen).toEqual(['a:start', 'a:end:ok']);
    const again = new AbortController();
    const done2 = s.run(again.signal);
    s.schedule('a', 0); // the controller schedules every canary when it leads again
    await clock.advance(0);
    expect(seen.filter((x) => x === 'a:start')).toHaveLength(2);
    again.abort();
    release?.();
    await done2;
  });
});
