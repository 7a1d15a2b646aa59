import { RouteshiftError } from '../core/errors.js';

/** A Kubernetes API call failed. `status` is the HTTP status (0 for network errors). */
export class KubeApiError extends RouteshiftError {
  readonly status: number;
  readonly reason: string | undefined;

  constructor(status: number, message: string, reason?: string, cause?: unknown) {
    super(status === 409 ? 'Conflict' : status === 404 ? 'NotFound' : 'KubeApiError', message, {
      cause,
      transient: status === 0 || status === 429 || status >= 500 || status === 409,
    });
    this.status = status;
    this.reason = reason;
  }
}

interface ApiExceptionLike {
  code?: number;
  statusCode?: number;
  body?: unknown;
  message?: string;
}

/** The Status object the API server answers a failed call with (the parts we read). */
export interface StatusBody {
  message?: string;
  reason?: string;
  details?: { causes?: Array<{ field?: string; message?: string; reason?: string }> };
}

/** What a failed call came to, flattened from client-node's ApiException or a network error. */
export interface ApiFailure {
  /** HTTP status; undefined when the server never answered (connection refused, reset, DNS, TLS...). */
  status: number | undefined;
  /** The Status body (parsed when it was JSON text), or the text. */
  body: StatusBody | string | undefined;
  message: string;
}

export function apiFailure(err: unknown): ApiFailure {
  const e = (err ?? {}) as ApiExceptionLike;
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  let body: StatusBody | string | undefined;
  if (typeof e.body === 'string') {
    try {
      body = JSON.parse(e.body) as StatusBody;
    } catch {
      body = e.body;
    }
  } else if (e.body && typeof e.body === 'object') {
    body = e.body as StatusBody;
  }
  return { status, body, message: err instanceof Error ? err.message : typeof e.message === 'string' ? e.message : String(err) };
}

/** The Status message with its causes, or the body's text. */
export function statusText(body: ApiFailure['body']): string {
  if (typeof body === 'string') return body;
  const causes = (body?.details?.causes ?? []).map((c) => c.message).filter(Boolean);
  return [body?.message, ...causes].filter(Boolean).join('; ');
}

/** Normalises client-node's ApiException (body may be a JSON string or object) into a KubeApiError. */
export function toKubeApiError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const f = apiFailure(err);
  const detail = (typeof f.body === 'string' ? f.body : f.body?.message) ?? f.message;
  return new KubeApiError(f.status ?? 0, `${what}: ${f.status ? `HTTP ${f.status}: ` : ''}${detail}`, typeof f.body === 'object' ? f.body.reason : undefined, err);
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError ? err.status === 409 : (err as ApiExceptionLike)?.code === 409;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError ? err.status === 404 : (err as ApiExceptionLike)?.code === 404;
}
