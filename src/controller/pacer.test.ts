import { FakeClock } from '../core/clock.js';
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('lets a lone caller go at once', () => {
    const p = new Pacer(new FakeClock(1_000), 50);
    expect(p.delay()).toBe(0);
  });

  it('spreads callers arriving together at the rate, in arrival order', () => {
    const p = new Pacer(new FakeClock(1_000), 50);
    const delays = Array.from({ length: 5 }, () => p.delay());
    expect(delays).toEqual([0, 20, 40, 60, 80]);
    // 1,000 at once take 20 s at 50 per second.
    const q = new Pacer(new FakeClock(0), 50);
    let last = 0;
    for (let i = 0; i < 1000; i++) last = q.delay();
    expect(last).toBe(19_980);
  });

  it('forgets a backlog once time has passed it', async () => {
    const clock = new FakeClock(0);
    const p = new Pacer(clock, 10);
    p.delay();
    p.delay(); // 100
    await clock.advance(1_000);
    expect(p.delay()).toBe(0);
    // Part-way through a backlog, the rest of it is still owed.
    p.delay();
    p.delay();
    await clock.advance(50);
    expect(p.delay()).toBe(250);
  });
});
