import type { HTTPBackendRef, HTTPRoute, ParentReference } from './kube/types.js';

/** `group` values that mean the core API group: Istio/Kuma write "", Linkerd's docs write "core". */
function isCoreGroup(group: string | undefined): boolean {
  return group === undefined || group === '' || group === 'core';
}

/**
 * A GAMMA parentRef: a Service. The CRD defaults kind to Gateway, so kind must say Service; a
 * missing group is read as core because a server that skips CRD defaulting would leave it unset.
 */
export function isServiceParentRef(ref: ParentReference): boolean {
  return ref.kind === 'Service' && isCoreGroup(ref.group);
}

/** backendRef defaults are group "" and kind Service. */
export function isServiceBackendRef(ref: HTTPBackendRef): boolean {
  return (ref.kind ?? 'Service') === 'Service' && isCoreGroup(ref.group);
}

export function parentNamespace(route: HTTPRoute, ref: ParentReference): string {
  return ref.namespace ?? route.metadata.namespace ?? 'default';
}

export function backendNamespace(route: HTTPRoute, ref: HTTPBackendRef): string {
  return ref.namespace ?? route.metadata.namespace ?? 'default';
}

/** The Service parentRefs of a route, with their resolved namespace. */
export function serviceParents(route: HTTPRoute): Array<{ ref: ParentReference; namespace: string }> {
  return (route.spec?.parentRefs ?? [])
    .filter(isServiceParentRef)
    .map((ref) => ({ ref, namespace: parentNamespace(route, ref) }));
}

/**
 * Whether `route` is a producer route (same namespace as the Service) bound to the Service port.
 * Consumer routes (other namespaces) apply only to clients in their namespace; the sandbox proxy has
 * no client namespace, so it routes by producer routes only.
 */
export function producerRouteBinds(route: HTTPRoute, name: string, namespace: string, port: number): boolean {
  if ((route.metadata.namespace ?? 'default') !== namespace) return false;
  return serviceParents(route).some(
    (p) => p.ref.name === name && p.namespace === namespace && (p.ref.port === undefined || p.ref.port === port),
  );
}
