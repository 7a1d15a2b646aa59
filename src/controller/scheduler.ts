import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';

/** Returns the delay in ms until the key should run again, or undefined to leave it unscheduled. */
export type TickHandler = (key: string, signal: AbortSignal) => Promise<number | undefined>;

export interface SchedulerOptions {
  clock: Clock;
  logger: Logger;
  handler: TickHandler;
  /** Ticks run at once; the rest wait their turn. */
  concurrency?: number;
  /** Called when a tick starts, with how late it is against when it was due (for /metrics and benchmarks). */
  onStart?: (key: string, lateMs: number) => void;
  /** Delay after a handler throws. */
  errorBackoffMs?: number;
  /**
   * When set, a next tick a handler asks for at least four grid steps away counts from the tick's start and is
   * rounded down to the grid (ms), so canaries fall due together and the queries of their ticks share one
   * batched Prometheus request (src/metrics/batch.ts). Short retries are not moved (see nextAt).
   */
  gridMs?: number;
}

interface Entry {
  key: string;
  due: number;
  /** Insertion order: keys due at the same moment run first-come first-served. */
  seq: number;
}

const before = (a: Entry, b: Entry): boolean => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/**
 * One scheduler for every canary: a min-heap of due times and a bounded worker pool, driven by the
 * injected clock. There is no timer per canary, so nothing leaks when a Canary is deleted (its key is
 * simply cancelled) and a thousand canaries cost one pending sleep. A key never runs twice at once;
 * a request to run it while it runs is remembered and honoured afterwards.
 */
export class Scheduler {
  private readonly heap: Entry[] = [];
  private readonly due = new Map<string, number>();
  private readonly running = new Set<string>();
  private readonly rerun = new Map<string, number>();
  private wake: AbortController | undefined;
  /** Resolves the loop's wait for a free worker. */
  private freed: (() => void) | undefined;
  /** When the run loop's current sleep ends (-Infinity: it waits for a free worker, which wakes it). */
  private sleepUntil = 0;
  private readonly concurrency: number;
  private active = 0;
  private seq = 0;
  private stopped = false;
  private readonly idle: Array<() => void> = [];

  constructor(private readonly opts: SchedulerOptions) {
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
  }

  /** Run `key` after `delayMs`. An earlier request wins over a later one. */
  schedule(key: string, delayMs = 0): void {
    this.scheduleAt(key, this.opts.clock.now() + Math.max(0, delayMs));
  }

  /**
   * Run `key` at the clock time `at`. A time already past is kept, not moved to now: the key queues by when
   * it fell due among the others waiting (a canary taken over from another replica does not go behind
   * every tick that fell due after it), and its start reports that lateness.
   */
  scheduleAt(key: string, at: number): void {
    if (this.running.has(key)) {
      const prior = this.rerun.get(key);
      if (prior === undefined || at < prior) this.rerun.set(key, at);
      return;
    }
    const current = this.due.get(key);
    if (current !== undefined && current <= at) return;
    this.due.set(key, at);
    this.push({ key, due: at, seq: this.seq++ });
    // Waking the loop costs an abort; only an entry due before its sleep ends needs it.
    if (at < this.sleepUntil) this.wake?.abort();
  }

  cancel(key: string): void {
    this.due.delete(key);
    this.rerun.delete(key);
  }

  has(key: string): boolean {
    return this.due.has(key) || this.running.has(key);
  }

  get size(): number {
    return this.due.size;
  }

  /**
   * Runs until `signal` aborts; then waits for ticks in flight to finish. Ticks get `tickSignal`
   * (default `signal`), so a graceful stop can let the current writes complete.
   */
  async run(signal: AbortSignal, tickSignal: AbortSignal = signal): Promise<void> {
    this.stopped = signal.aborted; // a scheduler may run again, e.g. when leadership comes back
    signal.addEventListener('abort', () => {
      this.stopped = true;
      this.wake?.abort();
      this.freed?.();
    });
    while (!this.stopped) {
      const now = this.opts.clock.now();
      const top = this.peekValid();
      if (top && top.due <= now && this.active < this.concurrency) {
        this.pop();
        this.due.delete(top.key);
        this.start(top, now, tickSignal);
        continue;
      }
      const free = this.active < this.concurrency;
      if (!free) {
        // Every worker busy: the next to finish wakes the loop. A plain promise, not an aborted sleep: an
        // abort builds two error objects with stack traces, and at thousands of canaries every tick's end
        // woke the loop (docs/benchmarks.md).
        this.sleepUntil = -Infinity;
        await new Promise<void>((resolve) => (this.freed = resolve));
        this.freed = undefined;
        this.sleepUntil = 0;
        continue;
      }
      this.wake = new AbortController();
      this.sleepUntil = top ? top.due : now + 3_600_000;
      const waitMs = top ? top.due - now : 3_600_000;
      try {
        await this.opts.clock.sleep(waitMs, this.wake.signal);
      } catch {
        // woken early: something was scheduled, finished, or we are stopping
      }
      this.wake = undefined;
      this.sleepUntil = 0;
    }
    while (this.active > 0) await new Promise<void>((r) => this.idle.push(r));
  }

  private start(entry: Entry, now: number, signal: AbortSignal): void {
    this.active++;
    this.running.add(entry.key);
    this.opts.onStart?.(entry.key, now - entry.due);
    void this.opts
      .handler(entry.key, signal)
      .catch((err: unknown) => {
        this.opts.logger.error({ key: entry.key, err: errorMessage(err) }, 'tick failed');
        return this.opts.errorBackoffMs ?? 5_000;
      })
      .then((next) => {
        const wasFull = this.active >= this.concurrency;
        this.active--;
        this.running.delete(entry.key);
        const again = this.rerun.get(entry.key);
        this.rerun.delete(entry.key);
        if (!this.stopped) {
          const nextAt = next === undefined ? undefined : this.nextAt(now, next);
          const at = again === undefined ? nextAt : nextAt === undefined ? again : Math.min(again, nextAt);
          if (at !== undefined) this.schedule(entry.key, at - this.opts.clock.now());
        }
        if (wasFull || this.stopped) this.freed?.();
        if (this.stopped) this.wake?.abort();
        if (this.active === 0) this.idle.splice(0).forEach((r) => r());
      });
  }

  /**
   * A delay of a whole interval or more, with a grid, counts from the tick's start and is rounded down: counted
   * from its end and rounded up, every interval grew by the tick's own time (the batch window, Prometheus, three
   * writes) plus the rounding, and a rollout drifted a quarter second per step. The handler allows for the
   * rounding (planTick's earlyMs). Shorter delays (retries, confirmations) count from the end, as asked.
   */
  private nextAt(startedAt: number, delay: number): number {
    const g = this.opts.gridMs ?? 0;
    if (g <= 0 || delay < 4 * g) return this.opts.clock.now() + delay;
    return Math.max(Math.floor((startedAt + delay) / g) * g, this.opts.clock.now());
  }

  /** Top of the heap, discarding entries superseded by a reschedule or a cancel. */
  private peekValid(): Entry | undefined {
    for (;;) {
      const top = this.heap[0];
      if (!top) return undefined;
      if (this.due.get(top.key) === top.due) return top;
      this.pop();
    }
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p] as Entry)) break;
      h[i] = h[p] as Entry;
      i = p;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (!last || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      if (l < h.length && before(h[l] as Entry, best)) {
        m = l;
        best = h[l] as Entry;
      }
      if (r < h.length && before(h[r] as Entry, best)) {
        m = r;
        best = h[r] as Entry;
      }
      if (m === i) break;
      h[i] = best;
      i = m;
    }
    h[i] = last;
  }
}
