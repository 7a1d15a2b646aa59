import type { JsonPatchOp } from './json-patch.js';
import type { RouteClient } from './route-client.js';
import type { Route, RouteKey } from './types.js';

/** What an informer holds for a route: the object, or undefined when it has none (not watched, not there). */
export type RouteLookup = (ref: RouteKey) => Route | undefined;

const keyOf = (ref: RouteKey): string => `${ref.kind}/${ref.namespace}/${ref.name}`;

interface Seen {
  resourceVersion: string | undefined;
  generation: number | undefined;
}

/**
 * Whether a cached route is at least as new as `seen`, in the spec: the same resourceVersion, or (since
 * resourceVersions may not be compared but generations count spec changes) a generation at least as high.
 * A newer status with an older spec does not count; nothing counts after a failure (seen undefined).
 */
function caughtUp(cached: Route, seen: Seen | undefined): boolean {
  if (!seen) return false;
  if (seen.resourceVersion !== undefined && cached.metadata.resourceVersion === seen.resourceVersion) return true;
  return seen.generation !== undefined && cached.metadata.generation !== undefined && cached.metadata.generation >= seen.generation;
}

/**
 * Reads routes from the informer's cache instead of a GET per tick, and patches through the API.
 *
 * A cached read may be stale; that is safe because every weight patch carries `test` ops on what it read,
 * so a stale read costs a refused patch (RouteChanged) and a retry, never a wrong write. To keep that rare:
 * after our own patch (or a live read) the route is read live until the informer holds that version or a
 * later spec (see caughtUp), and after any failed patch the next read is live.
 */
export class CachedRouteClient implements RouteClient {
  /** Routes to read live next, with what the cache must show to be trusted again (undefined: a live read). */
  private readonly awaited = new Map<string, Seen | undefined>();

  constructor(
    private readonly live: RouteClient,
    private readonly lookup: RouteLookup,
  ) {}

  /** Feed every route the informer delivers (adds, updates, deletes). */
  observe(route: Route): void {
    const k = keyOf({ kind: (route.kind as RouteKey['kind']) ?? 'HTTPRoute', namespace: route.metadata.namespace ?? '', name: route.metadata.name });
    if (caughtUp(route, this.awaited.get(k))) this.awaited.delete(k);
  }

  async get(ref: RouteKey, signal: AbortSignal): Promise<Route> {
    const k = keyOf(ref);
    const cached = this.lookup(ref);
    if (cached && (!this.awaited.has(k) || caughtUp(cached, this.awaited.get(k)))) {
      this.awaited.delete(k);
      return structuredClone(cached);
    }
    const route = await this.live.get(ref, signal);
    this.trustFrom(k, ref, route);
    return route;
  }

  /** The cache serves `k` again once it holds `seen`'s version (it may already). */
  private trustFrom(k: string, ref: RouteKey, seen: Route): void {
    const mark: Seen = { resourceVersion: seen.metadata.resourceVersion, generation: seen.metadata.generation };
    const cached = this.lookup(ref);
    if (cached && caughtUp(cached, mark)) this.awaited.delete(k);
    else this.awaited.set(k, mark);
  }

  async patchWeights(ref: RouteKey, ops: ReadonlyArray<JsonPatchOp>, signal: AbortSignal): Promise<Route> {
    const k = keyOf(ref);
    try {
      const route = await this.live.patchWeights(ref, ops, signal);
      this.trustFrom(k, ref, route);
      return route;
    } catch (err) {
      this.awaited.set(k, undefined);
      throw err;
    }
  }
}
