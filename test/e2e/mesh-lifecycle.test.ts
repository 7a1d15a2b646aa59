/**
 * The sandbox data plane as objects come and go: a route created before its Services, Services
 * created after their Deployments, a canary scaled to zero and back, fault annotations changed
 * live, another mesh's route status entry left alone, and EndpointSlices cleaned up across a
 * workloads restart.
 */
import http from 'node:http';
import { jest } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../../src/core/logger.js';
import { startApiServer, type ApiServer } from '../../src/sandbox/apiserver/index.js';
import { eventually } from '../../src/sandbox/apiserver/testing.js';
import { httpKubeRest, MERGE_PATCH, type KubeRest } from '../../src/sandbox/mesh/kube/rest.js';
import type { Deployment, EndpointSlice, HTTPRoute, KubeList, RouteParentStatus } from '../../src/sandbox/mesh/kube/types.js';
import { BACKEND_HEADER, FLAGS_HEADER, startMesh, type Mesh } from '../../src/sandbox/mesh/index.js';
import { startWorkloads, type Workloads } from '../../src/sandbox/workloads/index.js';

jest.setTimeout(120_000);

const GATEWAY_CRDS = '/work/shared/reference/gateway-api-v1.4.1-standard-crds.yaml';
const NS = 'shop';
const HOST = `checkout.${NS}.svc.cluster.local`;
const CONTROLLER = 'istio.io/gateway-controller';
const ROUTES = `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`;
const DEPLOYMENTS = `/apis/apps/v1/namespaces/${NS}/deployments`;
const SLICES = `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`;

let api: ApiServer;
let kubeConfig: KubeConfig;
let rest: KubeRest;
let workloads: Workloads;
let mesh: Mesh;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

interface Answer {
  status: number;
  backend: string | undefined;
  flags: string | undefined;
}

function send(): Promise<Answer> {
  const url = new URL(mesh.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: '/', agent, headers: { host: HOST } }, (res) => {
      res.resume();
      res.on('end', () => {
        const h = (n: string) => (typeof res.headers[n] === 'string' ? (res.headers[n] as string) : undefined);
        resolve({ status: res.statusCode ?? 0, backend: h(BACKEND_HEADER), flags: h(FLAGS_HEADER) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function sendMany(n: number): Promise<Answer[]> {
  const out: Answer[] = [];
  for (let i = 0; i < n; i += 10) out.push(...(await Promise.all(Array.from({ length: Math.min(10, n - i) }, () => send()))));
  return out;
}

function echoDeployment(name: string, version: string, replicas: number, args: string[], annotations?: Record<string, string>): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'checkout', version } },
      template: {
        metadata: { labels: { app: 'checkout', version }, ...(annotations ? { annotations } : {}) },
        spec: { containers: [{ name: 'echo', image: 'hashicorp/http-echo:1.0', args, ports: [{ containerPort: 5678 }] }] },
      },
    },
  };
}

function svc(name: string, selector: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 5678 }] } };
}

const route = (w1: number, w2: number): HTTPRoute => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'checkout', namespace: NS },
  spec: {
    parentRefs: [{ group: '', kind: 'Service', name: 'checkout', port: 80 }],
    rules: [{ backendRefs: [{ name: 'checkout-stable', port: 80, weight: w1 }, { name: 'checkout-canary', port: 80, weight: w2 }] }],
  },
});

const getRoute = () => rest.request<HTTPRoute>('GET', `${ROUTES}/checkout`);
const ours = (r: HTTPRoute): RouteParentStatus | undefined => r.status?.parents?.find((p) => p.controllerName === CONTROLLER);
const condition = (r: HTTPRoute, type: string) => ours(r)?.conditions.find((c) => c.type === type);

async function routeStatus(pred: (r: HTTPRoute) => boolean, what: string): Promise<HTTPRoute> {
  return eventually(async () => {
    const r = await getRoute();
    const s = ours(r);
    return s && s.conditions.every((c) => c.observedGeneration === r.metadata.generation) && pred(r) ? r : undefined;
  }, 20_000, what);
}

