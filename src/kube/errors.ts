import { RouteshiftError } from '../core/errors.js';

/** A Kubernetes API call failed. `status` is the HTTP status (0 for network errors). */
export class KubeApiError extends RouteshiftError {
  readonly status: number;
  readonly transient: boolean;
  readonly reason: string | undefined;

  constructor(status: number, message: string, reason?: string, cause?: unknown) {
    super(status === 409 ? 'Conflict' : status === 404 ? 'NotFound' : 'KubeApiError', message, { cause });
    this.status = status;
    this.reason = reason;
    this.transient = status === 0 || status === 429 || status >= 500 || status === 409;
  }
}

interface ApiExceptionLike {
  code?: number;
  statusCode?: number;
  body?: unknown;
  message?: string;
}

/** Normalises client-node's ApiException (body may be a JSON string or object) into a KubeApiError. */
export function toKubeApiError(err: unknown, what: string): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = (err ?? {}) as ApiExceptionLike;
  const status = typeof e.code === 'number' ? e.code : typeof e.statusCode === 'number' ? e.statusCode : 0;
  let body: { message?: string; reason?: string } | undefined;
  if (typeof e.body === 'string') {
    try {
      body = JSON.parse(e.body) as typeof body;
    } catch {
      body = { message: e.body };
    }
  } else if (e.body && typeof e.body === 'object') {
    body = e.body as typeof body;
  }
  const detail = body?.message ?? (err instanceof Error ? err.message : String(err));
  return new KubeApiError(status, `${what}: ${status ? `HTTP ${status}: ` : ''}${detail}`, body?.reason, err);
}

export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError ? err.status === 409 : (err as ApiExceptionLike)?.code === 409;
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError ? err.status === 404 : (err as ApiExceptionLike)?.code === 404;
}
