import type { JsonObject, Json } from './json.js';
import { apiVersionOf, type Registry, type ResourceType } from './registry.js';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.3',
  gitCommit: '32cc146f75aad04beaaa245a7157eb35063a9f99',
  gitTreeState: 'clean',
  buildDate: '2025-03-11T19:52:21Z',
  goVersion: 'go1.23.6',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const SUBRESOURCE_VERBS = ['get', 'patch', 'update'];

export function apiVersions(serverAddress: string): JsonObject {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string, versions: string[]): JsonObject {
  const vs = versions.map((v) => ({ groupVersion: apiVersionOf(group, v), version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] ?? null };
}

export function apiGroupList(registry: Registry): JsonObject {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry
      .groups()
      .filter((g) => g.group !== '')
      .map((g) => groupEntry(g.group, g.versions)),
  };
}

export function apiGroup(registry: Registry, group: string): JsonObject | undefined {
  const g = registry.groups().find((x) => x.group === group);
  if (!g) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(g.group, g.versions) };
}

export function apiResourceList(registry: Registry, group: string, version: string): JsonObject | undefined {
  const types = registry.typesIn(group, version);
  if (types.length === 0) return undefined;
  const resources: Json[] = [];
  for (const t of types) {
    const r: JsonObject = { name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
    if (t.shortNames.length > 0) r['shortNames'] = t.shortNames;
    if (t.categories.length > 0) r['categories'] = t.categories;
    resources.push(r);
    if (t.hasStatus) resources.push({ name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: SUBRESOURCE_VERBS });
    if (t.hasScale) resources.push({ name: `${t.resource}/scale`, singularName: '', namespaced: t.namespaced, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: SUBRESOURCE_VERBS });
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources };
}

function discoveryResource(t: ResourceType, version: string): JsonObject {
  const r: JsonObject = {
    resource: t.resource,
    responseKind: { group: t.group, version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
  };
  if (t.shortNames.length > 0) r['shortNames'] = t.shortNames;
  if (t.categories.length > 0) r['categories'] = t.categories;
  const subresources: Json[] = [];
  if (t.hasStatus) subresources.push({ subresource: 'status', responseKind: { group: t.group, version, kind: t.kind }, verbs: SUBRESOURCE_VERBS });
  if (t.hasScale) subresources.push({ subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: SUBRESOURCE_VERBS });
  if (subresources.length > 0) r['subresources'] = subresources;
  return r;
}

/** apidiscovery.k8s.io APIGroupDiscoveryList for `/api` (core only) or `/apis` (every other group). */
export function aggregatedDiscovery(registry: Registry, core: boolean, discoveryVersion: 'v2' | 'v2beta1'): JsonObject {
  const items = registry
    .groups()
    .filter((g) => (core ? g.group === '' : g.group !== ''))
    .map((g) => {
      const metadata: JsonObject = { creationTimestamp: null };
      if (!core) metadata['name'] = g.group;
      return {
        metadata,
        versions: g.versions.map((v) => ({
          version: v,
          resources: registry.typesIn(g.group, v).map((t) => discoveryResource(t, v)),
          freshness: 'Current',
        })),
      };
    });
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${discoveryVersion}`, metadata: {}, items };
}

/** Which aggregated discovery version the Accept header asks for, if any (first match wins, as the server negotiates). */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    if (!/as=APIGroupDiscoveryList/.test(part) || !/g=apidiscovery\.k8s\.io/.test(part)) continue;
    if (/v=v2beta1/.test(part)) return 'v2beta1';
    if (/v=v2(;|$|\s)/.test(part)) return 'v2';
  }
  return undefined;
}
