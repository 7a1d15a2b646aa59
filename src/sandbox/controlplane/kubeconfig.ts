import { stringify } from 'yaml';

/**
 * A kubeconfig for one bearer token. The API server's serving certificate is self-signed by
 * kube-apiserver itself (--cert-dir), so clients skip verification, as envtest's do not need to:
 * this is loopback only and the certificate is made afresh at every start.
 */
export function tokenKubeconfig(server: string, user: string, token: string, namespace?: string): string {
  const context: Record<string, string> = { cluster: 'routeshift-controlplane', user };
  if (namespace) context['namespace'] = namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'routeshift-controlplane', cluster: { server, 'insecure-skip-tls-verify': true } }],
    contexts: [{ name: 'routeshift-controlplane', context }],
    'current-context': 'routeshift-controlplane',
    users: [{ name: user, user: { token } }],
    preferences: {},
  });
}
