import type { Logger } from '../core/logger.js';
import { AbortedError } from '../core/errors.js';
import type { MetricProvider, QueryOptions, QueryOutcome, Sample, VectorOutcome } from './provider.js';

/**
 * Query batching: the instant queries of every canary whose tick starts within one short window go
 * to Prometheus as ONE request, instead of one request per query (at 1,000 canaries with two metrics
 * and a 10 s interval that is 200 requests a second, most of their cost being HTTP and JSON, not
 * evaluation). The request is
 *
 *   label_replace(<q0>, "routeshift_batch", "0", "", "") or label_replace(<q1>, "routeshift_batch", "1", "", "") or ...
 *
 * so each query keeps its exact meaning (its own selectors, `or vector(0)`, aggregation) and its
 * answer is read back by that label: no sample = no-data, one = its value, several = multiple-series.
 * This needs no knowledge of templates, unlike rewriting each template to `by (destination_service_name)`,
 * which would change what `or vector(0)` means per canary.
 *
 * Evaluation time: every query of one tick carries the same pinned time (measure() pins it so a
 * scrape between two queries cannot make bad > total). A batch is evaluated at one time; the first
 * batch that takes a query of a tick fixes the time used for all that tick's queries, so they stay
 * consistent even if they land in different batches. That time is at most maxWaitMs (200 ms at a 20 ms
 * window) before the tick's own: a fraction of a scrape interval.
 *
 * Bursts: the scheduler puts ticks due a whole interval away on a grid (Scheduler.gridMs), so the
 * canaries due in the same quarter second start together; reaching their queries takes each some CPU, so
 * their queries arrive spread over tens of milliseconds. Each query that joins an open batch gives it
 * another window (up to maxWaitMs), so one burst is one request: at 3,000 canaries 0.01 requests per
 * canary per interval instead of 0.2 (docs/benchmarks.md).
 *
 * Failures: a transient error (Prometheus down or slow) is every member's outcome: it is down for all
 * of them, and retrying each alone would multiply the load on a struggling server. Any other error
 * (one query Prometheus cannot run inside the combination, e.g. one that returns a scalar) splits the
 * batch in halves until the culprit runs alone, through the plain provider, with its usual outcome;
 * it then skips batching from then on.
 */

export const BATCH_LABEL = 'routeshift_batch';

export interface BatchOptions {
  /**
   * How long a batch collects queries before it is sent. Default 50 ms. Each query that joins gives it
   * another window, up to maxWaitMs, so a burst of ticks (the scheduler's grid) goes as one request.
   */
  windowMs?: number;
  /** Longest a batch stays open, and most its evaluation time is before a member tick's own. Default 10 windows. */
  maxWaitMs?: number;
  /** Most distinct queries in one request; a full batch is sent at once. Default 500. */
  maxQueries?: number;
  logger?: Logger;
  /** Called once per batch sent, for tests and metrics. */
  onBatch?: (e: { queries: number; waiters: number; outcome: string }) => void;
}

interface Waiter {
  resolve: (o: QueryOutcome) => void;
  reject: (err: unknown) => void;
  signal: AbortSignal;
  done: boolean;
}

interface Batch {
  evalTime: number;
  /** When it opened (Date.now()): it is sent within maxWaitMs of that. */
  openedAt: number;
  /** Distinct queries, each with everyone waiting for it. */
  queries: Map<string, Waiter[]>;
  timer: NodeJS.Timeout | undefined;
  sent: boolean;
}

const NON_FINITE = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

/** The combined expression for `queries`, in order (exported for tests). */
export function combineQueries(queries: readonly string[]): string {
  return queries.map((q, i) => `label_replace(${q}, "${BATCH_LABEL}", "${i}", "", "")`).join(' or ');
}

