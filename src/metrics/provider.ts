/**
 * What the controller asks of a metrics backend. Prometheus is the one we ship; the interface is
 * small so a test can fake it and another backend can be added without touching the analysis.
 */
import type { QueryOutcome } from '../api/query-outcome.js';

// The analysis judges outcomes without knowing where they came from, so the type lives in src/api.
export type { QueryOutcome };

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export type VectorOutcome =
  | { kind: 'vector'; samples: Sample[] }
  | { kind: 'error'; code: string; message: string; transient: boolean };

export interface QueryOptions {
  signal: AbortSignal;
  /** Evaluation time; default now. */
  time?: Date;
}

/** One series of a range query: [milliseconds since the epoch, value] at each step where it had a sample. */
export interface RangeSeries {
  labels: Record<string, string>;
  points: Array<[number, number]>;
}

export type RangeOutcome = { kind: 'matrix'; series: RangeSeries[] } | { kind: 'error'; code: string; message: string; transient: boolean };

export interface RangeQueryOptions {
  signal: AbortSignal;
  start: Date;
  end: Date;
  stepMs: number;
}

/** A provider that can also evaluate a query at many instants in one request (replay). */
export interface RangeProvider extends MetricProvider {
  queryRange(promql: string, opts: RangeQueryOptions): Promise<RangeOutcome>;
}

export interface MetricProvider {
  /** An instant query expected to give one number. Never throws for query problems: returns an outcome. */
  query(promql: string, opts: QueryOptions): Promise<QueryOutcome>;
  /** An instant query returning every series (used to batch one query across many canaries). */
  queryVector(promql: string, opts: QueryOptions): Promise<VectorOutcome>;
  /** Resolves when the backend answers; rejects with a typed error otherwise. */
  ping(signal: AbortSignal): Promise<void>;
}
