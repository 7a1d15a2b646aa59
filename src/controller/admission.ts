import type { Canary } from '../api/canary.js';
import { analysisDueAt } from '../analysis/plan.js';
import type { Clock } from '../core/clock.js';
import { Pacer } from './pacer.js';

/**
 * When a canary this replica has just taken on (at start, on winning the lease, on acquiring a shard, or
 * seen for the first time) gets its first tick. One at a step is queued at the time its analysis falls due
 * by its status, past or not: its previous owner spread it over time already, and one that fell due while
 * its owner was dying goes ahead of the ticks that fell due after it, instead of behind this replica's
 * whole backlog. Paced from now, the moved canaries of a SIGKILLed replica stepped again 31-44 s after the
 * kill against 12-23 s for the survivors' own canaries, on a loaded machine (docs/benchmarks.md). The rest
 * (starting, finishing, idle) arrive as a herd and are paced.
 */
export class Admission {
  private readonly pacer: Pacer;

  constructor(
    private readonly clock: Clock,
    perSecond: number,
  ) {
    this.pacer = new Pacer(clock, perSecond);
  }

  /** Clock time of the canary's first tick here; may be in the past (Scheduler.scheduleAt keeps it). */
  at(canary: Canary): number {
    return analysisDueAt(canary.spec, canary.status) ?? this.clock.now() + this.pacer.delay();
  }

  /** For a canary whose new spec must be looked at: paced with the others arriving at once. */
  delay(): number {
    return this.pacer.delay();
  }
}
