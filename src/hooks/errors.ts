import { RouteshiftError } from '../core/errors.js';

/**
 * Failures of one outbound webhook call. They never escape the hook runner or the notifier (both turn
 * them into results), but the classes decide what is retried and how the result message reads.
 */

/** The receiver answered with a status outside 2xx. Only 5xx is retried. */
export class WebhookStatusError extends RouteshiftError {
  readonly status: number;
  /** First line of the response body, trimmed, so a gate can say why it is closed. */
  readonly snippet: string;

  constructor(status: number, snippet: string) {
    super('WebhookStatus', snippet ? `HTTP ${status}: ${snippet}` : `HTTP ${status}`);
    this.status = status;
    this.snippet = snippet;
  }

  get retryable(): boolean {
    return this.status >= 500;
  }
}

/** No HTTP answer at all: refused, reset, DNS failure. Retried. */
export class WebhookNetworkError extends RouteshiftError {
  constructor(detail: string, cause?: unknown) {
    super('WebhookNetwork', detail, { cause });
  }
}

/** No answer within the hook's (or the send's) timeout. Retried like a network error. */
export class WebhookTimeoutError extends RouteshiftError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('WebhookTimeout', `timed out after ${formatMs(timeoutMs)}`);
    this.timeoutMs = timeoutMs;
  }
}

/** The hook spec cannot be called as written (no URL on a non-manual hook, bad timeout). Not retried. */
export class WebhookSpecError extends RouteshiftError {
  constructor(detail: string) {
    super('WebhookSpec', detail);
  }
}

export function isRetryable(err: unknown): boolean {
  if (err instanceof WebhookStatusError) return err.retryable;
  return err instanceof WebhookNetworkError || err instanceof WebhookTimeoutError;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
}

/** The outbound policy (config `outbound`) forbids the destination. Not retried: the answer will not change. */
export class OutboundRefusedError extends RouteshiftError {
  constructor(why: string) {
    super('OutboundRefused', `refused by the outbound policy: ${why}`);
  }
}

/** The refusal behind a failed request, wherever the HTTP client wrapped it. */
export function outboundRefusal(err: unknown): OutboundRefusedError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof OutboundRefusedError) return e;
  }
  return undefined;
}
