/**
 * The ReferenceGrant a route's namespace creates so Canaries in `from` may use its route and Services
 * (Gateway API v1beta1; routeshift checks it before reading or patching anything there).
 */
export function canaryReferenceGrant(namespace: string, from: string, route: string): object {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    metadata: { name: `routeshift-${from}`, namespace },
    spec: {
      from: [{ group: 'routeshift.io', kind: 'Canary', namespace: from }],
      to: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: route }, { group: '', kind: 'Service' }],
    },
  };
}