/** Splits a combined answer back into one outcome per query (exported for tests). */
export function splitAnswer(samples: readonly Sample[], count: number): QueryOutcome[] {
  const byIndex: Sample[][] = Array.from({ length: count }, () => []);
  for (const s of samples) {
    const i = Number(s.labels[BATCH_LABEL]);
    if (Number.isInteger(i) && i >= 0 && i < count) byIndex[i]?.push(s);
  }
  return byIndex.map((list): QueryOutcome => {
    if (list.length === 0) return { kind: 'no-data' };
    if (list.length > 1) return { kind: 'multiple-series', count: list.length };
    const v = (list[0] as Sample).value;
    return Number.isFinite(v) ? { kind: 'value', value: v } : { kind: 'not-a-number', raw: NON_FINITE(v) };
  });
}

export class BatchingProvider implements MetricProvider {
  private readonly windowMs: number;
  private readonly maxWaitMs: number;
  private readonly maxQueries: number;
  private open: Batch | undefined;
  /** Batches not sent yet, by evaluation time (a tick's late queries may reopen an older time). */
  private readonly byTime = new Map<number, Batch>();
  /** A tick's pinned time -> the evaluation time its first batch chose. Pruned as it ages. */
  private readonly tickTime = new Map<number, number>();
  /** Queries that cannot run inside a combination; they go straight to the provider. */
  private readonly solo = new Set<string>();
  private prunedAt = -Infinity;

  constructor(
    private readonly inner: MetricProvider,
    private readonly opts: BatchOptions = {},
  ) {
    this.windowMs = Math.max(0, opts.windowMs ?? 50);
    this.maxWaitMs = Math.max(this.windowMs, opts.maxWaitMs ?? 10 * this.windowMs);
    // Ticks put on a grid arrive together (Scheduler.gridMs): 125 ticks of two queries each at 5,000 canaries.
    this.maxQueries = Math.max(1, opts.maxQueries ?? 500);
  }

  queryVector(promql: string, opts: QueryOptions): Promise<VectorOutcome> {
    return this.inner.queryVector(promql, opts);
  }

  ping(signal: AbortSignal): Promise<void> {
    return this.inner.ping(signal);
  }