function patchDeployment(name: string, body: unknown) {
  return rest.request<Deployment>('PATCH', `${DEPLOYMENTS}/${name}`, { body, contentType: MERGE_PATCH });
}

function metricLines(text: string, ...parts: string[]): string[] {
  return text.split('\n').filter((l) => parts.every((p) => l.includes(p)));
}

beforeAll(async () => {
  api = await startApiServer({ crdFiles: [GATEWAY_CRDS] });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeconfig());
  rest = httpKubeRest(kubeConfig);
  // The data plane starts on an empty cluster; everything below arrives while it runs.
  workloads = await startWorkloads({ kubeConfig, logger: silentLogger() });
  mesh = await startMesh({ kubeConfig, logger: silentLogger() });
  await rest.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } });
});

afterAll(async () => {
  agent.destroy();
  await mesh?.stop();
  await workloads?.stop();
  await api?.stop();
});

describe('sandbox data plane lifecycle', () => {
  it('reports a route created before its Services as NoMatchingParent / BackendNotFound, then Accepted once they exist', async () => {
    await rest.request('POST', ROUTES, { body: route(50, 50) });
    const early = await routeStatus((r) => condition(r, 'Accepted')?.status === 'False', 'NoMatchingParent status');
    expect(condition(early, 'Accepted')?.reason).toBe('NoMatchingParent');
    expect(condition(early, 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
    expect((await send()).status).toBe(404);

    // Deployments before their Services: endpoints must follow when the Services appear.
    await rest.request('POST', DEPLOYMENTS, { body: echoDeployment('checkout-stable', 'v1', 2, ['-text=stable']) });
    await rest.request('POST', DEPLOYMENTS, { body: echoDeployment('checkout-canary', 'v2', 1, ['-text=canary']) });
    for (const s of [svc('checkout-stable', { app: 'checkout', version: 'v1' }), svc('checkout-canary', { app: 'checkout', version: 'v2' }), svc('checkout', { app: 'checkout' })]) {
      await rest.request('POST', `/api/v1/namespaces/${NS}/services`, { body: s });
    }
    const ready = await routeStatus((r) => ours(r)?.conditions.every((c) => c.status === 'True') ?? false, 'Accepted status');
    expect(condition(ready, 'Accepted')?.reason).toBe('Accepted');
    await eventually(async () => {
      const backends = new Set((await sendMany(20)).filter((a) => a.status === 200).map((a) => a.backend));
      return backends.has('checkout-stable') && backends.has('checkout-canary');
    }, 20_000, 'both backends answering');
  });

  it('gives 503 (UH) for the share of a canary scaled to zero, and serves it again when scaled back', async () => {
    await patchDeployment('checkout-canary', { spec: { replicas: 0 } });
    await eventually(async () => (await sendMany(20)).some((a) => a.status === 503), 20_000, 'a 503 from the empty canary');
    const answers = await sendMany(200);
    const canary = answers.filter((a) => a.backend === 'checkout-canary');
    expect(canary.length).toBeGreaterThan(0);
    expect(canary.every((a) => a.status === 503 && a.flags === 'UH')).toBe(true);
    expect(answers.filter((a) => a.backend === 'checkout-stable').every((a) => a.status === 200)).toBe(true);
    const dep = await eventually(async () => {
      const d = await rest.request<Deployment>('GET', `${DEPLOYMENTS}/checkout-canary`);
      return d.status?.observedGeneration === d.metadata.generation ? d : undefined;
    }, 10_000, 'canary status');
    expect(dep.status).toMatchObject({ replicas: 0, readyReplicas: 0 });
    expect(metricLines(await mesh.metrics.text(), 'istio_requests_total{', 'reporter="source"', 'destination_service_name="checkout-canary"', 'response_flags="UH"')).toHaveLength(1);

    await patchDeployment('checkout-canary', { spec: { replicas: 2 } });
    await eventually(async () => (await sendMany(20)).every((a) => a.status === 200), 20_000, 'canary serving again');
    expect(workloads.ports(NS, 'checkout-canary')).toHaveLength(2);
  });

  it('applies fault annotations and args live', async () => {
    await patchDeployment('checkout-canary', { spec: { template: { metadata: { annotations: { 'sandbox.routeshift.io/error-rate': '1' } } } } });
    await eventually(async () => (await sendMany(20)).some((a) => a.status === 500), 20_000, 'injected 500s');
    const answers = await sendMany(100);
    expect(answers.filter((a) => a.backend === 'checkout-canary').every((a) => a.status === 500)).toBe(true);
    expect(answers.filter((a) => a.backend === 'checkout-stable').every((a) => a.status === 200)).toBe(true);

    // Latency: a distinct status code isolates the slowed requests in the histogram.
    await patchDeployment('checkout-canary', {
      spec: {
        template: {
          metadata: { annotations: { 'sandbox.routeshift.io/error-rate': '0', 'sandbox.routeshift.io/latency-ms': '60-80' } },
          spec: { containers: [{ name: 'echo', image: 'hashicorp/http-echo:1.0', args: ['-text=slow', '-status-code=202'] }] },
        },
      },
    });
    await eventually(async () => (await sendMany(20)).some((a) => a.status === 202), 20_000, 'slow canary answering 202');
    await sendMany(40);
    const text = await mesh.metrics.text();
    const series = ['reporter="destination"', 'destination_workload="checkout-canary"', 'response_code="202"'];
    const count = Number(metricLines(text, 'istio_request_duration_milliseconds_count{', ...series)[0]?.split(' ').pop());
    const under50 = Number(metricLines(text, 'istio_request_duration_milliseconds_bucket{', 'le="50"', ...series)[0]?.split(' ').pop());
    expect(count).toBeGreaterThan(0);
    expect(under50).toBe(0);
  });

  it('leaves another controller status entry alone while updating its own', async () => {
    const current = await getRoute();
    const linkerd: RouteParentStatus = {
      parentRef: { group: '', kind: 'Service', name: 'checkout', port: 80 },
      controllerName: 'linkerd.io/policy-controller',
      conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: new Date().toISOString() }],
    };
    await rest.request('PUT', `${ROUTES}/checkout/status`, { body: { ...current, status: { parents: [...(current.status?.parents ?? []), linkerd] } } });
    await rest.request('PATCH', `${ROUTES}/checkout`, { body: { spec: { rules: route(100, 0).spec?.rules } }, contentType: MERGE_PATCH });
    const after = await routeStatus(() => true, 'status for the new generation');
    expect(after.status?.parents?.map((p) => p.controllerName).sort()).toEqual([CONTROLLER, 'linkerd.io/policy-controller']);
    expect(after.status?.parents?.find((p) => p.controllerName === 'linkerd.io/policy-controller')).toEqual(linkerd);
    expect((await sendMany(50)).every((a) => a.backend === 'checkout-stable')).toBe(true);
  });

  it('removes its EndpointSlices on stop and stale ones on start', async () => {
    const managed = async () =>
      (await rest.request<KubeList<EndpointSlice>>('GET', SLICES)).items.filter((s) => s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'sandbox.routeshift.io');
    expect((await managed()).length).toBe(8); // stable 2 + canary 2, each in its own Service and the root
    await workloads.stop();
    expect(await managed()).toEqual([]);
    await rest.request('POST', SLICES, {
      body: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'checkout-gone-0', namespace: NS, labels: { 'kubernetes.io/service-name': 'checkout', 'endpointslice.kubernetes.io/managed-by': 'sandbox.routeshift.io' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
        ports: [{ name: 'http', port: 1, protocol: 'TCP' }],
      },
    });
    workloads = await startWorkloads({ kubeConfig, logger: silentLogger() });
    const names = (await managed()).map((s) => s.metadata.name);
    expect(names).not.toContain('checkout-gone-0');
    expect(names).toHaveLength(8);
    await eventually(async () => (await sendMany(10)).every((a) => a.status === 200), 20_000, 'serving after restart');
  });
});
