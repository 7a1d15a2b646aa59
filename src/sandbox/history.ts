import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { seededRandom } from '../core/random.js';
import { RouteshiftError } from '../core/errors.js';

/**
 * Past traffic for Prometheus, for replay tests and benchmarks: an OpenMetrics file of the `app` templates'
 * series (http_requests_total{status}, http_request_duration_seconds_bucket) turned into TSDB blocks by
 * `promtool tsdb create-blocks-from openmetrics`. Blocks written into a data dir before Prometheus starts
 * are served like any other history.
 */

export interface ServiceTraffic {
  namespace: string;
  service: string;
  /** Requests per second, or its value at time t (ms since the epoch), e.g. a daily cycle. */
  rps: number | ((t: number) => number);
  /** Share of 5xx responses (0..1) at time t (ms since the epoch). */
  errorShare: (t: number) => number;
}

export interface HistoryOptions {
  /** First and last sample, ms since the epoch. */
  start: number;
  end: number;
  /** Time between samples (a scrape interval). */
  sampleEveryMs: number;
  services: ServiceTraffic[];
  /** Gauges to record too, e.g. routeshift_canary_weight; no sample where valueAt gives undefined. */
  gauges?: Array<{ name: string; labels: Record<string, string>; valueAt: (t: number) => number | undefined }>;
  /**
   * Poisson request counts, binomial errors and latencies drawn per request bucket (seeded) instead of exact
   * expected counts.
   */
  noise?: { seed: number };
}

/** Latency buckets (seconds) and the cumulative share of requests at or under each: p99 is 0.25 s. */
export const LATENCY_BUCKETS: ReadonlyArray<[string, number]> = [
  ['0.05', 0.5],
  ['0.1', 0.9],
  ['0.25', 0.99],
  ['0.5', 0.999],
  ['1', 1],
  ['+Inf', 1],
];

function poisson(mean: number, rnd: () => number): number {
  if (mean > 50) {
    // Normal approximation: exact Poisson sampling is slow for large means and changes nothing here.
    const u = Math.max(rnd(), 1e-12);
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
    return Math.max(0, Math.round(mean + z * Math.sqrt(mean)));
  }
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rnd();
  } while (p > l);
  return k - 1;
}

/** Writes the OpenMetrics history to `file`. Every series is written in time order, one family after another. */
export async function writeOpenMetrics(file: string, o: HistoryOptions): Promise<{ samples: number }> {
  const rnd = o.noise ? seededRandom(o.noise.seed) : undefined;
  const times: number[] = [];
  for (let t = o.start; t <= o.end; t += o.sampleEveryMs) times.push(t);
  const dt = o.sampleEveryMs / 1000;
  // Per service and sample: requests and errors in the interval ending at that sample.
  const traffic = o.services.map((s) =>
    times.map((t, i) => {
      if (i === 0) return { total: 0, bad: 0, buckets: LATENCY_BUCKETS.map(() => 0) };
      const mean = (typeof s.rps === 'number' ? s.rps : s.rps(t)) * dt;
      const total = rnd ? poisson(mean, rnd) : mean;
      const share = s.errorShare(t);
      const bad = rnd ? binomial(total, share, rnd) : total * share;
      return { total, bad, buckets: rnd ? drawBuckets(total, rnd) : LATENCY_BUCKETS.map(([, c]) => total * c) };
    }),
  );
  const out = createWriteStream(file);
  let samples = 0;
  const write = async (line: string): Promise<void> => {
    samples++;
    if (!out.write(line)) await once(out, 'drain');
  };
  const ts = (t: number): string => (t / 1000).toFixed(3);
  await write('# TYPE http_requests counter\n');
  for (const [k, s] of o.services.entries()) {
    for (const status of ['200', '500']) {
      let acc = 0;
      const labels = `namespace="${s.namespace}",service="${s.service}",status="${status}"`;
      for (const [i, t] of times.entries()) {
        const x = traffic[k]![i]!;
        acc += status === '500' ? x.bad : x.total - x.bad;
        await write(`http_requests_total{${labels}} ${acc} ${ts(t)}\n`);
      }
    }
  }
  await write('# TYPE http_request_duration_seconds histogram\n');
  for (const [k, s] of o.services.entries()) {
    for (const [b, [le]] of LATENCY_BUCKETS.entries()) {
      let acc = 0;
      const labels = `namespace="${s.namespace}",service="${s.service}",le="${le}"`;
      for (const [i, t] of times.entries()) {
        acc += traffic[k]![i]!.buckets[b]!;
        await write(`http_request_duration_seconds_bucket{${labels}} ${acc} ${ts(t)}\n`);
      }
    }
  }
  for (const g of o.gauges ?? []) {
    await write(`# TYPE ${g.name} gauge\n`);
    const labels = Object.entries(g.labels).map(([k, v]) => `${k}="${v}"`).join(',');
    for (const t of times) {
      const v = g.valueAt(t);
      if (v !== undefined) await write(`${g.name}{${labels}} ${v} ${ts(t)}\n`);
    }
  }
  out.end('# EOF\n');
  await once(out, 'finish');
  return { samples };
}