  query(promql: string, opts: QueryOptions): Promise<QueryOutcome> {
    if (opts.signal.aborted) return Promise.reject(new AbortedError('Prometheus query'));
    if (this.solo.has(promql)) return this.inner.query(promql, opts);
    const pinned = (opts.time ?? new Date()).getTime();
    const batch = this.batchFor(pinned);
    return new Promise<QueryOutcome>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal: opts.signal, done: false };
      const onAbort = (): void => {
        if (waiter.done) return;
        waiter.done = true;
        reject(new AbortedError('Prometheus query'));
      };
      opts.signal.addEventListener('abort', onAbort, { once: true });
      waiter.resolve = (o) => {
        opts.signal.removeEventListener('abort', onAbort);
        if (!waiter.done) {
          waiter.done = true;
          resolve(o);
        }
      };
      const list = batch.queries.get(promql);
      if (list) list.push(waiter);
      else batch.queries.set(promql, [waiter]);
      if (batch.queries.size >= this.maxQueries) this.flush(batch);
      else if (batch.timer && Date.now() - batch.openedAt + this.windowMs <= this.maxWaitMs) batch.timer.refresh();
    });
  }

  private batchFor(pinned: number): Batch {
    this.prune(pinned);
    const chosen = this.tickTime.get(pinned);
    if (chosen !== undefined) {
      // A later query of a tick already batched: same evaluation time, in a batch of that time. Such a
      // batch never takes new ticks, so an old time cannot be handed on from tick to tick.
      const existing = this.byTime.get(chosen);
      return existing && !existing.sent ? existing : this.create(chosen, false);
    }
    const open = this.open && !this.open.sent && Math.abs(pinned - this.open.evalTime) <= this.maxWaitMs ? this.open : undefined;
    const batch = open ?? this.create(pinned, true);
    this.tickTime.set(pinned, batch.evalTime);
    return batch;
  }

  private create(evalTime: number, forNewTicks: boolean): Batch {
    const batch: Batch = { evalTime, openedAt: Date.now(), queries: new Map(), timer: undefined, sent: false };
    batch.timer = setTimeout(() => this.flush(batch), this.windowMs);
    this.byTime.set(evalTime, batch);
    if (forNewTicks) this.open = batch;
    return batch;
  }

  /**
   * Forgets tick times older than a minute: a tick's queries all arrive within its measuring. At most once a
   * second: a scan on every query, with thousands of tick times held, was the batcher's main cost at 1,000
   * canaries (docs/benchmarks.md).
   */
  private prune(now: number): void {
    if (this.tickTime.size < 1024 || now - this.prunedAt < 1_000) return;
    this.prunedAt = now;
    for (const [pinned] of this.tickTime) if (pinned < now - 60_000) this.tickTime.delete(pinned);
  }

  private flush(batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (batch.timer) clearTimeout(batch.timer);
    if (this.byTime.get(batch.evalTime) === batch) this.byTime.delete(batch.evalTime);
    if (this.open === batch) this.open = undefined;
    const entries = [...batch.queries.entries()];
    void this.run(entries, batch.evalTime);
  }

  /**
   * Sends `entries` as one request, settling every waiter. A lone query goes as it is, except while
   * hunting a query that breaks combinations (`probing`): then it is tried combined, and only if that
   * fails does it run alone and skip batching from then on.
   */
  private async run(entries: Array<[string, Waiter[]]>, evalTime: number, probing = false): Promise<void> {
    const live = entries.filter(([, ws]) => ws.some((w) => !w.done));
    if (live.length === 0) return;
    // The request outlives any one caller's abort; it is cancelled only when every caller has gone.
    const ac = new AbortController();
    const waiters = live.flatMap(([, ws]) => ws);
    const check = (): void => {
      if (waiters.every((w) => w.done)) ac.abort();
    };
    for (const w of waiters) w.signal.addEventListener('abort', check, { once: true });
    const time = new Date(evalTime);
    try {
      if (live.length === 1 && !probing) {
        const [promql, ws] = live[0] as [string, Waiter[]];
        const outcome = await this.inner.query(promql, { signal: ac.signal, time });
        this.opts.onBatch?.({ queries: 1, waiters: ws.length, outcome: outcome.kind });
        for (const w of ws) w.resolve(outcome);
        return;
      }
      const answer = await this.inner.queryVector(combineQueries(live.map(([q]) => q)), { signal: ac.signal, time });
      this.opts.onBatch?.({ queries: live.length, waiters: waiters.length, outcome: answer.kind === 'vector' ? 'vector' : answer.code });
      if (answer.kind === 'vector') {
        splitAnswer(answer.samples, live.length).forEach((o, i) => {
          for (const w of (live[i] as [string, Waiter[]])[1]) w.resolve(o);
        });
        return;
      }
      if (answer.transient) {
        const outcome: QueryOutcome = { kind: 'error', code: answer.code, message: answer.message, transient: true };
        for (const w of waiters) w.resolve(outcome);
        return;
      }
      if (live.length === 1) {
        // Found: this query cannot be combined. Its own answer, alone, is what its callers get.
        const [promql, ws] = live[0] as [string, Waiter[]];
        this.solo.add(promql);
        this.opts.logger?.debug({ query: promql, err: answer.message }, 'query cannot be batched; it runs alone from now on');
        const outcome = await this.inner.query(promql, { signal: ac.signal, time });
        for (const w of ws) w.resolve(outcome);
        return;
      }
      // Something in the combination Prometheus cannot run: find it by halves.
      this.opts.logger?.debug({ queries: live.length, code: answer.code, err: answer.message }, 'batched query failed; splitting');
      const half = Math.ceil(live.length / 2);
      await Promise.all([this.run(live.slice(0, half), evalTime, true), this.run(live.slice(half), evalTime, true)]);
    } catch (err) {
      // Aborted: every caller has gone (each was rejected when its own signal fired).
      for (const w of waiters) if (!w.done) w.reject(err);
    } finally {
      for (const w of waiters) w.signal.removeEventListener('abort', check);
    }
  }
}
