import { sharedAbortController } from '../../core/abort.js';
import type { Logger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import { isConflict, isNotFound, type KubeRest } from './kube/rest.js';
import type { HTTPRoute } from './kube/types.js';
import type { MeshConfig } from './mesh-config.js';
import { desiredParentStatuses, mergeRouteStatus } from './route-status.js';

const ROUTES = '/apis/gateway.networking.k8s.io/v1';
const MAX_CONFLICT_RETRIES = 5;

export function routePath(namespace: string, name: string): string {
  return `${ROUTES}/namespaces/${encodeURIComponent(namespace)}/httproutes/${encodeURIComponent(name)}`;
}

/**
 * Writes HTTPRoute `status.parents` for the config that is live in the proxy, one route at a time.
 * Writes go through the status subresource as PUT with the resourceVersion read, so another
 * controller's concurrent entry is never overwritten: a 409 means re-read and merge again.
 */
export class RouteStatusWriter {
  private readonly queue = new Map<string, { live: HTTPRoute; config: MeshConfig }>();
  private running: Promise<void> | undefined;
  private readonly abort = sharedAbortController();
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly rest: KubeRest,
    private readonly controllerName: string,
    private readonly latest: (namespace: string, name: string) => HTTPRoute | undefined,
    private readonly logger: Logger,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  /** Queues every route of the now-live config for a status check. */
  sync(config: MeshConfig): void {
    for (const route of config.snapshot.routes) {
      this.queue.set(`${route.metadata.namespace ?? 'default'}/${route.metadata.name}`, { live: route, config });
    }
    this.kick();
  }

  /** Resolves when the queue is empty (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearTimeout(this.retryTimer);
    this.queue.clear();
    await this.running?.catch(() => undefined);
  }

  private kick(): void {
    if (this.running || this.abort.signal.aborted) return;
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.queue.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    for (;;) {
      const next = this.queue.entries().next();
      if (next.done || this.abort.signal.aborted) return;
      const [key, item] = next.value;
      this.queue.delete(key);
      try {
        await this.writeOne(item.live, item.config);
      } catch (err) {
        if (this.abort.signal.aborted) return;
        this.logger.warn({ route: key, err: errorMessage(err) }, 'route status write failed; retrying');
        if (!this.queue.has(key)) this.queue.set(key, item);
        this.retryTimer = setTimeout(() => this.kick(), 1000);
        this.retryTimer.unref();
        return;
      }
    }
  }

  private async writeOne(live: HTTPRoute, config: MeshConfig): Promise<void> {
    const ns = live.metadata.namespace ?? 'default';
    const name = live.metadata.name;
    let current = this.latest(ns, name) ?? live;
    for (let attempt = 0; ; attempt++) {
      const mine = (current.status?.parents ?? []).filter((p) => p.controllerName === this.controllerName);
      const liveGen = live.metadata.generation ?? 0;
      // A newer generation is already reported (a later config went live first): do not go back.
      if (mine.some((p) => p.conditions.some((c) => (c.observedGeneration ?? 0) > liveGen))) return;
      const desired = desiredParentStatuses(live, (n, s) => config.service(n, s), this.controllerName, this.now());
      const { parents, changed } = mergeRouteStatus(current, desired, this.controllerName);
      if (!changed) return;
      const body: HTTPRoute = { ...current, status: { ...(current.status ?? {}), parents } };
      try {
        await this.rest.request<HTTPRoute>('PUT', `${routePath(ns, name)}/status`, { body, signal: this.abort.signal });
        this.logger.debug({ route: `${ns}/${name}`, generation: liveGen }, 'route status written');
        return;
      } catch (err) {
        if (isNotFound(err)) return;
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        current = await this.rest.request<HTTPRoute>('GET', routePath(ns, name), { signal: this.abort.signal });
      }
    }
  }
}
