/**
 * What one metric query came to, as the analysis sees it: a number, or why there is none. Produced by
 * src/metrics (the provider), judged by src/analysis, which does not import the metrics layer.
 */
export type QueryOutcome =
  | { kind: 'value'; value: number }
  /** The query returned an empty vector: nothing was measured. Never coerced to 0. */
  | { kind: 'no-data' }
  /** A sample came back but is NaN or ±Inf (e.g. 0/0 from a rate with no traffic). */
  | { kind: 'not-a-number'; raw: string }
  /** Several series where one number was expected: the query needs an aggregation. */
  | { kind: 'multiple-series'; count: number }
  | { kind: 'error'; code: string; message: string; transient: boolean };
