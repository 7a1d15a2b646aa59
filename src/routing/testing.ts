/**
 * Test doubles for code that talks to routes: an in-memory RouteClient that applies JSON Patch exactly
 * like the API server would (all-or-nothing, `test` ops enforced, generation bumped on spec change),
 * and sample routes. Used by routing's own tests and meant for the controller's.
 */
import { throwIfAborted } from '../core/errors.js';
import { RouteMismatchError, RouteNotFoundError } from './errors.js';
import { applyJsonPatch, JsonPatchError, jsonEqual, type JsonPatchOp } from './json-patch.js';
import type { RouteClient } from './route-client.js';
import { describeRouteKey } from './route-client.js';
import type { LocateInput } from './locate.js';
import type { Route, RouteKey } from './types.js';

function keyOf(ref: RouteKey): string {
  return `${ref.kind}/${ref.namespace}/${ref.name}`;
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export class FakeRouteClient implements RouteClient {
  private readonly routes = new Map<string, Route>();
  private rv = 1000;
  /** Every call, in order. */
  readonly calls: Array<{ verb: 'get' | 'patch'; ref: RouteKey; ops?: JsonPatchOp[] }> = [];
  /** Errors to throw from the next calls, first in first out (simulates API failures). */
  readonly failures: Error[] = [];
  /** Runs after a GET returns, before the caller sees it: simulate a concurrent edit with `update`. */
  afterGet: ((ref: RouteKey) => void) | undefined;
  /** Rewrites a route on write, like a mutating admission webhook would. */
  mutate: ((route: Route) => Route) | undefined;

  constructor(routes: Route[] = []) {
    for (const r of routes) this.put(r);
  }

  /** Stores a route as the API server would (kind defaulted, resourceVersion/generation set). */
  put(route: Route): void {
    const r = clone(route);
    r.kind ??= 'HTTPRoute';
    r.metadata.namespace ??= 'default';
    r.metadata.generation ??= 1;
    r.metadata.resourceVersion = String(++this.rv);
    this.routes.set(keyOf({ kind: r.kind as RouteKey['kind'], namespace: r.metadata.namespace, name: r.metadata.name }), r);
  }

  /** The stored route (a copy), or undefined. */
  peek(ref: RouteKey): Route | undefined {
    const r = this.routes.get(keyOf(ref));
    return r ? clone(r) : undefined;
  }

  /** Edits the stored route in place (spec changes bump generation), as another actor would. */
  update(ref: RouteKey, edit: (route: Route) => void): void {
    const r = this.routes.get(keyOf(ref));
    if (!r) throw new Error(`no route ${describeRouteKey(ref)}`);
    const spec = JSON.stringify(r.spec);
    edit(r);
    if (JSON.stringify(r.spec) !== spec) r.metadata.generation = (r.metadata.generation ?? 1) + 1;
    r.metadata.resourceVersion = String(++this.rv);
  }

  async get(ref: RouteKey, signal: AbortSignal): Promise<Route> {
    throwIfAborted(signal, `get ${describeRouteKey(ref)}`);
    this.calls.push({ verb: 'get', ref });
    const failure = this.failures.shift();
    if (failure) throw failure;
    const r = this.routes.get(keyOf(ref));
    if (!r) throw new RouteNotFoundError(describeRouteKey(ref));
    const out = clone(r);
    this.afterGet?.(ref);
    return out;
  }

  async patchWeights(ref: RouteKey, ops: ReadonlyArray<JsonPatchOp>, signal: AbortSignal): Promise<Route> {
    throwIfAborted(signal, `patch ${describeRouteKey(ref)}`);
    this.calls.push({ verb: 'patch', ref, ops: clone([...ops]) });
    const failure = this.failures.shift();
    if (failure) throw failure;
    const r = this.routes.get(keyOf(ref));
    if (!r) throw new RouteNotFoundError(describeRouteKey(ref));
    let next: Route;
    try {
      next = applyJsonPatch(r, ops);
    } catch (err) {
      if (err instanceof JsonPatchError) {
        throw new RouteMismatchError('RouteChanged', `${describeRouteKey(ref)}: the route changed since it was read; re-reading (${err.message})`, {
          cause: err,
        });
      }
      throw err;
    }
    if (this.mutate) next = this.mutate(next);
    if (!jsonEqual(next.spec, r.spec)) next.metadata.generation = (r.metadata.generation ?? 1) + 1;
    next.metadata.resourceVersion = String(++this.rv);
    this.routes.set(keyOf(ref), next);
    return clone(next);
  }
}

/** The seed route's key and the Canary side of locating its owned backends (backend-v1 stable, v2 canary). */
export const SEED_ROUTE_KEY: RouteKey = Object.freeze({ kind: 'HTTPRoute', namespace: 'istio-test', name: 'backend-split' });
export const SEED_LOCATE_INPUT: LocateInput = Object.freeze({
  routeRef: { name: 'backend-split' },
  stable: { name: 'backend-v1', port: 80 },
  canary: { name: 'backend-v2', port: 80 },
  canaryNamespace: 'istio-test',
});

/**
 * The seed's 90/10 route (gamma-canary-blog) as the API server returns it: defaults filled in
 * (parentRef group "" kind Service as written; backendRef group "", kind Service), weights given.
 */
export function seedRoute(): Route {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: 'backend-split', namespace: 'istio-test', generation: 1, resourceVersion: '4711' },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: 'backend', port: 80 }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { group: '', kind: 'Service', name: 'backend-v1', port: 80, weight: 90 },
            { group: '', kind: 'Service', name: 'backend-v2', port: 80, weight: 10 },
          ],
        },
      ],
    },
  };
}
