import type { HTTPRoute } from '../mesh/kube/types.js';
import { serviceParents } from '../mesh/gamma.js';
import { serviceHost } from '../mesh/host.js';

export interface LoadTarget {
  /** "namespace/name", plus ":port" for a parentRef port other than 80. */
  id: string;
  name: string;
  namespace: string;
  host: string;
}

/** Every root Service (a Service parentRef of some HTTPRoute), once, in a stable order. */
export function loadTargets(routes: readonly HTTPRoute[]): LoadTarget[] {
  const byId = new Map<string, LoadTarget>();
  for (const route of routes) {
    for (const { ref, namespace } of serviceParents(route)) {
      const port = ref.port !== undefined && ref.port !== 80 ? ref.port : undefined;
      const id = `${namespace}/${ref.name}${port === undefined ? '' : `:${port}`}`;
      if (!byId.has(id)) byId.set(id, { id, name: ref.name, namespace, host: serviceHost(ref.name, namespace, port) });
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
