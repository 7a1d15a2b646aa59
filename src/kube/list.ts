import type { CustomObjectsApi } from '@kubernetes/client-node';
import { callOptions } from './options.js';
import { toKubeApiError } from './errors.js';

export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export interface CustomList {
  group: string;
  version: string;
  plural: string;
  /** One namespace; all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
}

/** Lists custom objects in one namespace or cluster-wide; failures become KubeApiError. */
export async function listCustomObjects<T>(api: CustomObjectsApi, l: CustomList, signal: AbortSignal): Promise<ListResult<T>> {
  const base = { group: l.group, version: l.version, plural: l.plural, ...(l.labelSelector ? { labelSelector: l.labelSelector } : {}) };
  try {
    return (l.namespace
      ? await api.listNamespacedCustomObject({ ...base, namespace: l.namespace }, callOptions(signal))
      : await api.listClusterCustomObject(base, callOptions(signal))) as ListResult<T>;
  } catch (err) {
    throw toKubeApiError(err, `list ${l.plural}${l.namespace ? ` in ${l.namespace}` : ''}`);
  }
}
