import type { EndpointSlice, Service } from '../mesh/kube/types.js';
import { serviceSelects } from '../mesh/kube/selector.js';
import { DEPLOYMENT_LABEL, SERVICE_NAME_LABEL } from '../mesh/mesh-config.js';

export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'sandbox.routeshift.io';

/** A running Deployment as the endpoint writer sees it: its pod labels and one local port per ready replica. */
export interface RunningWorkload {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** Index = replica number; undefined = that replica is not listening (yet). */
  ports: ReadonlyArray<number | undefined>;
}

/**
 * The EndpointSlices the endpoint controller would write, one per (Service, Deployment, replica)
 * because every sandbox replica has its own loopback port while a slice has one port list.
 */
export function desiredSlices(services: readonly Service[], workloads: readonly RunningWorkload[]): EndpointSlice[] {
  const out: EndpointSlice[] = [];
  for (const svc of services) {
    const ns = svc.metadata.namespace ?? 'default';
    const svcPorts = svc.spec?.ports ?? [];
    if (svcPorts.length === 0) continue;
    for (const wl of workloads) {
      if (wl.namespace !== ns || !serviceSelects(svc.spec?.selector, wl.labels)) continue;
      wl.ports.forEach((port, i) => {
        if (port === undefined) return;
        out.push({
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: {
            name: `${svc.metadata.name}-${wl.name}-${i}`,
            namespace: ns,
            labels: {
              [SERVICE_NAME_LABEL]: svc.metadata.name,
              [DEPLOYMENT_LABEL]: wl.name,
              [MANAGED_BY_LABEL]: MANAGED_BY,
            },
            ...(svc.metadata.uid
              ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: svc.metadata.name, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }] }
              : {}),
          },
          addressType: 'IPv4',
          endpoints: [
            {
              addresses: ['127.0.0.1'],
              conditions: { ready: true, serving: true, terminating: false },
              targetRef: { kind: 'Pod', namespace: ns, name: `${wl.name}-${i}` },
            },
          ],
          ports: svcPorts.map((p) => ({ name: p.name ?? '', port, protocol: 'TCP' })),
        });
      });
    }
  }
  return out;
}

/** The part of a slice the writer owns, for change detection. */
export function sliceContent(s: EndpointSlice): string {
  return JSON.stringify({
    labels: s.metadata.labels ?? {},
    addressType: s.addressType,
    endpoints: s.endpoints ?? [],
    ports: s.ports ?? [],
  });
}

export interface SliceDiff {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

/** What to write so that `current` (slices this writer manages) becomes `desired`. */
export function diffSlices(current: readonly EndpointSlice[], desired: readonly EndpointSlice[]): SliceDiff {
  const key = (s: EndpointSlice): string => `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;
  const have = new Map(current.map((s) => [key(s), s]));
  const want = new Map(desired.map((s) => [key(s), s]));
  const diff: SliceDiff = { create: [], update: [], delete: [] };
  for (const [k, s] of want) {
    const old = have.get(k);
    if (!old) diff.create.push(s);
    else if (sliceContent(old) !== sliceContent(s)) diff.update.push(s);
  }
  for (const [k, s] of have) if (!want.has(k)) diff.delete.push(s);
  return diff;
}
