/**
 * The RouteClient contract (read a route; JSON-patch it), the mapping of API failures to routeshift
 * errors, and setWeights: one GET → locate → plan → PATCH attempt. The client-node implementation is in
 * kube-route-client.ts, kept apart so code and tests using a fake client never load client-node. There is deliberately no retry loop here: the controller's next tick re-reads and
 * re-plans, which is the only correct retry after a `test` op failed (the route changed under us).
 */
import type { RouteRef } from '../api/canary.js';
import { AbortedError, throwIfAborted } from '../core/errors.js';
import { apiFailure, statusText, type ApiFailure } from '../kube/errors.js';
import { RouteApiError, RouteMismatchError, RouteNotFoundError } from './errors.js';
import type { JsonPatchOp } from './json-patch.js';
import type { LocateInput } from './locate.js';
import { buildShapePatch, locateShape, shapeMismatches, type ShapeInput, type ShapeTarget } from './shapes.js';
import { GATEWAY_GROUP, type OwnedBackends, type Route, type RouteKey, type Weights } from './types.js';
import { readWeights, weightsFor } from './weights.js';

export interface RouteClient {
  get(ref: RouteKey, signal: AbortSignal): Promise<Route>;
  /** Applies RFC 6902 ops; resolves to the route as stored after the patch. */
  patchWeights(ref: RouteKey, ops: ReadonlyArray<JsonPatchOp>, signal: AbortSignal): Promise<Route>;
}

export function describeRouteKey(ref: RouteKey): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** Resolves a Canary's routeRef (defaults: HTTPRoute, the Canary's namespace). */
export function routeKeyFor(routeRef: RouteRef, canaryNamespace: string): RouteKey {
  if (routeRef.group !== undefined && routeRef.group !== GATEWAY_GROUP) {
    throw new RouteMismatchError('UnsupportedRoute', `routeRef group ${routeRef.group} is not supported (only ${GATEWAY_GROUP})`, {
      path: 'spec.routeRef.group',
    });
  }
  const kind = routeRef.kind ?? 'HTTPRoute';
  if (kind !== 'HTTPRoute' && kind !== 'GRPCRoute') {
    throw new RouteMismatchError('UnsupportedRoute', `routeRef kind ${String(kind)} is not supported (HTTPRoute or GRPCRoute)`, {
      path: 'spec.routeRef.kind',
    });
  }
  return { kind, name: routeRef.name, namespace: routeRef.namespace ?? canaryNamespace };
}

/**
 * The API server answers a JSON Patch it cannot apply (failed `test`, missing path) with 422, reason
 * Invalid and only the generic message "the server rejected our request due to an error in our request"
 * (NewGenericServerResponse drops the json-patch text). A 422 from schema/CEL validation of the patched
 * object instead names the object ("... is invalid: spec.rules[0]...") and carries causes with a
 * `field`: that is a real rejection of what we wrote, not "the route changed".
 */
function isPatchApplyFailure(body: ApiFailure['body']): boolean {
  if (typeof body === 'object' && (body.details?.causes ?? []).some((c) => typeof c.field === 'string' && c.field !== '')) return false;
  return /test(ing value| operation| failed)|missing path|invalid index|does not apply|error in test|rejected our request due to an error in our request/i.test(
    statusText(body),
  );
}

function isAbortLike(err: unknown): boolean {
  const name = (err as { name?: unknown })?.name;
  return name === 'AbortError' || err instanceof AbortedError;
}

