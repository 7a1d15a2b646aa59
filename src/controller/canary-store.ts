import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { CANARY_PLURAL, GROUP, VERSION, type Canary, type CanaryStatus } from '../api/canary.js';
import { callOptions, CONTENT_TYPE } from '../kube/options.js';
import { isConflict, toKubeApiError } from '../kube/errors.js';
import { listCustomObjects, type ListResult } from '../kube/list.js';

/** The Canary API calls the controller makes; a fake in unit tests. */
export interface CanaryStore {
  get(namespace: string, name: string, signal: AbortSignal): Promise<Canary>;
  list(signal: AbortSignal, namespace?: string): Promise<ListResult<Canary>>;
  /** PUT to the status subresource; carries metadata.resourceVersion so a stale write gets 409. */
  replaceStatus(canary: Canary, signal: AbortSignal): Promise<Canary>;
  /** Merge-patch of metadata (annotations) or spec, for the CLI and for clearing handled requests. */
  patch(namespace: string, name: string, body: object, signal: AbortSignal): Promise<Canary>;
}

export function kubeCanaryStore(kc: KubeConfig): CanaryStore {
  const api = kc.makeApiClient(CustomObjectsApi);
  const base = { group: GROUP, version: VERSION, plural: CANARY_PLURAL };
  return {
    async get(namespace, name, signal) {
      try {
        return (await api.getNamespacedCustomObject({ ...base, namespace, name }, callOptions(signal))) as Canary;
      } catch (err) {
        throw toKubeApiError(err, `get Canary ${namespace}/${name}`);
      }
    },
    list: (signal, namespace) => listCustomObjects<Canary>(api, { ...base, ...(namespace ? { namespace } : {}) }, signal),
    async replaceStatus(canary, signal) {
      const namespace = canary.metadata.namespace ?? 'default';
      try {
        return (await api.replaceNamespacedCustomObjectStatus(
          { ...base, namespace, name: canary.metadata.name, body: canary },
          callOptions(signal),
        )) as Canary;
      } catch (err) {
        throw toKubeApiError(err, `update status of Canary ${namespace}/${canary.metadata.name}`);
      }
    },
    async patch(namespace, name, body, signal) {
      try {
        return (await api.patchNamespacedCustomObject(
          { ...base, namespace, name, body },
          callOptions(signal, { 'Content-Type': CONTENT_TYPE.mergePatch }),
        )) as Canary;
      } catch (err) {
        throw toKubeApiError(err, `patch Canary ${namespace}/${name}`);
      }
    },
  };
}

/**
 * Writes status with optimistic concurrency: on 409 it re-reads the Canary and applies `mutate` to
 * the fresh copy, so a user's concurrent edit (which bumps resourceVersion) never loses our status
 * and our write never overwrites a newer one. `mutate` returns undefined when nothing changes.
 */
export async function writeStatus(
  store: CanaryStore,
  canary: Canary,
  mutate: (status: CanaryStatus, current: Canary) => CanaryStatus | undefined,
  signal: AbortSignal,
  attempts = 5,
): Promise<Canary> {
  let current = canary;
  for (let i = 1; ; i++) {
    const next = mutate(structuredClone(current.status ?? {}), current);
    if (next === undefined) return current;
    try {
      return await store.replaceStatus({ ...current, status: next }, signal);
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
      current = await store.get(current.metadata.namespace ?? 'default', current.metadata.name, signal);
    }
  }
}
