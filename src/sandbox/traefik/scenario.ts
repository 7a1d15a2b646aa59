import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Canary } from '../../api/canary.js';
import type { Logger } from '../../core/logger.js';
import { fromRoot } from '../../core/paths.js';
import { loadTemplates, resolveMetric } from '../../metrics/templates.js';
import { startControlPlane, type ControlPlane } from '../controlplane/control-plane.js';
import { waitUntil } from '../controlplane/wait.js';
import { createAll } from '../demo.js';
import { httpKubeRest, MERGE_PATCH, type KubeRest } from '../mesh/kube/rest.js';
import { startPrometheus, type PrometheusServer } from '../prometheus.js';
import { startPodAgent, type PodWorkloads } from '../workloads/pod-agent.js';
import { startGatewayLoad, type GatewayLoadStats } from './gateway-load.js';
import { preparePodNetwork } from './netns.js';
import { backend, EDGE_NS, edgeCanary, gatewayObjects, ROUTE, shopRoute } from './objects.js';
import { measureSteps, type MeasuredStep, type SplitSample } from './split.js';
import { findTraefikBinary, getText, serviceRequests, startTraefik, traefikBinaryVersion, TRAEFIK_CONTROLLER_NAME, type Traefik } from './traefik.js';

/** Entry points inside the private network namespace: nothing else listens there. */
const WEB_PORT = 8000;
const ADMIN_PORT = 8080;

interface RouteObject {
  metadata: { generation?: number };
  spec: { rules: Array<{ backendRefs?: Array<{ name: string; weight?: number }> } & Record<string, unknown>> };
  status?: { parents?: Array<{ controllerName: string; conditions?: Array<{ type: string; status: string; observedGeneration?: number }> }> };
}

export interface RolloutOutcome {
  phase: string | undefined;
  canaryWeight: number | undefined;
  weights: Record<string, number>;
  events: string[];
  /** Traefik's own request totals per service label at the end. */
  traefikRequests: Record<string, number>;
  /** Traefik's totals of 5xx answers per service label. */
  traefik5xx: Record<string, number>;
  load: GatewayLoadStats;
}

export interface TraefikScenarioResult {
  traefikVersion: string;
  /** Service labels of traefik_service_requests_total as Prometheus scraped them. */
  prometheusServiceLabels: string[];
  /** What the built-in traefik templates measured (Prometheus query results), by query. */
  templateValues: Record<string, number | null>;
  walk: RolloutOutcome & { steps: MeasuredStep[] };
  rollback: RolloutOutcome;
  /** JSON of the route's rule 1 before the walk and after the rollback. */
  secondRule: { before: string; after: string };
  /** The route's status.parents entry of Traefik after the walk. */
  routeStatus: unknown;
}

const pathOf = (kind: 'httproutes' | 'canaries', name: string): string =>
  kind === 'httproutes'
    ? `/apis/gateway.networking.k8s.io/v1/namespaces/${EDGE_NS}/httproutes/${name}`
    : `/apis/routeshift.io/v1alpha1/namespaces/${EDGE_NS}/canaries/${name}`;

/**
 * The north-south canary on a real data plane, run inside a private network namespace: the real
 * control plane, the pod agent with pods on their own IPs, Traefik serving a Gateway, Prometheus
 * scraping Traefik, routeshift's controller, and client load through Traefik. A healthy canary is
 * walked to 100 % while the split is measured from Traefik's counters; then a canary answering
 * 503 is rolled back. Returns what was observed; the e2e test judges it.
 */
