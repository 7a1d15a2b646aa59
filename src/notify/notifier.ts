import type { AlertSpec } from '../api/canary.js';
import { systemClock, type Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { WebhookStatusError } from '../hooks/errors.js';
import { postJson, withDeadline } from '../hooks/http.js';
import type { OutboundPolicy } from '../hooks/outbound.js';
import { AlertUrlMissingError } from './errors.js';
import { formatFor } from './format.js';
import { admits } from './severity.js';
import type { Notifier, NotifierStats, NotifyResult, RolloutNotification } from './types.js';

export interface NotifierOptions {
  logger: Logger;
  /** Called once per send (and per dropped message); the controller counts these in /metrics. */
  onResult?: (r: NotifyResult) => void;
  /** Looks up the webhook address of an alert without `url` (its secretRef), within `signal`. */
  resolveUrl?: (alert: AlertSpec, namespace: string, signal: AbortSignal) => Promise<string | undefined>;
  /** Aborting it stops the notifier (as stop() does). */
  signal?: AbortSignal;
  clock?: Clock;
  /** Bound on one send, Secret lookup included. Default 10s. */
  sendTimeoutMs?: number;
  /** Messages waiting to be sent; beyond it the oldest is dropped. Default 100. */
  maxQueue?: number;
  /** Sends at once, so one hanging receiver does not hold the others. Default 4. */
  concurrency?: number;
  /** Where alerts may be sent; default: the built-in deny list (docs/security.md). */
  outbound?: OutboundPolicy;
}

export interface RunningNotifier extends Notifier {
  /** Resolves when everything queued so far has been sent or has failed (each send bounded by its timeout). */
  flush(): Promise<void>;
  /** Drops what is queued, aborts sends in flight, ignores later notify() calls. */
  stop(): void;
  stats(): NotifierStats;
}

interface Job {
  n: RolloutNotification;
  alert: AlertSpec;
}

export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

/**
 * Notifications leave through a bounded queue drained by a few concurrent senders: notify() only
 * enqueues, so the reconcile loop never waits on Slack. A send that fails is logged and reported,
 * never retried (a stale "weight 40%" is worse than none) and never thrown.
 */
export function createNotifier(opts: NotifierOptions): RunningNotifier {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger;
  const sendTimeoutMs = opts.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const maxQueue = Math.max(1, opts.maxQueue ?? 100);
  const concurrency = Math.max(1, opts.concurrency ?? 4);

  const queue: Job[] = [];
  const stopCtl = new AbortController();
  let stopped = false;
  let inFlight = 0;
  let scheduled = false;
  let idleWaiters: Array<() => void> = [];
  const counts = { sent: 0, failed: 0, dropped: 0 };

  function report(r: NotifyResult): void {
    try {
      opts.onResult?.(r);
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'notification result callback threw');
    }
  }

  function drop(job: Job, why: string): void {
    counts.dropped++;
    logger.warn({ alert: job.alert.name, provider: job.alert.provider, reason: job.n.reason, why }, 'notification dropped');
    report({ provider: job.alert.provider, alert: job.alert.name, ok: false, dropped: true, error: why });
  }

  function settleIfIdle(): void {
    if (inFlight > 0 || (queue.length > 0 && !stopped)) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  function pump(): void {
    while (!stopped && inFlight < concurrency && queue.length > 0) {
      const job = queue.shift() as Job;
      inFlight++;
      void send(job).finally(() => {
        inFlight--;
        pump();
      });
    }
    settleIfIdle();
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    // Sending starts after notify() has returned, so even the synchronous part of a request stays off the caller.
    queueMicrotask(() => {
      scheduled = false;
      pump();
    });
  }

  async function send({ n, alert }: Job): Promise<void> {
    const who = { alert: alert.name, provider: alert.provider, canary: `${n.canary.namespace}/${n.canary.name}`, reason: n.reason };
    try {
      const status = await withDeadline(clock, sendTimeoutMs, stopCtl.signal, `notification '${alert.name}'`, async (signal) => {
        const url = alert.url ?? (opts.resolveUrl ? await opts.resolveUrl(alert, n.canary.namespace, signal) : undefined);
        if (!url) throw new AlertUrlMissingError(alert.name, alert.url === undefined && alert.secretRef !== undefined);
        const res = await postJson(url, formatFor(alert.provider, n), { timeoutMs: sendTimeoutMs, signal, clock, ...(opts.outbound ? { policy: opts.outbound } : {}) });
        if (res.status < 200 || res.status >= 300) throw new WebhookStatusError(res.status, res.snippet);
        return res.status;
      });
      counts.sent++;
      logger.debug({ ...who, status }, 'notification sent');
      report({ provider: alert.provider, alert: alert.name, ok: true, status });
    } catch (err) {
      counts.failed++;
      const error = errorMessage(err);
      logger.warn({ ...who, err: error }, 'notification not delivered');
      report({
        provider: alert.provider,
        alert: alert.name,
        ok: false,
        error,
        ...(err instanceof WebhookStatusError ? { status: err.status } : {}),
      });
    }
  }

  function stop(): void {
    if (stopped) return;
    stopped = true;
    for (const job of queue.splice(0)) drop(job, 'notifier stopped');
    stopCtl.abort();
    settleIfIdle();
  }

  if (opts.signal?.aborted) stop();
  else opts.signal?.addEventListener('abort', stop, { once: true });

  return {
    notify(n: RolloutNotification, alerts: AlertSpec[]): void {
      try {
        if (stopped) {
          logger.debug({ reason: n.reason }, 'notifier stopped: notification ignored');
          return;
        }
        for (const alert of alerts) {
          if (!admits(alert, n.severity)) continue;
          if (queue.length >= maxQueue) drop(queue.shift() as Job, 'queue full');
          queue.push({ n, alert });
        }
        schedule();
      } catch (err) {
        logger.error({ err: errorMessage(err) }, 'notify failed');
      }
    },
    flush(): Promise<void> {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIfIdle();
      });
    },
    stop,
    stats(): NotifierStats {
      return { queued: queue.length, inFlight, ...counts };
    },
  };
}
