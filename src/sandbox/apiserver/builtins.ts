import { clone, isObject, type Json, type JsonObject } from './json.js';
import { STANDARD_VERBS, apiVersionOf, type BuiltinTable, type PrinterColumn, type ResourceType } from './registry.js';
import { defaultPod, defaultPodSpec } from './pod-defaults.js';
import { labelSelectorString } from './selectors.js';
import { NAME_COLUMN, age } from './table.js';

function col(name: string, type = 'string', priority = 0, description = '', format = ''): PrinterColumn {
  return { name, type, format, description, priority };
}

const AGE = col('Age', 'string', 0, 'CreationTimestamp is a timestamp representing the server time when this object was created.');

function m(obj: JsonObject): JsonObject {
  return isObject(obj['metadata']) ? obj['metadata'] : {};
}
function o(v: Json | undefined): JsonObject {
  return isObject(v) ? v : {};
}
function arr(v: Json | undefined): Json[] {
  return Array.isArray(v) ? v : [];
}
function num(v: Json | undefined): number {
  return typeof v === 'number' ? v : 0;
}

function table(columns: PrinterColumn[], cells: (obj: JsonObject, now: number) => Json[]): BuiltinTable {
  return {
    columns: [NAME_COLUMN, ...columns],
    cells: (obj, now) => [m(obj)['name'] ?? '', ...cells(obj, now)],
  };
}

const ageCell = (obj: JsonObject, now: number): Json => age(m(obj)['creationTimestamp'], now);

const DEFAULT_TABLE = table([AGE], (obj, now) => [ageCell(obj, now)]);

function servicePorts(spec: JsonObject): string {
  const ports = arr(spec['ports']).map((p) => {
    const port = o(p);
    const proto = typeof port['protocol'] === 'string' ? port['protocol'] : 'TCP';
    const node = port['nodePort'] !== undefined ? `:${String(port['nodePort'])}` : '';
    return `${String(port['port'])}${node}/${proto}`;
  });
  return ports.length > 0 ? ports.join(',') : '<none>';
}

/** `ready/total` of the pod's readiness gates, as the real pod printer shows them. */
function readinessGates(spec: JsonObject, status: JsonObject): string {
  const gates = arr(spec['readinessGates']).map((g) => o(g)['conditionType']);
  if (gates.length === 0) return '<none>';
  const conditions = arr(status['conditions']).map(o);
  const ready = gates.filter((t) => conditions.some((c) => c['type'] === t && c['status'] === 'True')).length;
  return `${ready}/${gates.length}`;
}