export async function runTraefikScenario(opts: { logger: Logger; keepDir?: boolean; rps?: number }): Promise<TraefikScenarioResult> {
  preparePodNetwork();
  const dir = mkdtempSync(join(tmpdir(), 'routeshift-traefik-'));
  const stops: Array<() => Promise<void>> = [];
  const log = opts.logger;
  try {
    const cp: ControlPlane = await startControlPlane({
      dir,
      logger: log,
      manifests: [
        fromRoot('src/sandbox/crds/gateway-api-v1.4.1-standard-crds.yaml'),
        fromRoot('src/sandbox/crds/gateway-api-v1.4.1-backendtlspolicies-crd.yaml'),
        fromRoot('deploy/crds/canary.yaml'),
        fromRoot('deploy/crds/metrictemplate.yaml'),
      ],
    });
    stops.push(() => cp.stop());
    const rest = httpKubeRest(cp.adminKubeConfig);
    const agent: PodWorkloads = await startPodAgent({ kubeConfig: cp.adminKubeConfig, logger: log, bindPodIps: true });
    stops.push(() => agent.stop());

    await createAll(cp.adminKubeConfig, [...gatewayObjects(WEB_PORT), ...backend('v1', { replicas: 2 }), ...backend('v2', { replicas: 2 }), shopRoute('backend-v1', 'backend-v2')]);
    const traefik: Traefik = await startTraefik({
      apiServer: cp.url,
      token: cp.adminToken,
      caFile: join(dir, 'certs', 'apiserver.crt'),
      webPort: WEB_PORT,
      adminPort: ADMIN_PORT,
      logFile: join(cp.logDir, 'traefik.log'),
    });
    stops.push(() => traefik.stop());
    // Traefik serves the route once it has the Gateway, the route and ready endpoints.
    await waitUntil('Traefik serving backend-v1', async () => (await getText(`${traefik.webUrl}/`)).body.startsWith('hello from backend v1'), { timeoutMs: 60_000 });

    const prometheus: PrometheusServer = await startPrometheus({ targets: [{ job: 'traefik', address: `127.0.0.1:${ADMIN_PORT}` }], logger: log });
    stops.push(() => prometheus.stop());
    const controller = startController(dir, cp, prometheus.url);
    stops.push(controller.stop);
    const load = startGatewayLoad(traefik.webUrl, opts.rps ?? 100);
    stops.push(load.stop);
    await prometheus.waitForTarget('traefik');

    const secondBefore = JSON.stringify((await rest.request<RouteObject>('GET', pathOf('httproutes', ROUTE))).spec.rules[1]);

    // 1. A healthy canary walked to 100 %, the split measured from Traefik's counters at each step.
    const sampler = startSampler(rest, traefik, 'backend-v1', 'backend-v2');
    await createAll(cp.adminKubeConfig, [edgeCanary('backend-v1', 'backend-v2')]);
    await waitForPhase(rest, 'shop', ['Succeeded', 'Failed'], 240_000);
    // Measure the final 100 % a while too.
    await new Promise((r) => setTimeout(r, 6000));
    const samples = await sampler.stop();
    const templateValues = await templateQueries(prometheus.url);
    const prometheusServiceLabels = await labelValues(prometheus.url);
    const routeStatus = (await rest.request<RouteObject>('GET', pathOf('httproutes', ROUTE))).status?.parents?.find((p) => p.controllerName === TRAEFIK_CONTROLLER_NAME);
    const walk = { ...(await outcome(rest, traefik, 'shop', load.stats())), steps: measureSteps(samples) };

    // 2. A canary answering 503 everywhere: the release edit names backend-v3 at weight 0 next to v2.
    await createAll(cp.adminKubeConfig, backend('v3', { replicas: 2, statusCode: 503 }));
    await waitUntil('backend-v3 pods', async () => agent.ports(EDGE_NS, 'backend-v3').length === 2, { timeoutMs: 60_000 });
    const route = await rest.request<RouteObject>('GET', pathOf('httproutes', ROUTE));
    const rule0 = route.spec.rules[0] as { backendRefs: Array<Record<string, unknown>> };
    rule0.backendRefs = rule0.backendRefs.map((b) => (b['name'] === 'backend-v1' ? { ...b, name: 'backend-v3', weight: 0 } : b));
    await rest.request('PUT', pathOf('httproutes', ROUTE), { body: route });
    await rest.request('PATCH', pathOf('canaries', 'shop'), {
      body: { spec: { stable: { name: 'backend-v2', port: 80 }, canary: { name: 'backend-v3', port: 80 } } },
      contentType: MERGE_PATCH,
    });
    await waitForPhase(rest, 'shop', ['Failed'], 240_000, (c) => c.spec.canary.name === 'backend-v3');
    const rollback = await outcome(rest, traefik, 'shop', load.stats());
    const secondAfter = JSON.stringify((await rest.request<RouteObject>('GET', pathOf('httproutes', ROUTE))).spec.rules[1]);

    return {
      traefikVersion: traefikBinaryVersion(findTraefikBinary()),
      prometheusServiceLabels,
      templateValues,
      walk,
      rollback,
      secondRule: { before: secondBefore, after: secondAfter },
      routeStatus,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log.warn({ err }, 'stop failed'));
    if (!opts.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

function startController(dir: string, cp: ControlPlane, prometheusUrl: string): { stop(): Promise<void> } {
  const kubeconfig = join(dir, 'controller.kubeconfig');
  writeFileSync(kubeconfig, cp.kubeconfig(), { mode: 0o600 });
  const config = join(dir, 'controller.yaml');
  // events.advanceWindow 0s: the walk reports each step's WeightAdvanced Event (a 6 s interval would fold them).
  writeFileSync(config, `defaults:\n  provider: traefik\nroute:\n  controllerName: ${TRAEFIK_CONTROLLER_NAME}\nevents:\n  advanceWindow: 0s\n`);
  mkdirSync(cp.logDir, { recursive: true });
  const out = createWriteStream(join(cp.logDir, 'routeshift-controller.log'));
  const child: ChildProcess = spawn(
    process.execPath,
    [fromRoot('dist/cli/main.js'), 'controller', '--config', config, '--kubeconfig', kubeconfig, '--prometheus', prometheusUrl, '--no-leader-elect', '--metrics-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Every 250 ms: the route's weights and Traefik's status for them, and Traefik's request totals. */
function startSampler(rest: KubeRest, traefik: Traefik, stable: string, canary: string): { stop(): Promise<SplitSample[]> } {
  const samples: SplitSample[] = [];
  const t0 = Date.now();
  let running = true;
  const loop = (async () => {
    while (running) {
      const [route, metrics] = await Promise.all([rest.request<RouteObject>('GET', pathOf('httproutes', ROUTE)), getText(traefik.metricsUrl)]);
      const counts = serviceRequests(metrics.body);
      const refs = route.spec.rules[0]?.backendRefs ?? [];
      const generation = route.metadata.generation ?? 0;
      const mine = route.status?.parents?.find((p) => p.controllerName === TRAEFIK_CONTROLLER_NAME);
      const observed = (mine?.conditions ?? []).some((c) => c.type === 'Accepted' && c.status === 'True' && (c.observedGeneration ?? 0) >= generation);
      samples.push({
        t: Date.now() - t0,
        generation,
        observed,
        stableWeight: refs.find((b) => b.name === stable)?.weight ?? 1,
        canaryWeight: refs.find((b) => b.name === canary)?.weight ?? 1,
        stableCount: counts.get(traefikService(stable)) ?? 0,
        canaryCount: counts.get(traefikService(canary)) ?? 0,
      });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Traefik's service name for backendRef `<svc>:80` of a route in EDGE_NS (Traefik v3.6). */
export const traefikService = (svc: string, port = 80): string => `${EDGE_NS}-${svc}-http-${port}@kubernetesgateway`;

async function waitForPhase(rest: KubeRest, name: string, phases: string[], timeoutMs: number, also: (c: Canary) => boolean = () => true): Promise<void> {
  await waitUntil(
    `Canary ${name} in ${phases.join('/')}`,
    async () => {
      const c = await rest.request<Canary>('GET', pathOf('canaries', name));
      return phases.includes(c.status?.phase ?? '') && also(c) && !c.status?.pendingEvent;
    },
    { timeoutMs },
  );
}

async function outcome(rest: KubeRest, traefik: Traefik, name: string, load: GatewayLoadStats): Promise<RolloutOutcome> {
  const c = await rest.request<Canary>('GET', pathOf('canaries', name));
  const route = await rest.request<RouteObject>('GET', pathOf('httproutes', ROUTE));
  const events = await rest.request<{
    items: Array<{ reason?: string; firstTimestamp?: string; involvedObject?: { kind?: string; name?: string }; metadata: { resourceVersion?: string } }>;
  }>('GET', `/api/v1/namespaces/${EDGE_NS}/events`);
  // Event times have one-second resolution; resourceVersion orders within a second (as the e2e harness does).
  const second = (e: { firstTimestamp?: string }): number => (e.firstTimestamp ? Math.floor(Date.parse(e.firstTimestamp) / 1000) : 0);
  const metrics = (await getText(traefik.metricsUrl)).body;
  const fivexx: Record<string, number> = {};
  for (const line of metrics.split('\n')) {
    const m = /^traefik_service_requests_total\{(.*)\} (\S+)$/.exec(line);
    if (!m || !/code="5\d\d"/.test(m[1] as string)) continue;
    const svc = /service="([^"]*)"/.exec(m[1] as string)?.[1] ?? '';
    fivexx[svc] = (fivexx[svc] ?? 0) + Number(m[2]);
  }
  return {
    phase: c.status?.phase,
    canaryWeight: c.status?.canaryWeight,
    weights: Object.fromEntries((route.spec.rules[0]?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1])),
    events: events.items
      .filter((e) => e.involvedObject?.kind === 'Canary' && e.involvedObject.name === name)
      .sort((a, b) => second(a) - second(b) || Number(a.metadata.resourceVersion ?? 0) - Number(b.metadata.resourceVersion ?? 0))
      .map((e) => e.reason ?? ''),
    traefikRequests: Object.fromEntries(serviceRequests(metrics)),
    traefik5xx: fivexx,
    load,
  };
}

async function promQuery(url: string, query: string): Promise<number | null> {
  const res = await getText(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const data = JSON.parse(res.body) as { data?: { result?: Array<{ value: [number, string] }> } };
  const v = data.data?.result?.[0]?.value[1];
  return v === undefined ? null : Number(v);
}

async function labelValues(url: string): Promise<string[]> {
  const res = await getText(`${url}/api/v1/label/service/values?match[]=${encodeURIComponent('traefik_service_requests_total')}`);
  return (JSON.parse(res.body) as { data?: string[] }).data ?? [];
}

/** The built-in templates rendered for both sides, as the controller resolves them, then queried. */
async function templateQueries(url: string): Promise<Record<string, number | null>> {
  const templates = await loadTemplates();
  const c = edgeCanary('backend-v1', 'backend-v2');
  // A window over the whole walk: by now the stable has had no traffic for a while.
  for (const m of c.spec.analysis.metrics ?? []) m.interval = '5m';
  const out: Record<string, number | null> = {};
  for (let i = 0; i < (c.spec.analysis.metrics ?? []).length; i++) {
    const m = resolveMetric(c, i, 'traefik', templates);
    for (const side of ['canary', 'stable'] as const) out[`${m.name}/${side}: ${m[side].query}`] = await promQuery(url, m[side].query);
  }
  return out;
}
