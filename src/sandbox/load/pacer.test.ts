import { FakeClock } from '../../core/clock.js';
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('ticks evenly at the rate', async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const start = clock.now();
    const pacer = new Pacer(clock, 20, () => times.push(clock.now() - start));
    pacer.start();
    await clock.advance(1000);
    await pacer.stop();
    // Ticks at 0, 50, ..., 1000 ms.
    expect(times).toHaveLength(21);
    expect(times.slice(0, 4)).toEqual([0, 50, 100, 150]);
  });

  it('changes rate live with setRps, including to and from 0', async () => {
    const clock = new FakeClock();
    let ticks = 0;
    const pacer = new Pacer(clock, 1, () => ticks++);
    pacer.start();
    await clock.advance(1); // the tick at t=0
    expect(ticks).toBe(1);
    pacer.setRps(100);
    await clock.advance(1000);
    expect(ticks).toBeGreaterThanOrEqual(100);
    expect(ticks).toBeLessThanOrEqual(102);
    pacer.setRps(0);
    const frozen = ticks;
    await clock.advance(5000);
    expect(ticks).toBe(frozen);
    pacer.setRps(10);
    await clock.advance(1000);
    expect(ticks - frozen).toBeGreaterThanOrEqual(10);
    expect(ticks - frozen).toBeLessThanOrEqual(11);
    await pacer.stop();
    const stopped = ticks;
    await clock.advance(1000);
    expect(ticks).toBe(stopped);
  });
});