const TABLES: Record<string, BuiltinTable> = {
  namespaces: table([col('Status', 'string', 0, 'The status of the namespace'), AGE], (obj, now) => [
    (o(obj['status'])['phase'] as string | undefined) ?? 'Active',
    ageCell(obj, now),
  ]),
  services: table(
    [
      col('Type', 'string', 0, 'The type of the service.'),
      col('Cluster-IP', 'string', 0, 'The IP address of the service.'),
      col('External-IP', 'string', 0, 'The external IP address of the service.'),
      col('Port(s)', 'string', 0, 'The ports exposed by the service.'),
      AGE,
      col('Selector', 'string', 1, 'The label selector of the service.'),
    ],
    (obj, now) => {
      const spec = o(obj['spec']);
      const type = typeof spec['type'] === 'string' ? spec['type'] : 'ClusterIP';
      const external = arr(spec['externalIPs']).map(String);
      const ext = external.length > 0 ? external.join(',') : type === 'LoadBalancer' ? '<pending>' : '<none>';
      const sel = o(spec['selector']);
      return [
        type,
        typeof spec['clusterIP'] === 'string' ? spec['clusterIP'] : '<none>',
        ext,
        servicePorts(spec),
        ageCell(obj, now),
        Object.keys(sel).length > 0 ? Object.entries(sel).map(([k, v]) => `${k}=${String(v)}`).join(',') : '<none>',
      ];
    },
  ),
  deployments: table(
    [
      col('Ready', 'string', 0, 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 0, 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 0, 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      AGE,
      col('Containers', 'string', 1, 'Names of each container in the template.'),
      col('Images', 'string', 1, 'Images referenced by each container in the template.'),
      col('Selector', 'string', 1, 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.'),
    ],
    (obj, now) => {
      const spec = o(obj['spec']);
      const status = o(obj['status']);
      const containers = arr(o(o(spec['template'])['spec'])['containers']).map(o);
      return [
        `${num(status['readyReplicas'])}/${spec['replicas'] === undefined ? 1 : num(spec['replicas'])}`,
        num(status['updatedReplicas']),
        num(status['availableReplicas']),
        ageCell(obj, now),
        containers.map((c) => String(c['name'] ?? '')).join(','),
        containers.map((c) => String(c['image'] ?? '')).join(','),
        labelSelectorString(spec['selector']) || '<none>',
      ];
    },
  ),
  pods: table(
    [
      col('Ready', 'string', 0, 'The aggregate readiness state of this pod for accepting traffic.'),
      col('Status', 'string', 0, 'The aggregate status of the containers in this pod.'),
      col('Restarts', 'string', 0, 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      AGE,
      col('IP', 'string', 1, 'The IP address assigned to the pod'),
      col('Node', 'string', 1, 'The name of the node assigned to the pod'),
      col('Nominated Node', 'string', 1, 'The name of the node which the pod is nominated to'),
      col('Readiness Gates', 'string', 1, 'The readiness gates of the pod'),
    ],
    (obj, now) => {
      const spec = o(obj['spec']);
      const status = o(obj['status']);
      const statuses = arr(status['containerStatuses']).map(o);
      const total = arr(spec['containers']).length;
      const ready = statuses.filter((s) => s['ready'] === true).length;
      const restarts = statuses.reduce((n, s) => n + num(s['restartCount']), 0);
      return [
        `${ready}/${total}`,
        typeof status['phase'] === 'string' ? status['phase'] : 'Pending',
        String(restarts),
        ageCell(obj, now),
        typeof status['podIP'] === 'string' ? status['podIP'] : '<none>',
        typeof spec['nodeName'] === 'string' ? spec['nodeName'] : '<none>',
        typeof status['nominatedNodeName'] === 'string' ? status['nominatedNodeName'] : '<none>',
        readinessGates(spec, status),
      ];
    },
  ),
  configmaps: table([col('Data', 'string', 0, 'Data contains the configuration data.'), AGE], (obj, now) => [
    Object.keys(o(obj['data'])).length + Object.keys(o(obj['binaryData'])).length,
    ageCell(obj, now),
  ]),
  secrets: table([col('Type', 'string', 0, 'The type of the secret'), col('Data', 'string', 0, 'The number of entries in the secret'), AGE], (obj, now) => [
    typeof obj['type'] === 'string' ? obj['type'] : 'Opaque',
    Object.keys(o(obj['data'])).length,
    ageCell(obj, now),
  ]),
  endpoints: table([col('Endpoints', 'string', 0, 'Endpoints of the service'), AGE], (obj, now) => {
    const eps: string[] = [];
    for (const subset of arr(obj['subsets']).map(o)) {
      const ports = arr(subset['ports']).map((p) => num(o(p)['port']));
      for (const a of arr(subset['addresses']).map(o)) for (const p of ports.length ? ports : [0]) eps.push(p ? `${String(a['ip'])}:${p}` : String(a['ip']));
    }
    return [eps.length > 0 ? eps.slice(0, 3).join(',') + (eps.length > 3 ? ` + ${eps.length - 3} more...` : '') : '<none>', ageCell(obj, now)];
  }),
  leases: table([col('Holder', 'string', 0, 'The holder of the lease'), AGE], (obj, now) => [
    typeof o(obj['spec'])['holderIdentity'] === 'string' ? (o(obj['spec'])['holderIdentity'] as string) : '',
    ageCell(obj, now),
  ]),
  events: {
    columns: [
      col('Last Seen', 'string', 0, 'Time when last event from this object was observed'),
      col('Type', 'string', 0, "Type of this event (Normal, Warning), new types could be added in the future."),
      col('Reason', 'string', 0, 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.'),
      col('Object', 'string', 0, 'The object that this event is about.'),
      col('Message', 'string', 0, 'A human-readable description of the status of this operation.'),
    ],
    cells: (obj, now) => {
      const inv = o(obj['involvedObject']);
      const last = obj['lastTimestamp'] ?? obj['eventTime'] ?? m(obj)['creationTimestamp'];
      return [
        age(last, now),
        obj['type'] ?? '',
        obj['reason'] ?? '',
        `${String(inv['kind'] ?? '').toLowerCase()}/${String(inv['name'] ?? '')}`,
        obj['message'] ?? '',
      ];
    },
  },
  customresourcedefinitions: table([col('Created At', 'date', 0, 'CreationTimestamp is a timestamp representing the server time when this object was created.')], (obj) => [
    m(obj)['creationTimestamp'] ?? null,
  ]),
};

interface Def {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  status?: boolean;
  scale?: boolean;
  review?: boolean;
  generation?: boolean;
  singular?: string;
}

const DEFS: Def[] = [
  { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true },
  { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true },
  { group: '', version: 'v1', resource: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'], singular: 'endpoints' },
  { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true, shortNames: ['po'], categories: ['all'], status: true, generation: true },
  { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] },
  { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true },
  { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'] },
  { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], status: true, scale: true, generation: true },
  // No authorizer here: every review is answered allowed (see reviews.ts).
  { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview', namespaced: false, review: true },
  { group: 'authorization.k8s.io', version: 'v1', resource: 'selfsubjectrulesreviews', kind: 'SelfSubjectRulesReview', namespaced: false, review: true },
  { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', namespaced: true, shortNames: ['ev'] },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'clusterroles', kind: 'ClusterRole', namespaced: false },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  { group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', kind: 'Role', namespaced: true },
  { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true, shortNames: ['pdb'], status: true, generation: true },
  { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true },
  { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    resource: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    status: true,
    generation: true,
  },
];

/** core/v1 Event field ↔ events.k8s.io/v1 Event field (the two share one storage, as in Kubernetes). */
const EVENT_FIELDS: Array<[string, string]> = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['reportingComponent', 'reportingController'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
];

function renameFields(obj: JsonObject, pairs: Array<[string, string]>): JsonObject {
  const out = clone(obj);
  for (const [from, to] of pairs) {
    if (out[from] !== undefined) {
      out[to] = out[from];
      delete out[from];
    }
  }
  return out;
}

function admitService(obj: JsonObject, old: JsonObject | undefined, ctx: { allocateClusterIP(): string }): void {
  const spec = isObject(obj['spec']) ? obj['spec'] : (obj['spec'] = {});
  const oldSpec = old && isObject(old['spec']) ? old['spec'] : undefined;
  if (spec['type'] === undefined) spec['type'] = 'ClusterIP';
  if (spec['sessionAffinity'] === undefined) spec['sessionAffinity'] = 'None';
  if (spec['type'] !== 'ExternalName') {
    if (spec['clusterIP'] === undefined || spec['clusterIP'] === '') {
      spec['clusterIP'] = typeof oldSpec?.['clusterIP'] === 'string' ? oldSpec['clusterIP'] : ctx.allocateClusterIP();
    }
    if (spec['clusterIPs'] === undefined) spec['clusterIPs'] = [spec['clusterIP'] as string];
    if (spec['ipFamilies'] === undefined) spec['ipFamilies'] = ['IPv4'];
    if (spec['ipFamilyPolicy'] === undefined) spec['ipFamilyPolicy'] = 'SingleStack';
    if (spec['internalTrafficPolicy'] === undefined) spec['internalTrafficPolicy'] = 'Cluster';
  }
  for (const p of arr(spec['ports'])) {
    if (!isObject(p)) continue;
    if (p['protocol'] === undefined) p['protocol'] = 'TCP';
    if (p['targetPort'] === undefined && p['port'] !== undefined) p['targetPort'] = p['port'];
  }
  if (obj['status'] === undefined) obj['status'] = { loadBalancer: {} };
}

function admitDeployment(obj: JsonObject): void {
  const spec = isObject(obj['spec']) ? obj['spec'] : (obj['spec'] = {});
  if (spec['replicas'] === undefined) spec['replicas'] = 1;
  if (spec['revisionHistoryLimit'] === undefined) spec['revisionHistoryLimit'] = 10;
  if (spec['progressDeadlineSeconds'] === undefined) spec['progressDeadlineSeconds'] = 600;
  // kubectl's protobuf bodies carry `strategy: {}`: the type and the rolling update are defaulted apart.
  const strategy = isObject(spec['strategy']) ? spec['strategy'] : (spec['strategy'] = {});
  if (strategy['type'] === undefined) strategy['type'] = 'RollingUpdate';
  if (strategy['type'] === 'RollingUpdate') {
    const ru = isObject(strategy['rollingUpdate']) ? strategy['rollingUpdate'] : (strategy['rollingUpdate'] = {});
    if (ru['maxUnavailable'] === undefined) ru['maxUnavailable'] = '25%';
    if (ru['maxSurge'] === undefined) ru['maxSurge'] = '25%';
  }
  const template = isObject(spec['template']) ? spec['template'] : undefined;
  if (template && isObject(template['spec'])) defaultPodSpec(template['spec']);
}

function admitNamespace(obj: JsonObject): void {
  const spec = isObject(obj['spec']) ? obj['spec'] : (obj['spec'] = {});
  if (spec['finalizers'] === undefined) spec['finalizers'] = ['kubernetes'];
  const status = isObject(obj['status']) ? obj['status'] : (obj['status'] = {});
  if (status['phase'] === undefined) status['phase'] = 'Active';
  const meta = isObject(obj['metadata']) ? obj['metadata'] : (obj['metadata'] = {});
  const labels = isObject(meta['labels']) ? meta['labels'] : (meta['labels'] = {});
  labels['kubernetes.io/metadata.name'] = meta['name'] ?? null;
}

/** metav1.MicroTime as the real server writes it back: UTC, six fractional digits. */
export function microTime(v: Json | undefined): Json | undefined {
  if (typeof v !== 'string') return v;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) return v;
  // An offset shifts hours and minutes only, so the written fraction holds for UTC as well.
  const frac = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(v)?.[1] ?? '';
  return `${new Date(ms).toISOString().slice(0, 19)}.${(frac + '000000').slice(0, 6)}Z`;
}

function admitMicroTimes(obj: JsonObject, paths: string[][]): void {
  for (const path of paths) {
    let cur: Json | undefined = obj;
    for (const key of path.slice(0, -1)) cur = isObject(cur) ? cur[key] : undefined;
    const last = path[path.length - 1] as string;
    if (isObject(cur) && cur[last] !== undefined) cur[last] = microTime(cur[last]) ?? null;
  }
}

function admitPod(obj: JsonObject, old: JsonObject | undefined): void {
  if (!old) {
    defaultPod(obj);
    const status = isObject(obj['status']) ? obj['status'] : (obj['status'] = {});
    if (status['phase'] === undefined) status['phase'] = 'Pending';
  }
}

export function builtinTypes(): ResourceType[] {
  return DEFS.map((d) => {
    const t: ResourceType = {
      group: d.group,
      versions: [d.version],
      storageVersion: d.version,
      resource: d.resource,
      kind: d.kind,
      listKind: `${d.kind}List`,
      singular: d.singular ?? d.kind.toLowerCase(),
      namespaced: d.namespaced,
      shortNames: d.shortNames ?? [],
      categories: d.categories ?? [],
      verbs: d.review ? ['create'] : STANDARD_VERBS,
      hasStatus: d.status === true,
      ...(d.scale ? { hasScale: true } : {}),
      ...(d.generation ? { hasGeneration: true } : {}),
      ...(d.review ? { review: true } : {}),
      builtin: true,
      storageKey: `${d.group}/${d.resource}`,
      schemas: new Map(),
      columns: new Map(),
      table: TABLES[d.resource] ?? DEFAULT_TABLE,
    };
    if (d.resource === 'services') t.admit = admitService;
    if (d.resource === 'deployments') t.admit = (obj) => admitDeployment(obj);
    if (d.resource === 'namespaces') t.admit = (obj) => admitNamespace(obj);
    if (d.resource === 'pods') t.admit = (obj, old) => admitPod(obj, old);
    if (d.resource === 'leases') t.admit = (obj) => admitMicroTimes(obj, [['spec', 'acquireTime'], ['spec', 'renewTime']]);
    if (d.resource === 'events') t.admit = (obj) => admitMicroTimes(obj, [['eventTime'], ['series', 'lastObservedTime']]);
    if (d.group === 'events.k8s.io') {
      t.storageKey = '/events';
      t.table = DEFAULT_TABLE;
      t.toExternal = (obj, version) => ({ ...renameFields(obj, EVENT_FIELDS), apiVersion: apiVersionOf('events.k8s.io', version), kind: 'Event' });
      t.toInternal = (obj) => ({
        ...renameFields(obj, EVENT_FIELDS.map(([a, b]) => [b, a] as [string, string])),
        apiVersion: 'v1',
        kind: 'Event',
      });
    }
    return t;
  });
}

/** 10.96.0.0/12 like kubeadm's default service CIDR; .0.1 is the kubernetes Service. */
export function clusterIPAllocator(used: () => Set<string>): () => string {
  let counter = 0;
  return () => {
    const taken = used();
    for (;;) {
      counter = (counter % 65000) + 1;
      const n = counter + 1;
      const ip = `10.96.${Math.floor(n / 254) % 256}.${(n % 254) + 1}`;
      if (!taken.has(ip)) return ip;
    }
  };
}
