import type { EventSink } from '../events/recorder.js';
import { ROUTE_PLURALS, type RouteClient } from '../routing/index.js';
import type { CanaryStore } from './canary-store.js';
import type { ControllerMetrics } from './metrics.js';

/**
 * Times Kubernetes API calls into routeshift_kube_request_duration_seconds{verb,resource,outcome},
 * outcome being "ok" or the HTTP status class ("409", "4xx", "5xx", "error"), so conflicts and
 * throttling show on /metrics without labelling by object.
 */
export function timed<A extends unknown[], R>(metrics: ControllerMetrics, verb: string, resource: string, fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    const end = metrics.apiRequests.startTimer({ verb, resource });
    try {
      const r = await fn(...args);
      end({ outcome: 'ok' });
      return r;
    } catch (err) {
      const status = (err as { status?: number }).status ?? 0;
      end({ outcome: status === 409 ? '409' : status >= 500 ? '5xx' : status >= 400 ? '4xx' : 'error' });
      throw err;
    }
  };
}

export function instrumentStore(s: CanaryStore, m: ControllerMetrics): CanaryStore {
  return {
    get: timed(m, 'get', 'canaries', s.get.bind(s)),
    list: timed(m, 'list', 'canaries', s.list.bind(s)),
    replaceStatus: timed(m, 'update', 'canaries/status', s.replaceStatus.bind(s)),
    patch: timed(m, 'patch', 'canaries', s.patch.bind(s)),
  };
}

export function instrumentRoutes(r: RouteClient, m: ControllerMetrics): RouteClient {
  return {
    get: (ref, signal) => timed(m, 'get', ROUTE_PLURALS[ref.kind], r.get.bind(r))(ref, signal),
    patchWeights: (ref, ops, signal) => timed(m, 'patch', ROUTE_PLURALS[ref.kind], r.patchWeights.bind(r))(ref, ops, signal),
  };
}

export function instrumentSink(e: EventSink, m: ControllerMetrics): EventSink {
  return {
    create: timed(m, 'create', 'events', e.create.bind(e)),
    update: timed(m, 'patch', 'events', e.update.bind(e)),
  };
}