/** Maps a failed API call to routeshift's errors. Exported for tests and for other route clients. */
export function mapRouteApiError(err: unknown, ref: RouteKey, verb: 'get' | 'patch', signal?: AbortSignal): Error {
  if (err instanceof AbortedError || err instanceof RouteNotFoundError || err instanceof RouteMismatchError || err instanceof RouteApiError) return err;
  if (signal?.aborted || isAbortLike(err)) return new AbortedError(`${verb} ${describeRouteKey(ref)}`);
  const f = apiFailure(err);
  const what = describeRouteKey(ref);
  if (f.status === 404) return new RouteNotFoundError(what, { cause: err });
  if (verb === 'patch' && (f.status === 409 || (f.status === 422 && isPatchApplyFailure(f.body)))) {
    return new RouteMismatchError('RouteChanged', `${what}: the route changed since it was read; re-reading (${statusText(f.body) || `HTTP ${f.status}`})`, {
      cause: err,
    });
  }
  if (f.status !== undefined) {
    const transient = f.status >= 500 || f.status === 429;
    return new RouteApiError(`${verb} ${what}: HTTP ${f.status}: ${statusText(f.body) || 'no details'}`, { status: f.status, transient, cause: err });
  }
  // No HTTP status: the request never got an answer (connection refused, reset, DNS, TLS...).
  return new RouteApiError(`${verb} ${what}: ${f.message}`, { transient: true, cause: err });
}

/**
 * Rejects with AbortedError as soon as `signal` aborts, whatever `p` does: the caller is released even
 * when the underlying HTTP library ignores the signal (see kube-route-client.ts for the real cancellation).
 */
export function abortable<T>(p: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  throwIfAborted(signal, what);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortedError(what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export interface SetWeightsResult {
  before: Weights;
  after: Weights;
  /** The route as stored after the write (or as read, when nothing changed): its generation is what readiness must reach. */
  route: Route;
  changed: boolean;
  owned: OwnedBackends;
  /** The ops sent ([] when nothing changed). */
  ops: JsonPatchOp[];
}

/**
 * One attempt at moving the owned pair to a canary share of `targetPercent`: GET → locate → plan →
 * PATCH (skipped when already there) → check the stored route holds exactly what we wrote.
 * Errors: RouteNotFoundError, RouteMismatchError (incl. 'RouteChanged', 'WeightNotApplied'), WeightError,
 * RouteApiError, AbortedError.
 */
export async function setWeights(
  client: RouteClient,
  ref: RouteKey,
  input: LocateInput,
  targetPercent: number,
  signal: AbortSignal,
): Promise<SetWeightsResult> {
  return setTraffic(client, ref, input, { canary: targetPercent }, signal);
}

/**
 * setWeights for a Canary with a traffic shape: the weighted pair, the A/B and cookie rules and the mirror's percent,
 * all in one JSON Patch (so the route is never half-written), checked on the stored route afterwards.
 */
export async function setTraffic(client: RouteClient, ref: RouteKey, input: ShapeInput, target: ShapeTarget, signal: AbortSignal): Promise<SetWeightsResult> {
  const main = weightsFor(target.canary);
  throwIfAborted(signal, `set weights on ${describeRouteKey(ref)}`);
  const route = await client.get(ref, signal);
  const shape = locateShape(route, input);
  const before = readWeights(route, shape.main);
  const ops = buildShapePatch(route, shape, target);
  if (ops.length === 0) return { before, after: before, route, changed: false, owned: shape.main, ops };
  const updated = await client.patchWeights(ref, ops, signal);
  // Re-locate on what the server stored: verifies the write landed where we meant, with what we meant.
  const shapeAfter = locateShape(updated, input);
  const after = readWeights(updated, shapeAfter.main);
  if (after.stable !== main.stable || after.canary !== main.canary) {
    throw new RouteMismatchError(
      'WeightNotApplied',
      `${describeRouteKey(ref)}: wrote stable=${main.stable} canary=${main.canary} but the stored route has ` +
        `stable=${after.stable} canary=${after.canary} (a webhook or another controller is rewriting it)`,
    );
  }
  const off = shapeMismatches(updated, shapeAfter, target);
  if (off.length > 0) {
    throw new RouteMismatchError('WeightNotApplied', `${describeRouteKey(ref)}: the stored route does not hold what was written (${off.join('; ')}); a webhook or another controller is rewriting it`);
  }
  return { before, after, route: updated, changed: true, owned: shapeAfter.main, ops };
}
