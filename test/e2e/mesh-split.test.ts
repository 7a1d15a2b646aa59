/**
 * The sandbox data plane against the sandbox API server: the blog's GAMMA canary (3×v1, 2×v2,
 * root Service `backend`, HTTPRoute 90/10) run as local http-echo workloads behind the mesh proxy.
 * Covers the weighted split, a weight change going live before its status, a failing canary seen
 * in Istio metrics, route status conditions, a backendRef to a missing Service, the load generator,
 * and the traffic shapes of issue 21 (header and cookie matches, a Set-Cookie filter, a mirror percent).
 */
import http from 'node:http';
import { jest } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { silentLogger } from '../../src/core/logger.js';
import { startApiServer, type ApiServer } from '../../src/sandbox/apiserver/index.js';
import { eventually } from '../../src/sandbox/apiserver/testing.js';
import { httpKubeRest, MERGE_PATCH, type KubeRest } from '../../src/sandbox/mesh/kube/rest.js';
import type { Deployment, EndpointSlice, HTTPRoute, KubeList, RouteParentStatus } from '../../src/sandbox/mesh/kube/types.js';
import { BACKEND_HEADER, startMesh, type Mesh } from '../../src/sandbox/mesh/index.js';
import { startWorkloads, type Workloads } from '../../src/sandbox/workloads/index.js';
import { startLoad } from '../../src/sandbox/load/index.js';

const GATEWAY_CRDS = '/work/shared/reference/gateway-api-v1.4.1-standard-crds.yaml';
const SEED_FILES = ['00-namespace.yaml', '10-backends.yaml', '20-root-service.yaml', '30-httproute.yaml'].map((f) => `test/fixtures/seed/${f}`);
const NS = 'istio-test';

// The e2e project's testTimeout does not reach the tests (Jest reads it only at the top level).
jest.setTimeout(120_000);
const HOST = `backend.${NS}.svc.cluster.local`;
const CONTROLLER = 'istio.io/gateway-controller';
const ROUTE_PATH = `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/backend-split`;

let api: ApiServer;
let rest: KubeRest;
let workloads: Workloads;
let mesh: Mesh;
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

interface Answer {
  status: number;
  backend: string | undefined;
  body: string;
}

