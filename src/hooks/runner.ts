import pRetry from 'p-retry';
import type { WebhookSpec } from '../api/canary.js';
import type { GateResult } from '../analysis/types.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { isRetryable, WebhookSpecError, WebhookStatusError } from './errors.js';
import { postJson, type PostResult } from './http.js';
import type { OutboundPolicy } from './outbound.js';
import { describeResult, isConfirmType } from './messages.js';
import type { HookCall, HookPayload, HookRunner, HookRunOptions } from './types.js';

export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
/** The CRD caps `retries` at 10; the runner enforces the same bound for specs that skipped validation. */
export const MAX_HOOK_RETRIES = 10;
const MAX_RETRY_DELAY_MS = 10_000;

export interface HookRunnerOptions {
  clock?: Clock;
  logger?: Logger;
  onCall?: (r: HookCall) => void;
  /** Delay before the first retry; doubles per retry, capped at 10s. Default 1000. */
  retryDelayMs?: number;
  /** Where hooks may send requests; default: the built-in deny list (docs/security.md). */
  outbound?: OutboundPolicy;
}

export function createHookRunner(opts: HookRunnerOptions = {}): HookRunner {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger();
  const baseDelay = Math.max(0, opts.retryDelayMs ?? 1000);

  async function call(hook: WebhookSpec & { url: string }, payload: HookPayload, signal: AbortSignal): Promise<GateResult> {
    const timeoutMs = hook.timeout ? parseDuration(hook.timeout, `webhooks[${hook.name}].timeout`) : DEFAULT_HOOK_TIMEOUT_MS;
    checkUrl(hook.url);
    const body = requestBody(hook, payload);
    const retries = Math.min(MAX_HOOK_RETRIES, Math.max(0, Math.floor(hook.retries ?? 0)));
    const started = clock.now();
    let attempts = 0;
    let passed = false;
    let detail: string;
    try {
      const res = await pRetry(
        async (attempt: number): Promise<PostResult> => {
          if (attempt > 1) await clock.sleep(Math.min(MAX_RETRY_DELAY_MS, baseDelay * 2 ** (attempt - 2)), signal);
          attempts = attempt;
          const r = await postJson(hook.url, body, { timeoutMs, signal, clock, ...(opts.outbound ? { policy: opts.outbound } : {}) });
          // 5xx is thrown so p-retry retries it; any other status is an answer and ends the call.
          if (r.status >= 500) throw new WebhookStatusError(r.status, r.snippet);
          return r;
        },
        {
          retries,
          minTimeout: 0,
          maxTimeout: 0,
          randomize: false,
          signal,
          shouldRetry: ({ error }) => isRetryable(error) && !signal.aborted,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            logger.debug({ hook: hook.name, type: hook.type, attempt: attemptNumber, retriesLeft, err: error.message }, 'webhook attempt failed');
          },
        },
      );
      passed = res.status >= 200 && res.status < 300;
      detail = res.snippet && !passed ? `HTTP ${res.status}: ${res.snippet}` : `HTTP ${res.status}`;
    } catch (err) {
      detail = signal.aborted ? 'aborted' : errorMessage(err);
    }
    if (attempts > 1) detail += ` (after ${attempts} attempts)`;
    const durationMs = Math.max(0, clock.now() - started);
    opts.onCall?.({ type: hook.type, name: hook.name, ok: passed, durationMs });
    return result(hook, passed, detail);
  }

  function result(hook: WebhookSpec, passed: boolean, detail: string): GateResult {
    return { name: hook.name, type: hook.type, passed, message: describeResult(hook.type, hook.name, passed, detail) };
  }

  return {
    async run(hook: WebhookSpec, payload: HookPayload, runOpts: HookRunOptions): Promise<GateResult> {
      let r: GateResult;
      try {
        if (!hook.url) {
          r = isConfirmType(hook.type)
            ? result(hook, runOpts.approved, runOpts.approved ? 'approved' : 'waiting for approval (routeshift promote / resume)')
            : result(hook, false, 'no url (only confirm-* hooks may omit it, as manual gates)');
        } else if (runOpts.signal.aborted) {
          r = result(hook, false, 'aborted');
        } else {
          r = await call({ ...hook, url: hook.url }, payload, runOpts.signal);
        }
      } catch (err) {
        // Spec problems (bad timeout or url) and anything unexpected: a failed result, never a throw.
        r = result(hook, false, errorMessage(err));
      }
      // A closed gate is the normal answer of a gate and repeats every interval: not worth a warning.
      const quiet = r.passed || isConfirmType(hook.type);
      logger[quiet ? 'debug' : 'warn'](
        { canary: `${payload.namespace}/${payload.name}`, hook: hook.name, type: hook.type, passed: r.passed },
        r.message,
      );
      return r;
    },
  };
}

/** The body sent for `hook`: the payload with the hook's type and its metadata merged over the controller's. */
export function requestBody(hook: WebhookSpec, payload: HookPayload): HookPayload {
  return { ...payload, type: hook.type, metadata: { ...payload.metadata, ...hook.metadata } };
}

function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new WebhookSpecError('invalid url');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new WebhookSpecError(`unsupported url scheme "${u.protocol}"`);
}
