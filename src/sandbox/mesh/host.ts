/** Where a mesh request is headed, read from its Host header. */
export interface ServiceAddress {
  name: string;
  namespace: string;
  /** The Service port from a `:port` suffix; undefined when the Host header has none. */
  port: number | undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Parses the cluster DNS names a client in the mesh uses for a Service: `<svc>.<ns>.svc.cluster.local`,
 * `<svc>.<ns>.svc` and `<svc>.<ns>`, each with an optional `:port`. Bare `<svc>` is not accepted:
 * the sandbox proxy has no client namespace to resolve it against.
 */
export function parseServiceHost(host: string | undefined): ServiceAddress | undefined {
  if (!host) return undefined;
  let text = host.trim().toLowerCase();
  let port: number | undefined;
  const colon = text.lastIndexOf(':');
  if (colon >= 0) {
    const portText = text.slice(colon + 1);
    if (!/^\d{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
    text = text.slice(0, colon);
  }
  if (text.endsWith('.')) text = text.slice(0, -1);
  const labels = text.split('.');
  const [name, namespace, ...rest] = labels;
  if (!name || !namespace || !DNS_LABEL.test(name) || !DNS_LABEL.test(namespace)) return undefined;
  const suffix = rest.join('.');
  if (suffix !== '' && suffix !== 'svc' && suffix !== 'svc.cluster.local') return undefined;
  return { name, namespace, port };
}

/** The Host header the mesh expects for a Service (port omitted when it is the HTTP default). */
export function serviceHost(name: string, namespace: string, port?: number): string {
  const fqdn = serviceFqdn(name, namespace);
  return port === undefined || port === 80 ? fqdn : `${fqdn}:${port}`;
}

export function serviceFqdn(name: string, namespace: string): string {
  return `${name}.${namespace}.svc.cluster.local`;
}
