/** Pod-template annotations the sandbox reads to inject faults into an echo workload. */
export const ERROR_RATE_ANNOTATION = 'sandbox.routeshift.io/error-rate';
export const LATENCY_ANNOTATION = 'sandbox.routeshift.io/latency-ms';

export interface Faults {
  /** Share of requests, 0..1, answered with 500. */
  errorRate: number;
  /** Added delay in ms, uniform in [min, max]; both 0 for none. */
  latency: { min: number; max: number };
  /** Annotation values that could not be read (then ignored), for a log line. */
  problems: string[];
}

/** Reads `error-rate` ("0".."1") and `latency-ms` ("200" or "100-300"). Bad values are ignored, not fatal. */
export function parseFaults(annotations: Readonly<Record<string, string>> | undefined): Faults {
  const out: Faults = { errorRate: 0, latency: { min: 0, max: 0 }, problems: [] };
  const rate = annotations?.[ERROR_RATE_ANNOTATION];
  if (rate !== undefined && rate.trim() !== '') {
    const n = Number(rate.trim());
    if (Number.isFinite(n) && n >= 0 && n <= 1) out.errorRate = n;
    else out.problems.push(`${ERROR_RATE_ANNOTATION}="${rate}" is not a number in 0..1`);
  }
  const latency = annotations?.[LATENCY_ANNOTATION];
  if (latency !== undefined && latency.trim() !== '') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(?:-\s*(\d+(?:\.\d+)?)\s*)?$/.exec(latency);
    const min = m ? Number(m[1]) : NaN;
    const max = m?.[2] !== undefined ? Number(m[2]) : min;
    if (m && max >= min) out.latency = { min, max };
    else out.problems.push(`${LATENCY_ANNOTATION}="${latency}" is not "<ms>" or "<min>-<max>"`);
  }
  return out;
}

/** A delay drawn uniformly from the latency range. */
export function pickLatency(latency: Faults['latency'], random: () => number): number {
  if (latency.max <= 0) return 0;
  return latency.min + (latency.max - latency.min) * random();
}

/** Whether this request gets an injected 500. */
export function injectError(errorRate: number, random: () => number): boolean {
  return errorRate > 0 && random() < errorRate;
}
