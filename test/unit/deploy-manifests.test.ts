/**
 * The rendered install (`kubectl kustomize deploy/` and each overlay) against what the controller does:
 * RBAC is exactly the API calls in CALLS below (nothing more, nothing less, no wildcards), the Deployment
 * is hardened and probed, the config each render ships loads cleanly with the controller's own loader.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type {
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1ConfigMap,
  V1Container,
  V1CustomResourceDefinition,
  V1Deployment,
  V1Namespace,
  V1PodDisruptionBudget,
  V1PolicyRule,
  V1Role,
  V1RoleBinding,
  V1Service,
} from '@kubernetes/client-node';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadConfig, type ControllerConfig } from '../../src/controller/config.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NAMESPACE = 'routeshift-system';
const SERVICE_ACCOUNT = 'routeshift';

// ---------------------------------------------------------------------------------------------------
// Every Kubernetes API call the controller makes, and where. `where.contains` is checked against the
// file, so a call that moves or disappears fails this test and the table gets revisited. Nothing is
// granted ahead of the code that needs it.
// scope: 'cluster' = ClusterRole (Canaries and routes live in any namespace); 'own' = Role in the
// controller's namespace.
// ---------------------------------------------------------------------------------------------------
interface ApiCall {
  group: string;
  resource: string;
  verb: string;
  scope: 'cluster' | 'own';
  /** Limited to these object names (Role rules with resourceNames). */
  names?: string[];
  where: { file: string; contains: string };
}

const canaryStore = 'src/controller/canary-store.ts';
const controller = 'src/controller/controller.ts';
const routeClient = 'src/routing/kube-route-client.ts';
const leader = 'src/controller/leader.ts';
const shards = 'src/controller/shards.ts';
const events = 'src/events/kube-sink.ts';
const workloadReader = 'src/controller/workload-reader.ts';

