import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import axios from 'axios';
import { CANARY_PLURAL, GROUP, VERSION, type Canary } from '../api/canary.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { callOptions } from '../kube/options.js';
import type { Logger } from '../core/logger.js';
import type { WeightPoint } from './history.js';
import { canaryKey, pollIntervalMs } from './model.js';
import type { DashboardState, WatchType } from './state.js';

/**
 * The dashboard's readers. Kubernetes: list then watch Canaries and their Events in every namespace
 * (list and watch only: the dashboard never writes). Prometheus: routeshift's own series, read no
 * more often than the shortest analysis interval. A source that fails shows a banner and is retried.
 */

/** Wait before re-listing after a failed list or watch. */
const RETRY_MS = 5000;
/** Server-side bound on one watch; the loop re-lists after it. */
const WATCH_SECONDS = 300;

interface ListWatch {
  what: string;
  list(signal: AbortSignal): Promise<{ items: object[]; resourceVersion: string }>;
  path: string;
  params: Record<string, string | number | boolean>;
  reset(items: object[]): void;
  event(type: WatchType, obj: object): void;
}

function watchOnce(watch: Watch, lw: ListWatch, resourceVersion: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let request: AbortController | undefined;
    let failure: Error | undefined;
    // Ending on abort does not wait for the client to report the closed stream.
    const onAbort = (): void => {
      request?.abort();
      resolve();
    };
    const onLine = (type: string, obj: Record<string, unknown>): void => {
      if (type === 'ERROR') {
        // 410 Gone (too old a resourceVersion) and other refusals: re-list.
        failure = new Error(`${lw.what}: ${String(obj['message'] ?? 'watch error')}`);
        request?.abort();
      } else if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') lw.event(type, obj);
    };
    const done = (err: unknown): void => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted || (!err && !failure)) resolve();
      else reject(failure ?? err);
    };
    watch
      .watch(lw.path, { ...lw.params, resourceVersion, timeoutSeconds: WATCH_SECONDS, allowWatchBookmarks: true }, onLine, done)
      .then((ctrl) => {
        request = ctrl;
        if (signal.aborted) ctrl.abort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }, reject);
  });
}

async function listWatchLoop(watch: Watch, lw: ListWatch, state: DashboardState, server: string, clock: Clock, log: Logger, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const { items, resourceVersion } = await lw.list(signal);
      lw.reset(items);
      state.setBanner('api', undefined);
      await watchOnce(watch, lw, resourceVersion, signal);
    } catch (err) {
      if (signal.aborted) return;
      log.warn({ err: errorMessage(err) }, `dashboard: ${lw.what} failed`);
      state.setBanner('api', `Kubernetes API server ${server} is not answering (${lw.what}: ${errorMessage(err)}). Showing what was last seen; retrying every ${RETRY_MS / 1000}s.`);
      await clock.sleep(RETRY_MS, signal).catch(() => undefined);
    }
  }
}

export function watchKubernetes(kc: KubeConfig, state: DashboardState, clock: Clock, log: Logger, signal: AbortSignal): Promise<void[]> {
  const watch = new Watch(kc);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const server = kc.getCurrentCluster()?.server ?? '(unknown)';
  const canaries: ListWatch = {
    what: 'list/watch Canaries',
    async list(s) {
      const res = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: CANARY_PLURAL }, callOptions(s))) as { items: Canary[]; metadata?: { resourceVersion?: string } };
      return { items: res.items, resourceVersion: res.metadata?.resourceVersion ?? '' };
    },
    path: `/apis/${GROUP}/${VERSION}/${CANARY_PLURAL}`,
    params: {},
    reset: (items) => state.resetCanaries(items as Canary[]),
    event: (type, obj) => state.canaryEvent(type, obj as Canary),
  };
  const fieldSelector = 'involvedObject.kind=Canary';
  const events: ListWatch = {
    what: 'list/watch Events',
    async list(s) {
      const res = await core.listEventForAllNamespaces({ fieldSelector }, callOptions(s));
      // Items from the generated client carry Dates; the summary reads both Dates and strings.
      return { items: res.items as object[], resourceVersion: res.metadata?.resourceVersion ?? '' };
    },
    path: '/api/v1/events',
    params: { fieldSelector },
    reset: (items) => state.resetEvents(items),
    event: (type, obj) => state.kubeEvent(type, obj),
  };
  return Promise.all([listWatchLoop(watch, canaries, state, server, clock, log, signal), listWatchLoop(watch, events, state, server, clock, log, signal)]);
}

interface RangeResult {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** Series by Canary key (and, with `by`, by that label too). */
export function splitSeries(result: RangeResult[], by?: string): Map<string, Map<string, WeightPoint[]>> {
  const out = new Map<string, Map<string, WeightPoint[]>>();
  for (const r of result) {
    const key = canaryKey(r.metric['namespace'] ?? '', r.metric['name'] ?? '');
    const sub = by ? (r.metric[by] ?? '') : '';
    let m = out.get(key);
    if (!m) {
      m = new Map();
      out.set(key, m);
    }
    const points = r.values.map(([t, v]) => ({ t, weight: Number(v) })).filter((p) => Number.isFinite(p.weight));
    m.set(sub, [...(m.get(sub) ?? []), ...points].sort((a, b) => a.t - b.t));
  }
  return out;
}

/** The range to read: from the oldest Canary's creation (at most `maxBackSec` back) to now, in at most ~500 points. */
export function rangeFor(canaries: readonly Canary[], nowSec: number, intervalSec: number, maxBackSec = 6 * 3600): { start: number; end: number; step: number } {
  const created = canaries.map((c) => Date.parse(c.metadata.creationTimestamp ?? '') / 1000).filter((t) => Number.isFinite(t));
  const start = Math.max(nowSec - maxBackSec, Math.min(nowSec - intervalSec, ...created));
  return { start, end: nowSec, step: Math.max(intervalSec, Math.ceil((nowSec - start) / 500)) };
}

export async function pollPrometheus(url: string, state: DashboardState, clock: Clock, log: Logger, signal: AbortSignal): Promise<void> {
  const query = async (q: string, r: { start: number; end: number; step: number }): Promise<RangeResult[]> => {
    const res = await axios.get(`${url.replace(/\/$/, '')}/api/v1/query_range`, { params: { query: q, ...r }, timeout: 10_000, signal });
    if (res.data?.status !== 'success') throw new Error(`query ${q}: ${String(res.data?.error ?? 'no result')}`);
    return res.data.data.result as RangeResult[];
  };
  while (!signal.aborted) {
    const interval = pollIntervalMs(state.list(), 1000, 60_000);
    try {
      const r = rangeFor(state.list(), Math.floor(clock.now() / 1000), Math.max(1, Math.round(interval / 1000)));
      const weights = splitSeries(await query('max by (namespace, name) (routeshift_canary_weight)', r));
      const metrics = splitSeries(await query('max by (namespace, name, metric) (routeshift_canary_metric_value)', r), 'metric');
      state.setPrometheusHistory(new Map([...weights].map(([k, m]) => [k, m.get('') ?? []])), metrics);
      state.setBanner('prometheus', undefined);
    } catch (err) {
      if (signal.aborted) return;
      log.warn({ err: errorMessage(err) }, 'dashboard: Prometheus query failed');
      state.setBanner('prometheus', `Prometheus ${url} is not answering (${errorMessage(err)}): weights before the dashboard started and metric history are missing. Retrying.`);
    }
    await clock.sleep(interval, signal).catch(() => undefined);
  }
}
