import type { QueryOutcome, RangeOutcome, RangeProvider } from '../metrics/provider.js';
import { ReplayUnavailableError } from './errors.js';
import { gridIndex, gridTime, type Grid } from './grid.js';

/** Steps per range request: under Prometheus' limit of 11,000 points per series. */
export const MAX_STEPS_PER_REQUEST = 10_000;
/** Range requests in flight at once. */
const CONCURRENCY = 4;

const NON_FINITE = (v: number): string => (Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

/**
 * Reads each query at every grid instant with range queries. A range query evaluates the expression at
 * start + k·step exactly as an instant query at that time would (same lookback, same functions), so the
 * answer at each step is the instant answer: no sample -> no-data, one -> its value, several ->
 * multiple-series. A query Prometheus refuses (bad query) is left out: it is then asked step by step, so
 * each step gets the same error outcome the controller would have got. Prometheus not answering stops the replay.
 */
export async function prefetch(
  provider: RangeProvider,
  queries: readonly string[],
  grid: Grid,
  signal: AbortSignal,
): Promise<Map<string, Array<QueryOutcome | undefined>>> {
  const jobs: Array<{ query: string; first: number; last: number }> = [];
  for (const query of new Set(queries)) {
    for (let first = 0; first < grid.count; first += MAX_STEPS_PER_REQUEST) {
      jobs.push({ query, first, last: Math.min(grid.count, first + MAX_STEPS_PER_REQUEST) - 1 });
    }
  }
  const tables = new Map<string, Array<QueryOutcome | undefined>>();
  const refused = new Set<string>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++] as (typeof jobs)[number];
      if (refused.has(job.query)) continue;
      const answer = await provider.queryRange(job.query, {
        signal,
        start: new Date(gridTime(grid, job.first)),
        end: new Date(gridTime(grid, job.last)),
        stepMs: grid.stepMs,
      });
      if (answer.kind === 'error') {
        if (answer.transient) throw new ReplayUnavailableError(`Prometheus did not answer a range query (${answer.code}: ${answer.message})`);
        refused.add(job.query);
        tables.delete(job.query);
        continue;
      }
      let table = tables.get(job.query);
      if (!table) tables.set(job.query, (table = new Array<QueryOutcome | undefined>(grid.count).fill(undefined)));
      fill(table, answer, grid);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, jobs.length) }, worker));
  for (const q of refused) tables.delete(q);
  return tables;
}

function fill(table: Array<QueryOutcome | undefined>, answer: Extract<RangeOutcome, { kind: 'matrix' }>, grid: Grid): void {
  for (const series of answer.series) {
    for (const [t, v] of series.points) {
      const i = gridIndex(grid, t);
      if (i === undefined) continue;
      const seen = table[i];
      if (seen === undefined) table[i] = Number.isFinite(v) ? { kind: 'value', value: v } : { kind: 'not-a-number', raw: NON_FINITE(v) };
      else table[i] = { kind: 'multiple-series', count: seen.kind === 'multiple-series' ? seen.count + 1 : 2 };
    }
  }
}
