import pLimit from 'p-limit';
import type { Canary, MeshProvider } from '../api/canary.js';
import type { Measurement } from '../analysis/types.js';
import { systemClock, type Clock } from '../core/clock.js';
import { AbortedError, errorCode, errorMessage, throwIfAborted } from '../core/errors.js';
import { enforceLabel, sideNamespaces } from './enforce-label.js';
import type { MetricProvider, QueryOutcome } from './provider.js';
import { resolveMetric, type ResolvedMetric, type SideQueries, type TemplateSet } from './templates.js';

/**
 * The measuring half of a tick: run every query a Canary's metrics need and hand the raw outcomes
 * to `decide`. Nothing here judges a value; a metric that cannot be resolved becomes an error
 * outcome (non-transient) so the decision sees it like any other failed query.
 */

export interface MeasureOptions {
  canary: Canary;
  templates: TemplateSet;
  provider: MetricProvider;
  signal: AbortSignal;
  /** Mesh of Canaries without spec.provider. Default istio. */
  defaultProvider?: MeshProvider;
  /** Root Service of the route's parentRef, for `{{ parent }}`. */
  parent?: string;
  /** Queries in flight at once for this Canary. Default 4. */
  concurrency?: number;
  /** Evaluation time of every query; default the clock's now when measuring starts. */
  time?: Date;
  clock?: Clock;
  /** Provider for a template naming its own Prometheus (spec.provider.address); default `provider`. */
  providerFor?: (address: string) => MetricProvider;
  /** PromQL tenancy: every selector gets `<label>="<the side's namespace>"` (enforce-label.ts). */
  enforceNamespaceLabel?: string;
}

export async function measure(opts: MeasureOptions): Promise<Measurement[]> {
  const metrics = opts.canary.spec.analysis.metrics ?? [];
  const resolved: Array<ResolvedMetric | QueryOutcome> = metrics.map((_, i) => {
    try {
      return resolveMetric(opts.canary, i, opts.defaultProvider ?? 'istio', opts.templates, opts.parent ? { parent: opts.parent } : {});
    } catch (err) {
      return { kind: 'error', code: errorCode(err), message: errorMessage(err), transient: false };
    }
  });
  return measureResolved(resolved, opts);
}

/** Runs already-resolved metrics; an outcome in place of a metric is reported as its canary result. */
export async function measureResolved(
  metrics: ReadonlyArray<ResolvedMetric | QueryOutcome>,
  opts: Pick<MeasureOptions, 'canary' | 'provider' | 'signal' | 'concurrency' | 'time' | 'clock' | 'providerFor' | 'enforceNamespaceLabel'>,
): Promise<Measurement[]> {
  throwIfAborted(opts.signal, 'measuring');
  const limit = pLimit(Math.max(1, opts.concurrency ?? 4));
  // One evaluation time for every query of the tick: a scrape landing between two queries would
  // otherwise let e.g. the bad count exceed the total it is compared with.
  const time = opts.time ?? new Date((opts.clock ?? systemClock).now());
  const label = opts.enforceNamespaceLabel;
  const namespaces = sideNamespaces(opts.canary);
  const run = (side: Pick<SideQueries, 'address'>, query: string, at: Date = time, which: 'canary' | 'stable' = 'canary'): Promise<QueryOutcome> =>
    limit(async () => {
      throwIfAborted(opts.signal, 'measuring');
      const provider = side.address && opts.providerFor ? opts.providerFor(side.address) : opts.provider;
      let q = query;
      try {
        if (label) q = enforceLabel(query, label, namespaces[which]);
      } catch (err) {
        return { kind: 'error', code: errorCode(err), message: errorMessage(err), transient: false };
      }
      return provider.query(q, { signal: opts.signal, time: at });
    });
  const status = opts.canary.status;
  const rolloutStart = Date.parse(status?.rolloutStartTime ?? '');

  const names = (opts.canary.spec.analysis.metrics ?? []).map((m) => m.name);
  const tasks = metrics.map(async (m, i): Promise<Measurement> => {
    if (!('spec' in m)) return { name: names[i] ?? `metric-${i}`, canary: m };
    const spec = m.spec;
    const sequential = spec.mode === 'sequential';
    const [canary, stable, requests, canaryTotal, canaryBad, stableTotal, stableBad] = await Promise.all([
      run(m.canary, m.canary.query),
      spec.relative ? run(m.stable, m.stable.query, time, 'stable') : undefined,
      (spec.minRequests ?? 0) > 0 && m.canary.requestsQuery ? run(m.canary, m.canary.requestsQuery) : undefined,
      sequential && m.canary.totalQuery ? run(m.canary, m.canary.totalQuery) : undefined,
      sequential && m.canary.badQuery ? run(m.canary, m.canary.badQuery) : undefined,
      sequential && m.stable.totalQuery ? run(m.stable, m.stable.totalQuery, time, 'stable') : undefined,
      sequential && m.stable.badQuery ? run(m.stable, m.stable.badQuery, time, 'stable') : undefined,
    ]);
    const out: Measurement = { name: m.name, canary };
    if (stable) out.stable = stable;
    if (requests) out.requests = requests;
    if (canaryTotal && canaryBad && stableTotal && stableBad) out.counts = { canaryTotal, canaryBad, stableTotal, stableBad };
    // The stable's requests before the rollout, read once: up to the rollout's start, when the canary had no share yet.
    const b = m.baseline;
    if (b && Number.isFinite(rolloutStart) && !status?.evidence?.some((e) => e.name === m.name && e.baseline)) {
      const at = new Date(rolloutStart);
      const [bt, bb] = await Promise.all([run(b, b.totalQuery, at, 'stable'), run(b, b.badQuery, at, 'stable')]);
      out.baseline = { window: b.window, time: at.toISOString(), stableTotal: bt, stableBad: bb };
    }
    return out;
  });
  try {
    return await Promise.all(tasks);
  } catch (err) {
    if (opts.signal.aborted) throw new AbortedError('measuring');
    throw err;
  }
}
