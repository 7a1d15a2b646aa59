import type { Clock } from '../../core/clock.js';
import { AbortedError } from '../../core/errors.js';

/**
 * Calls `tick` at an evenly spaced `rps` rate until stopped. After a stall (event loop busy,
 * laptop asleep) it resumes the rate instead of firing a burst to catch up.
 */
export class Pacer {
  private rps: number;
  private readonly abort = new AbortController();
  private wake: AbortController = new AbortController();
  private done: Promise<void> | undefined;

  constructor(
    private readonly clock: Clock,
    rps: number,
    private readonly tick: () => void,
    /** How far behind schedule the pacer may fall before it drops the missed ticks. */
    private readonly maxLagMs = 250,
  ) {
    this.rps = sanitize(rps);
  }

  start(): void {
    this.done ??= this.run();
  }

  setRps(rps: number): void {
    this.rps = sanitize(rps);
    // Re-plan now: a long sleep for a low old rate must not delay the new one.
    const woken = this.wake;
    this.wake = new AbortController();
    woken.abort();
  }

  get currentRps(): number {
    return this.rps;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private async run(): Promise<void> {
    let next = this.clock.now();
    while (!this.abort.signal.aborted) {
      if (this.rps <= 0) {
        await this.sleep(60_000);
        next = this.clock.now();
        continue;
      }
      const interval = 1000 / this.rps;
      const now = this.clock.now();
      if (now - next > this.maxLagMs) next = now;
      if (next > now) {
        if (!(await this.sleep(next - now))) {
          // Woken by setRps: the next tick comes no later than one new interval from now.
          if (this.rps > 0) next = Math.min(next, this.clock.now() + 1000 / this.rps);
          continue;
        }
      }
      if (this.abort.signal.aborted) return;
      this.tick();
      next += interval;
    }
  }

  /** Sleeps; false when woken early by setRps or stop. */
  private async sleep(ms: number): Promise<boolean> {
    try {
      await this.clock.sleep(ms, AbortSignal.any([this.wake.signal, this.abort.signal]));
      return true;
    } catch (err) {
      if (err instanceof AbortedError) return false;
      throw err;
    }
  }
}

function sanitize(rps: number): number {
  return Number.isFinite(rps) && rps > 0 ? rps : 0;
}
