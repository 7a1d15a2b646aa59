import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { AbortedError, RouteshiftError } from '../../../core/errors.js';
import type { KubeList } from './types.js';

/** A non-2xx answer from the API server; `status` is the HTTP code, `reason` the Status reason. */
export class KubeApiError extends RouteshiftError {
  readonly status: number;
  readonly reason: string;
  constructor(method: string, path: string, status: number, reason: string, message: string) {
    super('KubeApi', `${method} ${path}: ${status} ${reason}${message ? `: ${message}` : ''}`);
    this.status = status;
    this.reason = reason;
  }
}

/** The API server could not be reached (connection refused, reset, no cluster in the kubeconfig). */
export class KubeUnreachableError extends RouteshiftError {
  constructor(message: string, cause?: unknown) {
    super('KubeUnreachable', message, cause === undefined ? undefined : { cause });
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.status === 409;
}

export interface RequestOptions {
  signal?: AbortSignal;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
}

/**
 * The sliver of the Kubernetes REST API the sandbox components use. Paths are full API paths
 * (`/api/v1/namespaces/x/services`), so callers read like kubectl --raw and tests can fake it.
 */
export interface KubeRest {
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
}

export const MERGE_PATCH = 'application/merge-patch+json';

export function list<T>(rest: KubeRest, path: string, signal?: AbortSignal, labelSelector?: string): Promise<KubeList<T>> {
  return rest.request<KubeList<T>>('GET', path, { signal, query: { labelSelector } });
}

/** KubeRest over HTTP(S), authenticated the way client-node does it (certs, tokens, basic auth). */
export function httpKubeRest(kubeConfig: KubeConfig): KubeRest {
  return {
    async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
      const cluster = kubeConfig.getCurrentCluster();
      if (!cluster) throw new KubeUnreachableError('kubeconfig has no current cluster');
      const url = new URL(cluster.server.replace(/\/$/, '') + path);
      for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
      const reqOpts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
      await kubeConfig.applyToHTTPSOptions(reqOpts);
      const headers = reqOpts.headers as http.OutgoingHttpHeaders;
      let payload: Buffer | undefined;
      if (opts.body !== undefined) {
        payload = Buffer.from(JSON.stringify(opts.body));
        headers['Content-Type'] = opts.contentType ?? 'application/json';
        headers['Content-Length'] = payload.length;
      }
      const { status, text } = await send(url, reqOpts, payload, opts.signal, `${method} ${path}`);
      if (status < 200 || status > 299) {
        let reason = http.STATUS_CODES[status] ?? 'Error';
        let message = text.slice(0, 500);
        try {
          const parsed = JSON.parse(text) as { reason?: string; message?: string };
          reason = parsed.reason ?? reason;
          message = parsed.message ?? message;
        } catch {
          // not a Status object: keep the raw text
        }
        throw new KubeApiError(method, path, status, reason, message);
      }
      return (text ? JSON.parse(text) : undefined) as T;
    },
  };
}

function send(
  url: URL,
  opts: https.RequestOptions,
  payload: Buffer | undefined,
  signal: AbortSignal | undefined,
  what: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError(what));
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, { ...opts, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => reject(new KubeUnreachableError(`${what}: ${err.message}`, err)));
    });
    req.on('error', (err) => {
      if (signal?.aborted) reject(new AbortedError(what));
      else reject(new KubeUnreachableError(`${what}: ${err.message}`, err));
    });
    req.end(payload);
  });
}
