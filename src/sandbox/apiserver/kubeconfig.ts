import { stringify } from 'yaml';

export interface KubeconfigOptions {
  namespace?: string;
  user?: string;
  /** Bearer token to put in the kubeconfig (default `sandbox-<user>`). */
  token?: string;
}

/** A kubeconfig for kubectl and client-node: plain http server, TLS check off (client-node needs that), token user. */
export function renderKubeconfig(url: string, opts: KubeconfigOptions = {}): string {
  const user = opts.user ?? 'sandbox-admin';
  const context: Record<string, string> = { cluster: 'routeshift-sandbox', user };
  if (opts.namespace) context['namespace'] = opts.namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'routeshift-sandbox', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    contexts: [{ name: 'routeshift-sandbox', context }],
    'current-context': 'routeshift-sandbox',
    users: [{ name: user, user: { token: opts.token ?? `sandbox-${user}` } }],
    preferences: {},
  });
}