const CALLS: ApiCall[] = [
  { group: 'routeshift.io', resource: 'canaries', verb: 'get', scope: 'cluster', where: { file: canaryStore, contains: 'getNamespacedCustomObject' } },
  { group: 'routeshift.io', resource: 'canaries', verb: 'list', scope: 'cluster', where: { file: controller, contains: 'customSource<Canary>(custom, GROUP, VERSION, CANARY_PLURAL' } },
  { group: 'routeshift.io', resource: 'canaries', verb: 'watch', scope: 'cluster', where: { file: controller, contains: 'new Reflector<Canary>' } },
  // Merge-patch of metadata/spec (CanaryStore.patch). The CLI's requests (promote/abort/approve) make the same
  // patch with the user's own credentials.
  { group: 'routeshift.io', resource: 'canaries', verb: 'patch', scope: 'cluster', where: { file: canaryStore, contains: 'patchNamespacedCustomObject' } },
  // PUT /status with resourceVersion.
  { group: 'routeshift.io', resource: 'canaries/status', verb: 'update', scope: 'cluster', where: { file: canaryStore, contains: 'replaceNamespacedCustomObjectStatus' } },
  { group: 'routeshift.io', resource: 'metrictemplates', verb: 'list', scope: 'cluster', where: { file: controller, contains: 'customSource<MetricTemplate>(custom, GROUP, VERSION, METRIC_TEMPLATE_PLURAL' } },
  { group: 'routeshift.io', resource: 'metrictemplates', verb: 'watch', scope: 'cluster', where: { file: controller, contains: 'new Reflector<MetricTemplate>' } },
  { group: 'gateway.networking.k8s.io', resource: 'httproutes', verb: 'get', scope: 'cluster', where: { file: routeClient, contains: 'getNamespacedCustomObject' } },
  { group: 'gateway.networking.k8s.io', resource: 'httproutes', verb: 'list', scope: 'cluster', where: { file: controller, contains: "customSource<Route>(custom, GATEWAY_GROUP, GATEWAY_VERSION, 'httproutes'" } },
  { group: 'gateway.networking.k8s.io', resource: 'httproutes', verb: 'watch', scope: 'cluster', where: { file: controller, contains: 'new Reflector<Route>' } },
  { group: 'gateway.networking.k8s.io', resource: 'httproutes', verb: 'patch', scope: 'cluster', where: { file: routeClient, contains: 'patchNamespacedCustomObject' } },
  // The route client serves both kinds through ROUTE_PLURALS.
  { group: 'gateway.networking.k8s.io', resource: 'grpcroutes', verb: 'get', scope: 'cluster', where: { file: 'src/routing/types.ts', contains: "GRPCRoute: 'grpcroutes'" } },
  { group: 'gateway.networking.k8s.io', resource: 'grpcroutes', verb: 'patch', scope: 'cluster', where: { file: 'src/routing/types.ts', contains: "GRPCRoute: 'grpcroutes'" } },
  { group: 'gateway.networking.k8s.io', resource: 'referencegrants', verb: 'list', scope: 'cluster', where: { file: 'src/controller/reference-grants.ts', contains: "plural: 'referencegrants'" } },
  { group: '', resource: 'events', verb: 'create', scope: 'cluster', where: { file: events, contains: 'createNamespacedEvent' } },
  // Aggregation of repeated Events bumps the count of the existing one.
  { group: '', resource: 'events', verb: 'patch', scope: 'cluster', where: { file: events, contains: 'patchNamespacedEvent' } },
  // Releases from the workload: GETs of named objects only. Secrets a pod template names are granted per
  // namespace by its owner (docs/install.md), like a Canary's alert Secret.
  { group: 'apps', resource: 'deployments', verb: 'get', scope: 'cluster', where: { file: workloadReader, contains: 'readNamespacedDeployment' } },
  { group: '', resource: 'configmaps', verb: 'get', scope: 'cluster', where: { file: workloadReader, contains: 'readNamespacedConfigMap' } },
  // Leader election and sharding, in the controller's own namespace: shard and member Leases are named
  // at run time (shard count, pod names), so get/update cannot be limited by name; sharding lists its
  // group's Leases and deletes member Leases of replicas gone for good.
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', scope: 'own', where: { file: leader, contains: 'createNamespacedLease' } },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'get', scope: 'own', where: { file: leader, contains: 'readNamespacedLease' } },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', scope: 'own', where: { file: leader, contains: 'replaceNamespacedLease' } },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'list', scope: 'own', where: { file: shards, contains: 'listNamespacedLease' } },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'delete', scope: 'own', where: { file: shards, contains: 'deleteNamespacedLease' } },
  // Alert webhook URLs kept in a Secret (alerts[].secretRef, key `address`). Only the named Secret of the
  // controller-wide alerts, in the controller's namespace: a Canary's own alert Secret in its namespace is
  // granted by that namespace's owner (docs/install.md), never by a cluster-wide read of all Secrets.
  // The notifier asks resolveUrl for the address; the controller runtime (src/controller/run.ts) reads the Secret.
  { group: '', resource: 'secrets', verb: 'get', scope: 'own', names: ['routeshift-alerts'], where: { file: 'src/notify/notifier.ts', contains: 'resolveUrl' } },
];

/**
 * client-node methods the controller's code calls; each must be one of CALLS' operations. A new method
 * appearing in src/ fails the drift test below until this list and RBAC are revisited. The CLI (user's
 * own credentials) and the sandbox (in-process test cluster) are not the controller.
 */