function send(host = HOST): Promise<Answer> {
  const url = new URL(mesh.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: '/', agent, headers: { host, 'x-routeshift-source-workload': 'e2e' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const b = res.headers[BACKEND_HEADER];
        resolve({ status: res.statusCode ?? 0, backend: typeof b === 'string' ? b : undefined, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** One request with extra headers; answers with the backend and the Set-Cookie lines. */
function sendWith(headers: Record<string, string>): Promise<Answer & { setCookie: string[] }> {
  const url = new URL(mesh.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: '/', agent, headers: { host: HOST, 'x-routeshift-source-workload': 'e2e', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const b = res.headers[BACKEND_HEADER];
        resolve({ status: res.statusCode ?? 0, backend: typeof b === 'string' ? b : undefined, body, setCookie: res.headers['set-cookie'] ?? [] });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sum of istio_requests_total samples carrying all the given labels. */
async function requestsTotal(labels: string[]): Promise<number> {
  const text = await mesh.metrics.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('istio_requests_total{') && labels.every((p) => l.includes(p)))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** n requests, at most `concurrency` in flight. */
async function sendMany(n: number, concurrency = 16): Promise<Answer[]> {
  const out: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        out.push(await send());
      }
    }),
  );
  return out;
}

/** |hits/n − p| within 5 binomial standard deviations. */
function withinBound(hits: number, n: number, p: number): boolean {
  return Math.abs(hits / n - p) <= 5 * Math.sqrt((p * (1 - p)) / n);
}

async function getRoute(): Promise<HTTPRoute> {
  return rest.request<HTTPRoute>('GET', ROUTE_PATH);
}

function ourStatus(route: HTTPRoute): RouteParentStatus | undefined {
  return route.status?.parents?.find((p) => p.controllerName === CONTROLLER);
}

/** Waits until the mesh reports the route's current generation, and returns the route. */
async function statusCurrent(pred: (s: RouteParentStatus) => boolean = () => true): Promise<HTTPRoute> {
  return eventually(
    async () => {
      const r = await getRoute();
      const s = ourStatus(r);
      return s && s.conditions.every((c) => c.observedGeneration === r.metadata.generation) && pred(s) ? r : undefined;
    },
    20_000,
    'route status for the current generation',
  );
}

async function patchRoute(rules: unknown): Promise<HTTPRoute> {
  return rest.request<HTTPRoute>('PATCH', ROUTE_PATH, { body: { spec: { rules } }, contentType: MERGE_PATCH });
}

beforeAll(async () => {
  api = await startApiServer({ crdFiles: [GATEWAY_CRDS] });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(api.kubeconfig());
  rest = httpKubeRest(kubeConfig);
  for (const file of SEED_FILES) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      const obj = doc.toJS() as { apiVersion: string; kind: string; metadata: { namespace?: string } };
      const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
      const plural = `${obj.kind.toLowerCase()}${obj.kind.endsWith('s') ? 'es' : 's'}`;
      const path = obj.metadata.namespace ? `${base}/namespaces/${obj.metadata.namespace}/${plural}` : `${base}/${plural}`;
      await rest.request('POST', path, { body: obj });
    }
  }
  workloads = await startWorkloads({ kubeConfig, logger: silentLogger() });
  // A propagation delay, so the tests below can see that status is written only once the change is live.
  mesh = await startMesh({ kubeConfig, logger: silentLogger(), statusDelayMs: 200 });
  await eventually(async () => {
    const seen = new Set((await sendMany(40, 8)).filter((a) => a.status === 200).map((a) => a.backend));
    return seen.has('backend-v1') && seen.has('backend-v2');
  }, 20_000, 'both versions answering through the mesh');
});

afterAll(async () => {
  agent.destroy();
  await mesh?.stop();
  await workloads?.stop();
  await api?.stop();
});

describe('sandbox mesh with the seed canary', () => {
  it('runs the replicas, writes one EndpointSlice per Service and replica, and reports Deployment status', async () => {
    expect(workloads.ports(NS, 'backend-v1')).toHaveLength(3);
    expect(workloads.ports(NS, 'backend-v2')).toHaveLength(2);
    const slices = await rest.request<KubeList<EndpointSlice>>('GET', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`);
    const count = (svc: string) => slices.items.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc).length;
    expect([count('backend-v1'), count('backend-v2'), count('backend')]).toEqual([3, 2, 5]);
    const dep = await eventually(async () => {
      const d = await rest.request<Deployment>('GET', `/apis/apps/v1/namespaces/${NS}/deployments/backend-v1`);
      return d.status?.readyReplicas === 3 ? d : undefined;
    }, 10_000, 'backend-v1 status');
    expect(dep.status).toMatchObject({ replicas: 3, availableReplicas: 3, observedGeneration: dep.metadata.generation });
    expect(dep.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
  });

  it('reports Accepted and ResolvedRefs True for the current generation', async () => {
    const route = await statusCurrent();
    const s = ourStatus(route) as RouteParentStatus;
    expect(s.parentRef).toMatchObject({ group: '', kind: 'Service', name: 'backend', port: 80 });
    expect(s.conditions.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Accepted', 'True', 'Accepted'],
      ['ResolvedRefs', 'True', 'ResolvedRefs'],
    ]);
    expect(s.conditions.every((c) => typeof c.lastTransitionTime === 'string')).toBe(true);
  });

  it('splits 2,000 requests 90/10 within a binomial bound', async () => {
    const answers = await sendMany(2000);
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const v2 = answers.filter((a) => a.backend === 'backend-v2');
    expect(v2.every((a) => a.body === 'hello from backend v2\n')).toBe(true);
    expect(answers.filter((a) => a.backend === 'backend-v1').length + v2.length).toBe(2000);
    expect(withinBound(v2.length, 2000, 0.1)).toBe(true);
  });

  it('after patching weights to 0/100, sends every request to v2 once the status shows the new generation', async () => {
    const patched = await patchRoute([{ backendRefs: [{ name: 'backend-v1', port: 80, weight: 0 }, { name: 'backend-v2', port: 80, weight: 100 }] }]);
    await statusCurrent();
    expect((await getRoute()).metadata.generation).toBe(patched.metadata.generation);
    const answers = await sendMany(300);
    expect(answers.filter((a) => a.backend !== 'backend-v2' || a.status !== 200)).toEqual([]);
  });

  it('shows a v2 answering 503 as 503s and in istio_requests_total', async () => {
    await rest.request('PATCH', `/apis/apps/v1/namespaces/${NS}/deployments/backend-v2`, {
      body: { spec: { template: { spec: { containers: [{ name: 'echo', image: 'hashicorp/http-echo', args: ['-text=broken v2', '-status-code=503'] }] } } } },
      contentType: MERGE_PATCH,
    });
    await eventually(async () => (await send()).status === 503, 10_000, 'v2 answering 503');
    const answers = await sendMany(100);
    expect(answers.every((a) => a.status === 503 && a.backend === 'backend-v2' && a.body === 'broken v2\n')).toBe(true);
    const text = await new Promise<string>((resolve, reject) => {
      http.get(mesh.metricsUrl, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      }).on('error', reject);
    });
    const line = text
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{') && ['reporter="destination"', 'destination_workload="backend-v2"', 'response_code="503"', `destination_workload_namespace="${NS}"`, 'destination_service_name="backend-v2"'].every((p) => l.includes(p)));
    expect(line).toBeDefined();
    expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(100);
  });

  it('reports BackendNotFound for a missing backend Service and answers 500 for its share', async () => {
    await patchRoute([{ backendRefs: [{ name: 'backend-v1', port: 80, weight: 50 }, { name: 'backend-v3', port: 80, weight: 50 }] }]);
    const route = await statusCurrent((s) => s.conditions.some((c) => c.type === 'ResolvedRefs' && c.status === 'False'));
    const resolved = ourStatus(route)?.conditions.find((c) => c.type === 'ResolvedRefs');
    expect(resolved).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
    expect(resolved?.message).toContain('backend-v3');
    expect(ourStatus(route)?.conditions.find((c) => c.type === 'Accepted')?.status).toBe('True');
    const answers = await sendMany(1000);
    const missing = answers.filter((a) => a.backend === 'backend-v3');
    expect(missing.every((a) => a.status === 500)).toBe(true);
    expect(answers.filter((a) => a.backend === 'backend-v1').every((a) => a.status === 200)).toBe(true);
    expect(withinBound(missing.length, 1000, 0.5)).toBe(true);
  });

  it('drives steady load at the root Service and counts answers by backend', async () => {
    await patchRoute([{ backendRefs: [{ name: 'backend-v1', port: 80, weight: 1 }] }]);
    await statusCurrent((s) => s.conditions.every((c) => c.status === 'True'));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    const load = await startLoad({ kubeConfig, meshUrl: mesh.url, rps: 200, logger: silentLogger() });
    try {
      await eventually(() => (load.stats()[`${NS}/backend`]?.responses ?? 0) >= 50, 20_000, '50 load responses');
    } finally {
      await load.stop();
    }
    const s = load.stats()[`${NS}/backend`];
    expect(s?.host).toBe(HOST);
    expect(s?.byBackend).toEqual({ 'backend-v1': s?.responses });
    expect(s?.byStatus['200']).toBe(s?.responses);
    expect(s?.errors).toBe(0);
    const text = await mesh.metrics.text();
    const line = text.split('\n').find((l) => l.startsWith('istio_requests_total{') && ['reporter="source"', 'source_workload="sandbox-load"', 'destination_service_name="backend-v1"'].every((p) => l.includes(p)));
    expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(50);
  });

  // v2 still answers 503 (from the test above): the header and cookie rules show it is chosen, and
  // the mirror shows its failures reach the metrics but never a client.
  it('routes by a header and a cookie match, adds Set-Cookie on the v2 backendRef, and mirrors 30% to v2', async () => {
    await patchRoute([
      {
        matches: [{ headers: [{ name: 'x-canary', value: 'always' }] }],
        backendRefs: [{ name: 'backend-v2', port: 80, filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: 'canary=always; Path=/' }] } }] }],
      },
      { matches: [{ headers: [{ type: 'RegularExpression', name: 'Cookie', value: '(.*;\\s*)?canary=always(;.*)?' }] }], backendRefs: [{ name: 'backend-v2', port: 80 }] },
      { filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'backend-v2', port: 80 }, percent: 30 } }], backendRefs: [{ name: 'backend-v1', port: 80 }] },
    ]);
    await statusCurrent((s) => s.conditions.every((c) => c.status === 'True'));

    const byHeader = await sendWith({ 'x-canary': 'always' });
    expect(byHeader).toMatchObject({ backend: 'backend-v2', status: 503, setCookie: ['canary=always; Path=/'] });
    expect(await sendWith({ cookie: 'session=1; canary=always; theme=dark' })).toMatchObject({ backend: 'backend-v2', setCookie: [] });
    expect(await sendWith({ cookie: 'session=1; canary=never' })).toMatchObject({ backend: 'backend-v1', status: 200 });

    const v2 = ['destination_service_name="backend-v2"', 'destination_workload="backend-v2"'];
    const [destBefore, sourceBefore] = [await requestsTotal(['reporter="destination"', ...v2]), await requestsTotal(['reporter="source"', ...v2])];
    const answers = await sendMany(600);
    expect(answers.filter((a) => a.status !== 200 || a.backend !== 'backend-v1')).toEqual([]);
    await mesh.mirrorsIdle();
    const mirrored = (await requestsTotal(['reporter="destination"', ...v2])) - destBefore;
    expect(withinBound(mirrored, 600, 0.3)).toBe(true);
    expect(await requestsTotal(['reporter="destination"', ...v2, 'response_code="503"'])).toBeGreaterThanOrEqual(mirrored);
    expect(await requestsTotal(['reporter="source"', ...v2])).toBe(sourceBefore);
  });

  it('keeps simulated users with a cookie jar on v2 once its Set-Cookie reached them (cookie affinity)', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    const users = 10;
    const load = await startLoad({ kubeConfig, meshUrl: mesh.url, rps: 200, users, mix: [{ share: 0.25, headers: { 'x-canary': 'always' } }], logger: silentLogger() });
    try {
      await eventually(() => (load.stats()[`${NS}/backend`]?.responses ?? 0) >= 200, 20_000, '200 load responses');
    } finally {
      await load.stop();
    }
    const s = load.stats()[`${NS}/backend`];
    // Without the jar every x-canary request would flip its user to v2 and back (about 100 switches).
    expect(s?.userSwitches).toBeGreaterThan(0);
    expect(s?.userSwitches).toBeLessThanOrEqual(users);
    expect(s?.byBackend['backend-v2'] ?? 0).toBeGreaterThan((s?.responses ?? 0) / 2);
  });
});
