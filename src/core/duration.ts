import { RouteshiftError } from './errors.js';

export class DurationError extends RouteshiftError {
  constructor(value: string, path?: string) {
    super('InvalidDuration', `"${value}" is not a duration (use e.g. 30s, 1m, 1m30s, 500ms)`, path ? { path } : undefined);
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses Go/Prometheus-style durations ("1m30s", "500ms") to milliseconds. */
export function parseDuration(value: string, path?: string): number {
  const text = value.trim();
  if (!DURATION.test(text)) throw new DurationError(value, path);
  let total = 0;
  for (const m of text.matchAll(PART)) total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  if (!(total > 0)) throw new DurationError(value, path);
  return total;
}

/** Formats milliseconds as a Prometheus range ("90s", "1m", "2h"); sub-second values round up to 1s. */
export function formatPromDuration(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}
