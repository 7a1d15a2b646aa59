import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import pRetry, { AbortError as RetryAbort } from 'p-retry';
import { AbortedError, RouteshiftError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { MetricProvider, QueryOptions, QueryOutcome, RangeOutcome, RangeQueryOptions, RangeSeries, Sample, VectorOutcome } from './provider.js';

/**
 * MetricProvider over Prometheus' HTTP API (`/api/v1/query`). Query problems come back as outcomes,
 * never as thrown errors: the analysis must tell "no traffic" from "Prometheus is down" from "the
 * query is wrong", and only the middle one is worth retrying.
 */

export type PrometheusErrorCode =
  | 'PrometheusUnreachable'
  | 'PrometheusTimeout'
  | 'PrometheusBadQuery'
  | 'PrometheusHttpError'
  | 'PrometheusBadResponse';

export class PrometheusError extends RouteshiftError {
  readonly status: number | undefined;
  constructor(code: PrometheusErrorCode, message: string, transient: boolean, opts?: { status?: number; cause?: unknown }) {
    super(code, message, { transient, ...(opts?.cause === undefined ? {} : { cause: opts.cause }) });
    this.status = opts?.status;
  }
}

export interface PrometheusRequestEvent {
  /** API path, e.g. /api/v1/query. */
  path: string;
  durationMs: number;
  /** The outcome kind ('value', 'no-data', 'not-a-number', 'multiple-series', 'vector') or an error code. */
  outcome: string;
  /** 1 for the first try. */
  attempt: number;
  status?: number;
}

export interface PrometheusProviderOptions {
  /** Base URL, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  address: string;
  /** Per HTTP request. Default 10 s. */
  timeoutMs?: number;
  /** Retries of transient failures. Default 2. */
  retries?: number;
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  headers?: Record<string, string>;
  /** PEM CA bundle for https addresses. */
  caFile?: string;
  ca?: string | Buffer;
  insecureSkipVerify?: boolean;
  /** First retry delay; doubles each retry. Default 250 ms. */
  retryMinDelayMs?: number;
  /** Cap on a retry delay, including a server's Retry-After. Default 10 s. */
  retryMaxDelayMs?: number;
  /** Queries longer than this are sent as a form POST (URLs have length limits). Default 2048. */
  postAboveLength?: number;
  /** Called once per HTTP attempt, so the controller can count requests by outcome. */
  onRequest?: (event: PrometheusRequestEvent) => void;
  logger?: Logger;
  clock?: Clock;
  /** Resolves (and may refuse) the address at connect time: the outbound policy, for addresses a tenant chose. */
  lookup?: LookupFunction;
}

interface PromResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

type PromData = { resultType: string; result: unknown };

/** One failed attempt: carries what the outcome will say, and whether another try may help. */
class AttemptFailure extends Error {
  constructor(
    readonly code: PrometheusErrorCode,
    message: string,
    readonly transient: boolean,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ETIMEDOUT',
]);

const NON_NUMBERS = new Set(['NaN', '+Inf', '-Inf', 'Inf']);

function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function parseSampleValue(raw: unknown): number | undefined {
  if (typeof raw !== 'string') return undefined;
  if (raw === 'NaN') return NaN;
  if (raw === '+Inf' || raw === 'Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : undefined;
}

function isSamplePair(v: unknown): v is [number, string] {
  return Array.isArray(v) && v.length === 2 && typeof v[1] === 'string';
}

export class PrometheusProvider implements MetricProvider {
  private readonly http: AxiosInstance;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly postAbove: number;
  private readonly clock: Clock;
  private readonly agent: http.Agent | https.Agent;

  constructor(private readonly opts: PrometheusProviderOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retries = opts.retries ?? 2;
    this.minDelay = opts.retryMinDelayMs ?? 250;
    this.maxDelay = opts.retryMaxDelayMs ?? 10_000;
    this.postAbove = opts.postAboveLength ?? 2048;
    this.clock = opts.clock ?? systemClock;
    const base = opts.address.replace(/\/+$/, '');
    const isHttps = base.startsWith('https:');
    this.agent = isHttps
      ? new https.Agent({
          keepAlive: true,
          ...(opts.lookup ? { lookup: opts.lookup } : {}),
          rejectUnauthorized: !opts.insecureSkipVerify,
          ...(opts.ca || opts.caFile ? { ca: opts.ca ?? readFileSync(opts.caFile as string) } : {}),
        })
      : new http.Agent({ keepAlive: true, ...(opts.lookup ? { lookup: opts.lookup } : {}) });
    // Uncompressed: answers to instant queries are small, and gunzipping them was a tenth of the controller's
    // CPU at 3,000 canaries (docs/benchmarks.md); Prometheus saves the gzip too.
    const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Encoding': 'identity', ...(opts.headers ?? {}) };
    if (opts.bearerToken) headers.Authorization = `Bearer ${opts.bearerToken}`;
    this.http = axios.create({
      baseURL: base,
      headers,
      ...(opts.basicAuth ? { auth: opts.basicAuth } : {}),
      ...(isHttps ? { httpsAgent: this.agent } : { httpAgent: this.agent }),
      // We parse ourselves so a non-JSON body is a typed BadResponse, and every status is ours to map.
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      maxRedirects: 0,
      proxy: false,
    });
  }

  /** Frees pooled connections. */
  close(): void {
    this.agent.destroy();
  }

  async query(promql: string, opts: QueryOptions): Promise<QueryOutcome> {
    return this.run(promql, opts, (data) => this.toQueryOutcome(data));
  }

  async queryVector(promql: string, opts: QueryOptions): Promise<VectorOutcome> {
    return this.run(promql, opts, (data) => this.toVectorOutcome(data));
  }

  async ping(signal: AbortSignal): Promise<void> {
    const outcome = await this.query('1', { signal });
    if (outcome.kind === 'error') {
      throw new PrometheusError(outcome.code as PrometheusErrorCode, outcome.message, outcome.transient);
    }
    if (outcome.kind !== 'value' || outcome.value !== 1) {
      throw new PrometheusError('PrometheusBadResponse', `unexpected answer to the query "1": ${JSON.stringify(outcome)}`, false);
    }
  }

  /**
   * A range query (`/api/v1/query_range`): the expression evaluated at start, start + step, ... end, each
   * evaluation the same as an instant query at that time. Used by `routeshift replay` to read many past
   * instants in one request.
   */
  async queryRange(promql: string, opts: RangeQueryOptions): Promise<RangeOutcome> {
    const params: Record<string, string> = {
      query: promql,
      start: (opts.start.getTime() / 1000).toFixed(3),
      end: (opts.end.getTime() / 1000).toFixed(3),
      step: (opts.stepMs / 1000).toFixed(3),
    };
    return this.run(promql, { signal: opts.signal }, (data) => toRangeOutcome(data), { path: '/api/v1/query_range', params });
  }

  private async run<T extends QueryOutcome | VectorOutcome | RangeOutcome>(
    promql: string,
    opts: QueryOptions,
    map: (data: PromData) => T,
    request: { path: string; params: Record<string, string> } = { path: '/api/v1/query', params: instantParams(promql, opts) },
  ): Promise<T | Extract<QueryOutcome, { kind: 'error' }>> {
    const { signal } = opts;
    if (signal.aborted) throw new AbortedError('Prometheus query');
    const { path, params } = request;
    try {
      return await pRetry(
        async (attempt) => {
          const started = performance.now();
          try {
            const data = await this.attempt(path, params, signal);
            const outcome = map(data);
            this.emit({ path, durationMs: performance.now() - started, outcome: outcome.kind, attempt, status: 200 });
            return outcome;
          } catch (err) {
            if (err instanceof AttemptFailure) {
              this.emit({
                path,
                durationMs: performance.now() - started,
                outcome: err.code,
                attempt,
                ...(err.status !== undefined ? { status: err.status } : {}),
              });
              if (!err.transient) throw new RetryAbort(err);
            }
            throw err;
          }
        },
        {
          retries: this.retries,
          minTimeout: this.minDelay,
          maxTimeout: this.maxDelay,
          factor: 2,
          randomize: true,
          signal,
          shouldRetry: ({ error }) => error instanceof AttemptFailure && error.transient,
          onFailedAttempt: async ({ error, retriesLeft }) => {
            if (!(error instanceof AttemptFailure) || retriesLeft === 0) return;
            this.opts.logger?.debug({ code: error.code, message: error.message, retriesLeft }, 'prometheus query failed, retrying');
            // A server asking us to back off (429/503 Retry-After) is honoured, within our cap.
            if (error.retryAfterMs !== undefined && error.retryAfterMs > 0) {
              await this.clock.sleep(Math.min(error.retryAfterMs, this.maxDelay), signal);
            }
          },
        },
      );
    } catch (err) {
      if (signal.aborted || err instanceof AbortedError) throw new AbortedError('Prometheus query');
      if (err instanceof AttemptFailure) return { kind: 'error', code: err.code, message: err.message, transient: err.transient };
      const message = err instanceof Error ? err.message : String(err);
      return { kind: 'error', code: 'PrometheusBadResponse', message, transient: false };
    }
  }

  private emit(event: PrometheusRequestEvent): void {
    try {
      this.opts.onRequest?.(event);
    } catch (err) {
      this.opts.logger?.warn({ err }, 'onRequest hook threw');
    }
  }

  private async attempt(path: string, params: Record<string, string>, signal: AbortSignal): Promise<PromData> {
    // Our own deadline covers the whole exchange (axios' timeout is a socket idle timer).
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const ctrl = { signal: AbortSignal.any([signal, deadline]) };
    let res: AxiosResponse<string>;
    try {
      const query = params.query as string;
      res =
        query.length > this.postAbove
          ? await this.http.post(path, new URLSearchParams(params).toString(), {
              signal: ctrl.signal,
              headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
            })
          : await this.http.get(path, { params, signal: ctrl.signal });
    } catch (err) {
      if (signal.aborted) throw new AbortedError('Prometheus query');
      if (deadline.aborted) throw new AttemptFailure('PrometheusTimeout', `no answer from ${this.opts.address} within ${this.timeoutMs} ms`, true);
      const code = (err as { code?: string }).code ?? '';
      const message = err instanceof Error ? err.message : String(err);
      // The outbound policy's answer (opts.lookup) will not change on a retry.
      if (code === 'OutboundRefused' || (err as { cause?: { code?: string } }).cause?.code === 'OutboundRefused') throw new AttemptFailure('PrometheusUnreachable', `request to ${this.opts.address} ${message}`, false);
      if (NETWORK_CODES.has(code) || /socket hang up|ECONN|network/i.test(message)) {
        throw new AttemptFailure('PrometheusUnreachable', `cannot reach Prometheus at ${this.opts.address}: ${code || message}`, true);
      }
      throw new AttemptFailure('PrometheusUnreachable', `request to ${this.opts.address} failed: ${message}`, true);
    }
    return this.parse(res);
  }

  private parse(res: AxiosResponse<string>): PromData {
    let body: PromResponse | undefined;
    try {
      body = typeof res.data === 'string' && res.data.length ? (JSON.parse(res.data) as PromResponse) : undefined;
    } catch {
      body = undefined;
    }
    const status = res.status;
    const detail = body?.error ?? (typeof res.data === 'string' ? res.data.slice(0, 200).trim() : '');
    if (status === 200) {
      if (body?.status === 'success' && body.data && typeof body.data.resultType === 'string') {
        return { resultType: body.data.resultType, result: body.data.result };
      }
      throw new AttemptFailure('PrometheusBadResponse', `not a Prometheus API answer: ${detail || '(empty body)'}`, false, status);
    }
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.clock.now());
    if (status === 400 || status === 422) {
      // bad_data (parse error) or execution (e.g. many-to-many matching): the query must change.
      throw new AttemptFailure('PrometheusBadQuery', body?.error ?? `HTTP ${status}: ${detail}`, false, status);
    }
    if (status === 503 && (body?.errorType === 'timeout' || body?.errorType === 'canceled')) {
      throw new AttemptFailure('PrometheusTimeout', `Prometheus ${body.errorType}: ${body.error ?? ''}`.trim(), true, status, retryAfterMs);
    }
    const transient = status === 429 || status >= 500;
    throw new AttemptFailure('PrometheusHttpError', `HTTP ${status} from Prometheus${detail ? `: ${detail}` : ''}`, transient, status, retryAfterMs);
  }

  private toQueryOutcome(data: PromData): QueryOutcome {
    switch (data.resultType) {
      case 'vector': {
        if (!Array.isArray(data.result)) throw badResponse('vector result is not a list');
        if (data.result.length === 0) return { kind: 'no-data' };
        if (data.result.length > 1) return { kind: 'multiple-series', count: data.result.length };
        const pair = (data.result[0] as { value?: unknown }).value;
        if (!isSamplePair(pair)) throw badResponse('vector sample has no value');
        return toNumberOutcome(pair[1]);
      }
      case 'scalar': {
        if (!isSamplePair(data.result)) throw badResponse('scalar result is not [time, value]');
        return toNumberOutcome(data.result[1]);
      }
      case 'matrix':
        throw new AttemptFailure('PrometheusBadQuery', 'the query returns a range vector; wrap it in rate(), increase() or similar', false);
      default:
        throw new AttemptFailure('PrometheusBadQuery', `the query returns a ${data.resultType}, not a number`, false);
    }
  }

  private toVectorOutcome(data: PromData): VectorOutcome {
    if (data.resultType === 'scalar') {
      if (!isSamplePair(data.result)) throw badResponse('scalar result is not [time, value]');
      const value = parseSampleValue(data.result[1]);
      if (value === undefined) throw badResponse(`"${data.result[1]}" is not a sample value`);
      return { kind: 'vector', samples: [{ labels: {}, value }] };
    }
    if (data.resultType !== 'vector') {
      throw new AttemptFailure('PrometheusBadQuery', `the query returns a ${data.resultType}, not an instant vector`, false);
    }
    if (!Array.isArray(data.result)) throw badResponse('vector result is not a list');
    const samples: Sample[] = data.result.map((s: { metric?: Record<string, string>; value?: unknown }) => {
      const value = isSamplePair(s.value) ? parseSampleValue(s.value[1]) : undefined;
      if (value === undefined) throw badResponse('vector sample has no value');
      return { labels: { ...(s.metric ?? {}) }, value };
    });
    return { kind: 'vector', samples };
  }
}

function instantParams(promql: string, opts: QueryOptions): Record<string, string> {
  const params: Record<string, string> = { query: promql };
  if (opts.time) params.time = (opts.time.getTime() / 1000).toFixed(3);
  return params;
}

function toRangeOutcome(data: PromData): RangeOutcome {
  if (data.resultType !== 'matrix') throw badResponse(`a range query answered with a ${data.resultType}, not a matrix`);
  if (!Array.isArray(data.result)) throw badResponse('matrix result is not a list');
  const series: RangeSeries[] = data.result.map((s: { metric?: Record<string, string>; values?: unknown }) => {
    if (!Array.isArray(s.values)) throw badResponse('matrix series has no values');
    const points: Array<[number, number]> = s.values.map((pair: unknown) => {
      const value = isSamplePair(pair) ? parseSampleValue(pair[1]) : undefined;
      if (value === undefined || typeof (pair as [unknown])[0] !== 'number') throw badResponse('matrix sample is not [time, value]');
      // Step times are whole milliseconds: round away float noise in the seconds Prometheus returns.
      return [Math.round((pair as [number, string])[0] * 1000), value];
    });
    return { labels: { ...(s.metric ?? {}) }, points };
  });
  return { kind: 'matrix', series };
}

function badResponse(message: string): AttemptFailure {
  return new AttemptFailure('PrometheusBadResponse', message, false);
}

function toNumberOutcome(raw: string): QueryOutcome {
  if (NON_NUMBERS.has(raw)) return { kind: 'not-a-number', raw };
  const value = parseSampleValue(raw);
  if (value === undefined) throw badResponse(`"${raw}" is not a sample value`);
  if (!Number.isFinite(value)) return { kind: 'not-a-number', raw };
  return { kind: 'value', value };
}
