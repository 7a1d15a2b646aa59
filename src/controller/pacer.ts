import type { Clock } from '../core/clock.js';

/**
 * Hands out start delays at most `perSecond` apart: the first caller goes at once, and callers arriving
 * together are spread out in arrival order. Used so canaries that arrive together do not tick together.
 */
export class Pacer {
  private next = 0;
  private readonly gapMs: number;

  constructor(
    private readonly clock: Clock,
    perSecond: number,
  ) {
    this.gapMs = 1000 / perSecond;
  }

  /** Delay in ms before the caller's turn. */
  delay(): number {
    const now = this.clock.now();
    const slot = Math.max(this.next, now);
    this.next = slot + this.gapMs;
    return slot - now;
  }
}
