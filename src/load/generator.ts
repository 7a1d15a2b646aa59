import type { Clock } from '../core/clock.js';

/** How one request ended: its status class, or no answer (refused, reset, timed out). */
export type Outcome = '2xx' | '3xx' | '4xx' | '5xx' | 'error';

export interface SendResult {
  outcome: Outcome;
  /** Why there was no answer (outcome 'error'). */
  error?: Error;
}

/** Sends one request; resolves (never rejects) with how it ended. */
export type Send = (signal: AbortSignal) => Promise<SendResult>;

export interface GeneratorOptions {
  clock: Clock;
  send: Send;
  /** Requests per second over all workers (after the controller's caps): finite and above 0. */
  rps: number;
  /** At most this many requests in flight (hey's -c). */
  workers: number;
  /** Stop after this many requests (hey's -n, without -z). */
  requests?: number;
  /** Stop at this time (ms since the epoch); `extendTo` moves it. */
  until?: number;
  signal: AbortSignal;
  onResult?: (r: SendResult) => void;
}

export type EndCause = 'deadline' | 'requests' | 'aborted';

/**
 * One paced run of requests. Requests start on a fixed schedule (1/rps apart) rather than each worker
 * sleeping after its answer, so a slow canary does not lower the rate it is measured at, and a run that
 * fell behind (all workers busy) does not burst to catch up: the schedule restarts from now.
 */
export class LoadRun {
  private until: number | undefined;
  private inFlight = 0;
  private freed: (() => void) | undefined;
  sent = 0;

  constructor(private readonly o: GeneratorOptions) {
    if (!(Number.isFinite(o.rps) && o.rps > 0)) throw new RangeError(`rps must be above 0, got ${o.rps}`);
    this.until = o.until;
  }

  /** Keeps the run going until `at` at least (a re-armed hook). */
  extendTo(at: number): void {
    if (this.until !== undefined) this.until = Math.max(this.until, at);
  }

  get deadline(): number | undefined {
    return this.until;
  }

  /** Runs until the deadline, the request count or the signal; waits for the requests in flight. */
  async run(): Promise<EndCause> {
    const { clock, signal } = this.o;
    const gap = 1000 / this.o.rps;
    const inFlight = new Set<Promise<void>>();
    let next = clock.now();
    let cause: EndCause = 'aborted';
    try {
      for (;;) {
        if (signal.aborted) break;
        const now = clock.now();
        if (this.until !== undefined && now >= this.until) {
          cause = 'deadline';
          break;
        }
        if (this.o.requests !== undefined && this.sent >= this.o.requests) {
          cause = 'requests';
          break;
        }
        if (next > now) {
          await clock.sleep(Math.min(next, this.until ?? Infinity) - now, signal);
          continue;
        }
        if (this.inFlight >= this.o.workers) {
          await this.oneFreed(signal);
          continue;
        }
        const p = this.fire();
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
        // Timer lateness within one gap keeps the schedule; further behind, it restarts from now.
        next = (now - next > gap ? now : next) + gap;
      }
    } catch {
      // Only an aborted sleep or wait lands here: the run ends.
    }
    await Promise.all(inFlight);
    return cause;
  }

  private async fire(): Promise<void> {
    this.sent++;
    this.inFlight++;
    let r: SendResult;
    try {
      r = await this.o.send(this.o.signal);
    } catch (err) {
      r = { outcome: 'error', error: err instanceof Error ? err : new Error(String(err)) };
    }
    this.inFlight--;
    this.freed?.();
    this.o.onResult?.(r);
  }

  private oneFreed(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new Error('aborted'));
      this.freed = () => {
        this.freed = undefined;
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
