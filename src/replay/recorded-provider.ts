import type { MetricProvider, QueryOptions, QueryOutcome, VectorOutcome } from '../metrics/provider.js';
import { gridIndex, type Grid } from './grid.js';

/**
 * Answers instant queries at grid instants from answers read ahead with range queries, and sends every
 * other query (another time, or a query that was not read ahead) to the real provider. measure() runs
 * on top of it unchanged, so a replayed tick is measured by the controller's own code.
 */
export class RecordedProvider implements MetricProvider {
  constructor(
    private readonly inner: MetricProvider,
    private readonly answers: ReadonlyMap<string, ReadonlyArray<QueryOutcome | undefined>>,
    private readonly grid: Grid,
  ) {}

  query(promql: string, opts: QueryOptions): Promise<QueryOutcome> {
    const table = this.answers.get(promql);
    const i = opts.time ? gridIndex(this.grid, opts.time.getTime()) : undefined;
    if (table && i !== undefined) return Promise.resolve(table[i] ?? { kind: 'no-data' });
    return this.inner.query(promql, opts);
  }

  queryVector(promql: string, opts: QueryOptions): Promise<VectorOutcome> {
    return this.inner.queryVector(promql, opts);
  }

  ping(signal: AbortSignal): Promise<void> {
    return this.inner.ping(signal);
  }
}
