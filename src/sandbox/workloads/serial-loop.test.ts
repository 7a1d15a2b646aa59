import { silentLogger } from '../../core/logger.js';
import { SerialLoop } from './serial-loop.js';

describe('SerialLoop', () => {
  it('runs one pass at a time and folds triggers during a pass into one more pass', async () => {
    let running = 0;
    let most = 0;
    let passes = 0;
    let release: (() => void) | undefined;
    const loop = new SerialLoop(
      async () => {
        running++;
        most = Math.max(most, running);
        passes++;
        if (passes === 1) await new Promise<void>((r) => (release = r));
        running--;
      },
      silentLogger(),
      'test',
      10,
    );
    loop.trigger();
    loop.trigger();
    loop.trigger();
    release?.();
    await loop.idle();
    expect(passes).toBe(2);
    expect(most).toBe(1);
  });

  it('retries a failed pass after its delay, and runs nothing once stopped', async () => {
    let passes = 0;
    const loop = new SerialLoop(
      async () => {
        passes++;
        if (passes === 1) throw new Error('boom');
      },
      silentLogger(),
      'test',
      5,
    );
    loop.trigger();
    const end = Date.now() + 2000;
    while (passes < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    await loop.idle();
    expect(passes).toBe(2);
    await loop.stop();
    loop.trigger();
    await loop.idle();
    expect(passes).toBe(2);
  });
});