/** Cumulative bucket counts of `total` requests, each falling in a bucket with LATENCY_BUCKETS' shares. */
function drawBuckets(total: number, rnd: () => number): number[] {
  let remaining = total;
  let below = 0;
  let cumulative = 0;
  return LATENCY_BUCKETS.map(([, c]) => {
    const p = below >= 1 ? 1 : (c - below) / (1 - below);
    const n = p >= 1 ? remaining : binomial(remaining, p, rnd);
    remaining -= n;
    cumulative += n;
    below = c;
    return cumulative;
  });
}

function binomial(n: number, p: number, rnd: () => number): number {
  if (p <= 0 || n <= 0) return 0;
  if (p >= 1) return n;
  if (n <= 50) {
    let k = 0;
    for (let i = 0; i < n; i++) if (rnd() < p) k++;
    return k;
  }
  // Approximations, enough for test traffic: Poisson for rare outcomes, normal otherwise.
  if (p < 0.1) return Math.min(n, poisson(n * p, rnd));
  const u = Math.max(rnd(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  return Math.min(n, Math.max(0, Math.round(n * p + z * Math.sqrt(n * p * (1 - p)))));
}

export class PromtoolError extends RouteshiftError {
  constructor(message: string) {
    super('PromtoolFailed', message);
  }
}

/** Turns an OpenMetrics file into TSDB blocks under `dataDir` (Prometheus must not be running on it yet). */
export async function createBlocks(openMetricsFile: string, dataDir: string, promtool = 'promtool'): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  // Blocks of up to a day: promtool reads the input once per block, so 2 h blocks would read a week 84 times.
  const child = spawn(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--max-block-duration=24h', openMetricsFile, dataDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-2000)));
  const [code] = (await Promise.race([once(child, 'exit'), once(child, 'error').then(([e]) => [`${(e as Error).message}`])])) as [number | string];
  if (code !== 0) throw new PromtoolError(`promtool tsdb create-blocks-from openmetrics failed (${code}): ${err.trim()}`);
}

/**
 * A quiet week: stable and canary with the same traffic, 3 to 19 requests/s on a daily cycle, 0.1% of
 * responses 5xx, p99 around 250 ms; Poisson noise in every count. Nothing goes wrong in it.
 */
export function quietWeek(end: number, seed = 7): HistoryOptions {
  const day = 86_400_000;
  const rps = (t: number): number => 11 + 8 * Math.sin((2 * Math.PI * ((t % day) - day / 4)) / day);
  return {
    start: end - 7 * day,
    end,
    sampleEveryMs: 30_000,
    noise: { seed },
    services: [
      { namespace: 'shop', service: 'web-stable', rps, errorShare: () => 0.001 },
      { namespace: 'shop', service: 'web-canary', rps, errorShare: () => 0.001 },
    ],
  };
}