const KNOWN_METHODS: Record<string, string[]> = {
  getNamespacedCustomObject: ['canaries get', 'httproutes get', 'grpcroutes get'],
  listNamespacedCustomObject: ['canaries list', 'httproutes list', 'referencegrants list'],
  listClusterCustomObject: ['canaries list', 'httproutes list'],
  patchNamespacedCustomObject: ['canaries patch', 'httproutes patch', 'grpcroutes patch'],
  replaceNamespacedCustomObjectStatus: ['canaries/status update'],
  createNamespacedEvent: ['events create'],
  patchNamespacedEvent: ['events patch'],
  readNamespacedLease: ['leases get'],
  createNamespacedLease: ['leases create'],
  replaceNamespacedLease: ['leases update'],
  listNamespacedLease: ['leases list'],
  deleteNamespacedLease: ['leases delete'],
  readNamespacedSecret: ['secrets get'],
  readNamespacedDeployment: ['deployments get'],
  readNamespacedConfigMap: ['configmaps get'],
};
// The dashboard, like the CLI, runs with its user's kubeconfig, not the controller's RBAC.
const NOT_CONTROLLER = [/^src\/sandbox\//, /^src\/cli\//, /^src\/dashboard\//, /\.test\.ts$/];

// ---------------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------------
interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface Render {
  dir: string;
  docs: KubeDoc[];
}

const run = promisify(execFile);

async function render(dir: string): Promise<Render> {
  const { stdout } = await run('kubectl', ['kustomize', join(ROOT, dir)], { maxBuffer: 32 * 1024 * 1024, timeout: 60_000 });
  const parsed = parseAllDocuments(stdout);
  const docs: KubeDoc[] = [];
  for (const d of Array.isArray(parsed) ? parsed : [parsed]) {
    if (d.errors.length) throw new Error(`${dir}: ${d.errors.map((e) => e.message).join('; ')}`);
    const js = d.toJS() as KubeDoc | null;
    if (js) docs.push(js);
  }
  return { dir, docs };
}

function all<T>(r: Render, kind: string): T[] {
  return r.docs.filter((d) => d.kind === kind) as unknown as T[];
}

function one<T>(r: Render, kind: string, name: string): T {
  const found = r.docs.filter((d) => d.kind === kind && d.metadata.name === name);
  if (found.length !== 1) throw new Error(`${r.dir}: expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as unknown as T;
}

/** A configMapGenerator's output: `name-<hash>`. */
function generated(r: Render, name: string): V1ConfigMap {
  const found = all<V1ConfigMap>(r, 'ConfigMap').filter((c) => new RegExp(`^${name}-[a-z0-9]{10}$`).test(c.metadata?.name ?? ''));
  if (found.length !== 1) throw new Error(`${r.dir}: expected one generated ConfigMap ${name}, found ${found.length}`);
  return found[0] as V1ConfigMap;
}

function controllerContainer(r: Render): { deploy: V1Deployment; c: V1Container } {
  const deploy = one<V1Deployment>(r, 'Deployment', 'routeshift');
  const containers = deploy.spec?.template.spec?.containers ?? [];
  expect(containers).toHaveLength(1);
  return { deploy, c: containers[0] as V1Container };
}

function renderedConfigText(r: Render): string {
  const text = generated(r, 'routeshift-config').data?.['config.yaml'];
  if (!text) throw new Error(`${r.dir}: routeshift-config has no config.yaml`);
  return text;
}

const tmp = mkdtempSync(join(tmpdir(), 'routeshift-deploy-'));
function loadRendered(r: Render): ControllerConfig {
  const file = join(tmp, `${r.dir.replace(/[^a-z0-9]+/gi, '_')}.yaml`);
  writeFileSync(file, renderedConfigText(r));
  // An empty environment: the file alone must be valid (POD_NAMESPACE only moves the Lease).
  return loadConfig(file, {});
}

type Grant = string; // "group|resource|verb|name-or-*"

function grantsOf(rules: V1PolicyRule[] | undefined): Grant[] {
  const out: Grant[] = [];
  for (const rule of rules ?? []) {
    expect(rule.nonResourceURLs ?? []).toEqual([]);
    const names = rule.resourceNames?.length ? rule.resourceNames : ['*'];
    for (const g of rule.apiGroups ?? []) for (const res of rule.resources ?? []) for (const v of rule.verbs) for (const n of names) out.push(`${g}|${res}|${v}|${n}`);
  }
  return out.sort();
}

function expectedGrants(scope: ApiCall['scope']): Grant[] {
  return CALLS.filter((c) => c.scope === scope)
    .flatMap((c) => (c.names ?? ['*']).map((n) => `${c.group}|${c.resource}|${c.verb}|${n}`))
    .sort();
}

const OVERLAYS = ['deploy/overlays/linkerd', 'deploy/overlays/prometheus-operator', 'deploy/overlays/custom-prometheus'];
const renders: Render[] = [];
let root: Render;

beforeAll(async () => {
  // One at a time: the machine is shared and kustomize is quick.
  for (const dir of ['deploy', ...OVERLAYS]) renders.push(await render(dir));
  root = renders[0] as Render;
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------------

describe('the table of API calls', () => {
  it('points at code that still makes each call', () => {
    for (const call of CALLS) {
      const text = readFileSync(join(ROOT, call.where.file), 'utf8');
      expect({ call: `${call.resource} ${call.verb}`, found: text.includes(call.where.contains) }).toEqual({ call: `${call.resource} ${call.verb}`, found: true });
    }
  });

  it('covers every client-node method the controller code calls', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const p = join(dir, entry);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(relative(ROOT, p));
      }
    };
    walk(join(ROOT, 'src'));
    const used = new Map<string, string>();
    const call = /\.((?:get|read|list|create|replace|patch|delete|deleteCollection)(?:Namespaced|Cluster)\w*|\w+ForAllNamespaces)\(/g;
    for (const file of files) {
      if (NOT_CONTROLLER.some((re) => re.test(file))) continue;
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(call)) used.set(m[1] as string, file);
    }
    expect(used.size).toBeGreaterThan(0);
    const unknown = [...used].filter(([method]) => !(method in KNOWN_METHODS)).map(([method, file]) => `${method} (${file})`);
    expect(unknown).toEqual([]);
    // And each known method maps onto operations in CALLS.
    const ops = new Set(CALLS.map((c) => `${c.resource} ${c.verb}`));
    for (const targets of Object.values(KNOWN_METHODS)) for (const t of targets) expect(ops.has(t) ? t : `missing: ${t}`).toBe(t);
  });

  it('names the Lease the config elects on, and every Secret the config names', () => {
    const config = loadRendered(root);
    // Lease grants are not limited by name (sharding names its Leases at run time): none may name another Lease.
    const leaseNames = CALLS.filter((c) => c.resource === 'leases' && c.names).flatMap((c) => c.names ?? []);
    for (const name of leaseNames) expect(name).toBe(config.leaderElection.name);
    const secretNames = new Set(CALLS.filter((c) => c.resource === 'secrets').flatMap((c) => c.names ?? []));
    for (const alert of config.alerts) if (alert.secretRef) expect(secretNames.has(alert.secretRef.name) ? alert.secretRef.name : `ungranted ${alert.secretRef.name}`).toBe(alert.secretRef.name);
  });
});

describe.each(['deploy', ...OVERLAYS])('%s renders', (dir) => {
  const r = (): Render => renders.find((x) => x.dir === dir) as Render;

  it('has no wildcard in any Role or ClusterRole', () => {
    const roles = [...all<V1Role>(r(), 'Role'), ...all<V1ClusterRole>(r(), 'ClusterRole')];
    expect(roles.length).toBeGreaterThanOrEqual(2);
    for (const role of roles) {
      expect((role as V1ClusterRole).aggregationRule).toBeUndefined();
      for (const rule of role.rules ?? []) {
        for (const field of [rule.verbs, rule.resources ?? [], rule.apiGroups ?? [], rule.resourceNames ?? []]) {
          expect(field.filter((x) => x.includes('*'))).toEqual([]);
        }
      }
    }
  });

  it('grants the ClusterRole exactly the cluster-wide calls', () => {
    expect(grantsOf(one<V1ClusterRole>(r(), 'ClusterRole', 'routeshift').rules)).toEqual(expectedGrants('cluster'));
    expect(all(r(), 'ClusterRole')).toHaveLength(1);
  });

  it('grants the Role exactly the calls in its own namespace', () => {
    const role = one<V1Role>(r(), 'Role', 'routeshift');
    expect(role.metadata?.namespace).toBe(NAMESPACE);
    expect(grantsOf(role.rules)).toEqual(expectedGrants('own'));
    expect(all(r(), 'Role')).toHaveLength(1);
  });

  it('binds both roles to the controller ServiceAccount, which the Deployment runs as', () => {
    const subject = [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT, namespace: NAMESPACE }];
    const crb = one<V1ClusterRoleBinding>(r(), 'ClusterRoleBinding', 'routeshift');
    expect(crb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'routeshift' });
    expect(crb.subjects).toEqual(subject);
    const rb = one<V1RoleBinding>(r(), 'RoleBinding', 'routeshift');
    expect(rb.metadata?.namespace).toBe(NAMESPACE);
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'routeshift' });
    expect(rb.subjects).toEqual(subject);
    one(r(), 'ServiceAccount', SERVICE_ACCOUNT);
    expect(one<V1Namespace>(r(), 'Namespace', NAMESPACE).metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect(controllerContainer(r()).deploy.spec?.template.spec?.serviceAccountName).toBe(SERVICE_ACCOUNT);
  });

  it('runs a hardened container', () => {
    const { deploy, c } = controllerContainer(r());
    const pod = deploy.spec?.template.spec;
    const sc = c.securityContext;
    expect(sc?.runAsNonRoot ?? pod?.securityContext?.runAsNonRoot).toBe(true);
    expect(sc?.runAsUser ?? pod?.securityContext?.runAsUser).toBe(65532);
    expect(sc?.readOnlyRootFilesystem).toBe(true);
    expect(sc?.allowPrivilegeEscalation).toBe(false);
    expect(sc?.privileged ?? false).toBe(false);
    expect(sc?.capabilities?.drop).toEqual(['ALL']);
    expect(sc?.capabilities?.add ?? []).toEqual([]);
    expect((sc?.seccompProfile ?? pod?.securityContext?.seccompProfile)?.type).toBe('RuntimeDefault');
    expect(pod?.hostNetwork ?? false).toBe(false);
    expect(pod?.hostPID ?? false).toBe(false);
    expect(pod?.terminationGracePeriodSeconds).toBe(30);
  });

  it('pins the image by a tag matching the package version', () => {
    const { c } = controllerContainer(r());
    const image = c.image ?? '';
    const slash = image.lastIndexOf('/');
    const colon = image.lastIndexOf(':');
    expect(colon).toBeGreaterThan(slash);
    const [repo, tag] = [image.slice(0, colon), image.slice(colon + 1)];
    expect(repo).toBe('ghcr.io/routeshift/routeshift');
    expect(tag).not.toBe('latest');
    expect(tag).toMatch(/^[\w][\w.-]{0,127}$/);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(tag).toBe(pkg.version);
  });

  it('runs 2 replicas with resources, probes, args and env', () => {
    const { deploy, c } = controllerContainer(r());
    expect(deploy.metadata?.namespace).toBe(NAMESPACE);
    expect(deploy.spec?.replicas).toBe(2);
    expect(c.args).toEqual(['controller', '--config', '/etc/routeshift/config.yaml']);
    expect(c.resources?.requests).toEqual({ cpu: '250m', memory: '192Mi' });
    expect(c.resources?.limits?.memory).toBe('384Mi');
    const port = c.ports?.find((p) => p.name === 'http-metrics');
    expect(port?.containerPort).toBe(loadRendered(r()).server.port);
    for (const [probe, path] of [
      [c.livenessProbe, '/healthz'],
      [c.readinessProbe, '/readyz'],
    ] as const) {
      expect(probe?.httpGet?.path).toBe(path);
      expect([port?.name, port?.containerPort]).toContain(probe?.httpGet?.port);
    }
    const env = new Map((c.env ?? []).map((e) => [e.name, e]));
    expect(env.get('POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    expect(env.get('HOSTNAME')?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
  });

  it('mounts the generated config and templates where the config reads them, and /tmp', () => {
    const { deploy, c } = controllerContainer(r());
    const volumes = new Map((deploy.spec?.template.spec?.volumes ?? []).map((v) => [v.name, v]));
    const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    const configVol = volumes.get(mounts.get('/etc/routeshift')?.name ?? '');
    expect(configVol?.configMap?.name).toBe(generated(r(), 'routeshift-config').metadata?.name);
    const templatesVol = volumes.get(mounts.get('/etc/routeshift/templates')?.name ?? '');
    expect(templatesVol?.configMap?.name).toBe(generated(r(), 'routeshift-templates').metadata?.name);
    expect(volumes.get(mounts.get('/tmp')?.name ?? '')?.emptyDir).toBeDefined();
    expect(loadRendered(r()).templates.dirs).toContain('/etc/routeshift/templates');
    const templateKeys = Object.keys(generated(r(), 'routeshift-templates').data ?? {}).sort();
    expect(templateKeys).toEqual(readdirSync(join(ROOT, 'analysis/templates')).filter((f) => f.endsWith('.yaml')).sort());
  });

  it('spreads the replicas across nodes and keeps one through disruptions', () => {
    const { deploy } = controllerContainer(r());
    const podLabels = deploy.spec?.template.metadata?.labels ?? {};
    const spread = deploy.spec?.template.spec?.topologySpreadConstraints ?? [];
    const anti = deploy.spec?.template.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const hostKeys = [...spread.map((s) => s.topologyKey), ...anti.map((a) => a.podAffinityTerm.topologyKey)];
    expect(hostKeys).toContain('kubernetes.io/hostname');
    const pdb = one<V1PodDisruptionBudget>(r(), 'PodDisruptionBudget', 'routeshift');
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual(deploy.spec?.selector.matchLabels);
    for (const [k, v] of Object.entries(deploy.spec?.selector.matchLabels ?? {})) expect(podLabels[k]).toBe(v);
  });

  it('exposes /metrics on Service routeshift-metrics port 8080', () => {
    const { deploy } = controllerContainer(r());
    const svc = one<V1Service>(r(), 'Service', 'routeshift-metrics');
    expect(svc.spec?.ports?.[0]).toMatchObject({ name: 'http-metrics', port: 8080, targetPort: 'http-metrics' });
    const podLabels = deploy.spec?.template.metadata?.labels ?? {};
    expect(Object.entries(svc.spec?.selector ?? {}).every(([k, v]) => podLabels[k] === v)).toBe(true);
  });

  it('installs both CRDs with printer columns, Canary with a status subresource', () => {
    const canary = one<V1CustomResourceDefinition>(r(), 'CustomResourceDefinition', 'canaries.routeshift.io');
    for (const v of canary.spec.versions) {
      expect(v.subresources?.status).toEqual({});
      expect((v.additionalPrinterColumns ?? []).map((p) => p.name)).toEqual(expect.arrayContaining(['Phase', 'Weight']));
    }
    const template = one<V1CustomResourceDefinition>(r(), 'CustomResourceDefinition', 'metrictemplates.routeshift.io');
    for (const v of template.spec.versions) expect(v.additionalPrinterColumns?.length).toBeGreaterThan(0);
  });

  it('ships a config.yaml that loadConfig accepts', () => {
    expect(() => loadRendered(r())).not.toThrow();
  });
});

describe('overlays change only what they are for', () => {
  const get = (dir: string): Render => renders.find((x) => x.dir === dir) as Render;
  const without = (c: ControllerConfig, drop: (c: ControllerConfig) => void): ControllerConfig => {
    const copy = structuredClone(c);
    drop(copy);
    return copy;
  };

  it('base: Istio provider and Istio Prometheus', () => {
    const base = loadRendered(root);
    expect(base.defaults.provider).toBe('istio');
    expect(base.prometheus.address).toBe('http://prometheus.istio-system:9090');
    expect(base.leaderElection.namespace).toBe(NAMESPACE);
    // The file spells out every top-level section, so an operator sees every knob in one place.
    const raw = parseYaml(renderedConfigText(root)) as Record<string, unknown>;
    expect(Object.keys(raw).sort()).toEqual(Object.keys(base).sort());
  });

  it('linkerd: provider linkerd and linkerd-viz Prometheus, all else as the base', () => {
    const base = loadRendered(root);
    const linkerd = loadRendered(get('deploy/overlays/linkerd'));
    expect(linkerd.defaults.provider).toBe('linkerd');
    expect(linkerd.prometheus.address).toBe('http://prometheus.linkerd-viz.svc.cluster.local:9090');
    const strip = (c: ControllerConfig): void => {
      c.defaults.provider = 'istio';
      c.prometheus.address = '';
    };
    expect(without(linkerd, strip)).toEqual(without(base, strip));
  });

  it('prometheus-operator: a ServiceMonitor scraping the metrics Service port', () => {
    const r = get('deploy/overlays/prometheus-operator');
    const sm = one<KubeDoc>(r, 'ServiceMonitor', 'routeshift') as KubeDoc & {
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string }> };
    };
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(sm.metadata.namespace).toBe(NAMESPACE);
    const svc = one<V1Service>(r, 'Service', 'routeshift-metrics');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata?.labels?.[k]).toBe(v);
    expect(sm.spec.endpoints.map((e) => [e.port, e.path])).toEqual([['http-metrics', '/metrics']]);
    expect(loadRendered(r)).toEqual(loadRendered(root));
  });

  it('custom-prometheus: new address, token file mounted from Secret routeshift-prometheus, all else as the base', () => {
    const r = get('deploy/overlays/custom-prometheus');
    const custom = loadRendered(r);
    expect(custom.prometheus.address).not.toBe(loadRendered(root).prometheus.address);
    const tokenFile = custom.prometheus.bearerTokenFile ?? '';
    expect(tokenFile).not.toBe('');
    const { deploy, c } = controllerContainer(r);
    const mount = (c.volumeMounts ?? []).find((m) => tokenFile.startsWith(`${m.mountPath}/`));
    const volume = (deploy.spec?.template.spec?.volumes ?? []).find((v) => v.name === mount?.name);
    expect(volume?.secret?.secretName).toBe('routeshift-prometheus');
    expect(volume?.secret?.items?.map((i) => `${mount?.mountPath}/${i.path}`)).toEqual([tokenFile]);
    // The Secret is not shipped (credentials are not kept in git).
    expect(all(r, 'Secret')).toEqual([]);
    const strip = (x: ControllerConfig): void => {
      x.prometheus = { address: '', timeout: '', retries: 0 };
    };
    expect(without(custom, strip)).toEqual(without(loadRendered(root), strip));
  });
});
