/**
 * RouteClient over @kubernetes/client-node 1.4.0's CustomObjectsApi (gateway.networking.k8s.io/v1,
 * httproutes / grpcroutes), writing with `application/json-patch+json`.
 *
 * Cancellation: client-node 1.4.0 has no per-call `signal` parameter, but its RequestContext has
 * setSignal() and the default HTTP library (node-fetch) honours it; a per-call middleware (kube/options.ts) sets it, so an
 * abort really tears the request down. `abortable` also races the call against the signal, so the caller
 * is released with AbortedError even if a custom HttpLibrary ignored the signal.
 */
import { CustomObjectsApi, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { callOptions } from '../kube/options.js';
import type { JsonPatchOp } from './json-patch.js';
import { abortable, describeRouteKey, mapRouteApiError, type RouteClient } from './route-client.js';
import { GATEWAY_GROUP, GATEWAY_VERSION, ROUTE_PLURALS, type Route, type RouteKey } from './types.js';

export interface KubeRouteClientOptions {
  /** Recorded in managedFields for the weight fields we write. */
  fieldManager?: string;
}

export class KubeRouteClient implements RouteClient {
  private readonly fieldManager: string;

  constructor(
    private readonly api: CustomObjectsApi,
    opts: KubeRouteClientOptions = {},
  ) {
    this.fieldManager = opts.fieldManager ?? 'routeshift';
  }

  static fromKubeConfig(kc: KubeConfig, opts?: KubeRouteClientOptions): KubeRouteClient {
    return new KubeRouteClient(kc.makeApiClient(CustomObjectsApi), opts);
  }

  async get(ref: RouteKey, signal: AbortSignal): Promise<Route> {
    const what = `get ${describeRouteKey(ref)}`;
    try {
      const call = this.api.getNamespacedCustomObject(
        { group: GATEWAY_GROUP, version: GATEWAY_VERSION, namespace: ref.namespace, plural: ROUTE_PLURALS[ref.kind], name: ref.name },
        callOptions(signal),
      ) as Promise<Route>;
      return await abortable(call, signal, what);
    } catch (err) {
      throw mapRouteApiError(err, ref, 'get', signal);
    }
  }

  async patchWeights(ref: RouteKey, ops: ReadonlyArray<JsonPatchOp>, signal: AbortSignal): Promise<Route> {
    const what = `patch ${describeRouteKey(ref)}`;
    try {
      const call = this.api.patchNamespacedCustomObject(
        {
          group: GATEWAY_GROUP,
          version: GATEWAY_VERSION,
          namespace: ref.namespace,
          plural: ROUTE_PLURALS[ref.kind],
          name: ref.name,
          body: ops,
          fieldManager: this.fieldManager,
        },
        // JSON Patch is client-node's default for this call today; say it explicitly so a default change cannot
        // silently turn our ops into a merge patch.
        callOptions(signal, { 'Content-Type': PatchStrategy.JsonPatch }),
      ) as Promise<Route>;
      return await abortable(call, signal, what);
    } catch (err) {
      throw mapRouteApiError(err, ref, 'patch', signal);
    }
  }
}

