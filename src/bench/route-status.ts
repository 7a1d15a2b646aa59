import { setMaxListeners } from 'node:events';
import type { KubeHttp, WatchLine } from './kube-http.js';

/**
 * Stands in for a mesh's route-status controller at scale: every HTTPRoute in the namespace gets
 * Accepted=True and ResolvedRefs=True for its current generation, so the controller's readiness
 * check passes without the sandbox mesh (whose full config rebuild per change is the harness's
 * cost, not the controller's). Writes are merge patches of the status subresource, so they never
 * conflict with the controller's weight patches.
 */

export const BENCH_MESH_CONTROLLER = 'istio.io/gateway-controller';

interface RouteLike {
  metadata?: { name?: string; namespace?: string; generation?: number };
  spec?: { parentRefs?: Array<Record<string, unknown>> };
  status?: { parents?: Array<{ conditions?: Array<{ type?: string; observedGeneration?: number }> }> };
}

export interface RouteStatusStub {
  /** Status writes done so far. */
  readonly writes: number;
  /** Resolves once at least `count` routes show status for their current generation. */
  ready(count: number, signal?: AbortSignal): Promise<void>;
  stop(): void;
}

export function startRouteStatusStub(client: KubeHttp, namespace: string): RouteStatusStub {
  const ac = new AbortController();
  setMaxListeners(0, ac.signal); // shared by every status write in flight
  const collection = `/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/httproutes`;
  const pending = new Map<string, number>(); // route name -> generation to confirm
  const inflight = new Set<string>();
  const upToDate = new Set<string>();
  const current = new Map<string, RouteLike>();
  let writes = 0;

  const observed = (r: RouteLike): number | undefined => r.status?.parents?.[0]?.conditions?.find((c) => c.type === 'Accepted')?.observedGeneration;

  const pump = (name: string): void => {
    if (inflight.has(name) || ac.signal.aborted) return;
    const generation = pending.get(name);
    if (generation === undefined) return;
    inflight.add(name);
    pending.delete(name);
    const now = new Date().toISOString();
    const condition = (type: string) => ({ type, status: 'True', reason: type, message: '', observedGeneration: generation, lastTransitionTime: now });
    const parents = (current.get(name)?.spec?.parentRefs ?? []).map((parentRef) => ({
      parentRef,
      controllerName: BENCH_MESH_CONTROLLER,
      conditions: [condition('Accepted'), condition('ResolvedRefs')],
    }));
    void client
      .request('PATCH', `${collection}/${name}/status`, { status: { parents } }, 'application/merge-patch+json', ac.signal)
      .then(
        (res) => {
          if (res.status < 300) writes++;
          else if (!pending.has(name)) pending.set(name, generation); // try again
        },
        () => {
          if (!pending.has(name)) pending.set(name, generation);
        },
      )
      .finally(() => {
        inflight.delete(name);
        if (pending.has(name)) setTimeout(() => pump(name), pending.get(name) === generation ? 100 : 0);
      });
  };

  const onLine = (line: WatchLine): void => {
    const r = line.object as RouteLike;
    const name = r.metadata?.name;
    if (!name) return;
    if (line.type === 'DELETED') {
      current.delete(name);
      pending.delete(name);
      upToDate.delete(name);
      return;
    }
    current.set(name, r);
    const gen = r.metadata?.generation ?? 1;
    if (observed(r) === gen) {
      upToDate.add(name);
    } else {
      upToDate.delete(name);
      pending.set(name, gen);
      pump(name);
    }
  };
  void client.listWatch(collection, onLine, ac.signal);

  return {
    get writes() {
      return writes;
    },
    async ready(count, signal) {
      while (upToDate.size < count) {
        if (signal?.aborted || ac.signal.aborted) throw new Error('route status stub stopped before the routes were ready');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => ac.abort(),
  };
}
