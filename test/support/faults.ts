/**
 * Fault-injection helpers for test/e2e/faults-*.test.ts: a seeded RNG, per-rollout fixtures (own
 * Deployments, Services and route, so rollouts run side by side), an auditor that checks every
 * version of the routes it watches, a Prometheus proxy that can go down, slow, NaN or empty, and a
 * tally of tried / survived / lost for docs/benchmarks.md.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Canary, MetricSpec } from '../../src/api/canary.js';
import { KubeHttp, type WatchLine } from '../../src/bench/kube-http.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { NS } from '../../src/sandbox/seed.js';
import { newSandbox, type ControllerProcess, type SeenEvent } from './harness.js';

export { KubeHttp };

export { seededRandom } from '../../src/core/random.js';

// --- fixtures ----------------------------------------------------------------------------------

function echo(name: string, version: string, app: string, statusCode?: number): object {
  const args = [`-text=${name}`];
  if (statusCode) args.push(`-status-code=${statusCode}`);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app, version } },
      template: {
        metadata: { labels: { app, version } },
        spec: { containers: [{ name: 'echo', image: 'hashicorp/http-echo', args, ports: [{ containerPort: 5678 }] }] },
      },
    },
  };
}

function svc(name: string, selector: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS }, spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 5678 }] } };
}

export function routeFor(name: string): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> } {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: {
      parentRefs: [{ name, kind: 'Service', group: '', port: 80 }],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { name: `${name}-stable`, port: 80, weight: 100 },
            { name: `${name}-canary`, port: 80, weight: 0 },
          ],
        },
      ],
    },
  };
}

/**
 * Everything one rollout needs, named after it: stable and canary Deployments (the canary answering
 * 500 when `broken`), their Services, a root Service the load generator calls, and the route.
 */
export function rolloutObjects(name: string, broken: boolean): object[] {
  return [
    echo(`${name}-stable`, 'stable', name),
    echo(`${name}-canary`, 'canary', name, broken ? 500 : undefined),
    svc(`${name}-stable`, { app: name, version: 'stable' }),
    svc(`${name}-canary`, { app: name, version: 'canary' }),
    svc(name, { app: name }),
    routeFor(name),
  ];
}

export interface CanaryOptions {
  stepWeights?: number[];
  interval?: string;
  threshold?: number;
  window?: string;
  inconclusiveLimit?: number;
  metrics?: MetricSpec[];
}

export function canaryFor(name: string, o: CanaryOptions = {}): Canary {
  const window = o.window ?? '10s';
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace: NS },
    spec: {
      routeRef: { name },
      stable: { name: `${name}-stable`, port: 80 },
      canary: { name: `${name}-canary`, port: 80 },
      provider: 'istio',
      analysis: {
        interval: o.interval ?? '2s',
        threshold: o.threshold ?? 2,
        inconclusiveLimit: o.inconclusiveLimit ?? 20,
        stepWeights: o.stepWeights ?? [20, 40, 60, 80],
        metrics: o.metrics ?? [
          { name: 'request-success-rate', interval: window, thresholdRange: { min: 99 } },
          { name: 'request-duration', interval: window, thresholdRange: { max: 500 } },
        ],
      },
    },
  };
}

const PLURALS: Record<string, string> = { Namespace: 'namespaces', Deployment: 'deployments', Service: 'services', HTTPRoute: 'httproutes', Canary: 'canaries' };

export function collectionPath(obj: object): string {
  const o = obj as { apiVersion: string; kind: string; metadata: { namespace?: string } };
  const plural = PLURALS[o.kind];
  if (!plural) throw new Error(`no collection path for kind ${o.kind}`);
  const prefix = o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`;
  return `${prefix}${o.metadata.namespace ? `/namespaces/${o.metadata.namespace}` : ''}/${plural}`;
}

/** Creates objects, retrying injected 409/429/5xx answers (a 409 for an object already there counts as done). */
export async function createWithRetry(k: KubeHttp, objects: object[], attempts = 20): Promise<void> {
  for (const obj of objects) {
    for (let i = 1; ; i++) {
      const res = await k.request<{ reason?: string; message?: string }>('POST', collectionPath(obj), obj);
      if (res.status < 300 || (res.status === 409 && res.body?.reason === 'AlreadyExists')) break;
      if (i >= attempts || ![409, 429, 500, 503].includes(res.status)) throw new Error(`create ${collectionPath(obj)}: HTTP ${res.status} ${res.body?.message ?? ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function deleteWithRetry(k: KubeHttp, path: string, attempts = 20): Promise<void> {
  for (let i = 1; ; i++) {
    const res = await k.request('DELETE', path);
    if (res.status < 300 || res.status === 404 || i >= attempts) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function canaryPath(name: string): string {
  return `/apis/routeshift.io/v1alpha1/namespaces/${NS}/canaries/${name}`;
}

export function routePath(name: string): string {
  return `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/${name}`;
}

export async function readCanary(k: KubeHttp, name: string): Promise<Canary | undefined> {
  const res = await k.request<Canary>('GET', canaryPath(name));
  return res.status === 200 ? res.body : undefined;
}

// --- route audit -------------------------------------------------------------------------------

interface RouteObj {
  metadata?: { name?: string; generation?: number };
  spec?: { rules?: Array<{ backendRefs?: Array<{ name?: string; weight?: number }> }> } & Record<string, unknown>;
}

/** The spec with every backendRef weight removed: what must never change while we shift traffic. */
function shape(spec: unknown): string {
  const copy = structuredClone(spec) as RouteObj['spec'];
  for (const rule of copy?.rules ?? []) for (const b of rule.backendRefs ?? []) delete b.weight;
  return JSON.stringify(copy);
}

export interface RouteAudit {
  /** Canary weights seen, consecutive duplicates collapsed. */
  history: number[];
  versions: number;
  violations: string[];
}

/**
 * Watches every HTTPRoute in the namespace and checks each version of the routes it was told about:
 * weights never all zero, and nothing but weights different from the route as created.
 */
export class RouteAuditor {
  private readonly audits = new Map<string, RouteAudit & { shape: string | undefined; canary: string }>();
  private readonly ac = new AbortController();

  constructor(private readonly k: KubeHttp) {
    void k.listWatch(`/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes`, (line) => this.onLine(line), this.ac.signal);
  }

  /**
   * Start auditing `name` (call before creating it); `canaryBackend` names the backendRef whose weight
   * is tracked. The first version seen (as created, with the API server's defaults) is the reference.
   */
  track(name: string, canaryBackend: string): void {
    this.audits.set(name, { history: [], versions: 0, violations: [], shape: undefined, canary: canaryBackend });
  }

  /**
   * Waits until the route's last seen canary weight is `weight` (or `timeoutMs` passed): status is
   * written before the route is patched, and this watch may see the patch after the test read status.
   */
  async settled(name: string, weight: number, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.audits.get(name)?.history.at(-1) !== weight && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  }

  audit(name: string): RouteAudit {
    const a = this.audits.get(name);
    if (!a) throw new Error(`route ${name} is not audited`);
    return { history: [...a.history], versions: a.versions, violations: [...a.violations] };
  }

  private onLine(line: WatchLine): void {
    if (line.type === 'DELETED') return;
    const r = line.object as RouteObj;
    const a = this.audits.get(r.metadata?.name ?? '');
    if (!a) return;
    a.versions++;
    const refs = (r.spec?.rules ?? []).flatMap((rule) => rule.backendRefs ?? []);
    const weights = refs.map((b) => b.weight ?? 1);
    if (weights.length === 0 || weights.every((w) => w === 0)) a.violations.push(`generation ${r.metadata?.generation}: every weight is 0 (${JSON.stringify(refs)})`);
    const s = shape(r.spec);
    a.shape ??= s;
    if (s !== a.shape) a.violations.push(`generation ${r.metadata?.generation}: more than weights changed: ${s}`);
    const w = refs.find((b) => b.name === a.canary)?.weight;
    if (w !== undefined && a.history.at(-1) !== w) a.history.push(w);
  }

  stop(): void {
    this.ac.abort();
  }
}

// --- events ------------------------------------------------------------------------------------

/**
 * The weight each WeightAdvanced Event moved to, in order, with the Event's count. A folded Event (annotation
 * routeshift.io/steps) stands for each weight it lists, once when its count matches the list (else `count`
 * times each, which shows up as a repeat).
 */
export function weightSteps(events: readonly SeenEvent[]): Array<{ to: number; count: number; message: string }> {
  return events
    .filter((e) => e.reason === 'WeightAdvanced')
    .flatMap((e) => {
      if (e.steps) return e.steps.map((to) => ({ to, count: e.count === e.steps?.length ? 1 : e.count, message: e.message }));
      const m = /-> (\d+)/.exec(e.message) ?? /first step, (\d+)/.exec(e.message);
      return [{ to: m ? Number(m[1]) : NaN, count: e.count, message: e.message }];
    });
}

const TRANSITIONS = ['RolloutStarted', 'WeightAdvanced', 'PromotionStarted', 'Promoted', 'RollbackStarted', 'RolledBack'];

/** Transition reasons in order, each repeated by its count (so a repeated Event, or a fold of n steps, shows up n times). */
export function transitionReasons(events: readonly SeenEvent[]): string[] {
  return events.filter((e) => TRANSITIONS.includes(e.reason)).flatMap((e) => Array.from({ length: e.count }, () => e.reason));
}

// --- Prometheus fault proxy --------------------------------------------------------------------

export type PromMode = 'pass' | 'down' | 'slow' | 'nan' | 'empty';

export interface PromFaultProxy {
  url: string;
  mode: PromMode;
  /** Query requests seen, by the mode they were answered in. */
  counts: Record<PromMode, number>;
  stop(): Promise<void>;
}

/**
 * HTTP proxy in front of Prometheus. `down` resets every connection (as a stopped server would after
 * the pooled sockets go), `slow` holds each query `slowMs` before forwarding, `nan` and `empty` answer
 * queries themselves with a NaN sample or an empty vector. Non-query paths always pass.
 */
export async function startPromFaultProxy(upstream: string, slowMs: number): Promise<PromFaultProxy> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true });
  const state: PromFaultProxy = { url: '', mode: 'pass', counts: { pass: 0, down: 0, slow: 0, nan: 0, empty: 0 }, stop: async () => {} };
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void => {
    const up = http.request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, agent },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    up.end(body);
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const isQuery = (req.url ?? '').startsWith('/api/v1/query');
      if (!isQuery) return forward(req, res, body);
      const mode = state.mode;
      state.counts[mode]++;
      const answer = (result: unknown[]): void => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
      };
      switch (mode) {
        case 'down':
          req.socket.destroy();
          return;
        case 'slow': {
          const t = setTimeout(() => forward(req, res, body), slowMs);
          res.on('close', () => clearTimeout(t));
          return;
        }
        case 'nan':
          return answer([{ metric: {}, value: [Date.now() / 1000, 'NaN'] }]);
        case 'empty':
          return answer([]);
        default:
          return forward(req, res, body);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = () =>
    new Promise<void>((resolve) => {
      agent.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

// --- tally -------------------------------------------------------------------------------------

/** Tried / survived / lost per fault, printed at the end of a file for docs/benchmarks.md. */
export class FaultTally {
  private readonly rows = new Map<string, { tried: number; survived: number; lost: string[] }>();

  record(fault: string, ok: boolean, detail = ''): void {
    const row = this.rows.get(fault) ?? { tried: 0, survived: 0, lost: [] };
    row.tried++;
    if (ok) row.survived++;
    else row.lost.push(detail);
    this.rows.set(fault, row);
  }

  lost(): string[] {
    return [...this.rows.entries()].flatMap(([f, r]) => r.lost.map((d) => `${f}: ${d}`));
  }

  summary(): string {
    return [...this.rows.entries()].map(([f, r]) => `${f}: tried ${r.tried}, survived ${r.survived}, lost ${r.tried - r.survived}`).join('\n');
  }
}

export function sandboxClient(sb: Sandbox): KubeHttp {
  return new KubeHttp(sb.api.url, 'sandbox-faults-test');
}

/** What every fault file starts: a sandbox, a raw client, a route auditor, the test namespace. */
export interface FaultBed {
  sb: Sandbox;
  k: KubeHttp;
  auditor: RouteAuditor;
}

export async function openFaultBed(): Promise<FaultBed> {
  const sb = await newSandbox();
  const k = sandboxClient(sb);
  const auditor = new RouteAuditor(k);
  await createWithRetry(k, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
  return { sb, k, auditor };
}

/** Stops the controller (with `signal`), the auditor, the client and the sandbox, then prints the tally. */
export async function closeFaultBed(
  bed: Partial<FaultBed>,
  o: { label: string; tally: FaultTally; controller: ControllerProcess | undefined; signal?: NodeJS.Signals },
): Promise<void> {
  await o.controller?.stop(o.signal);
  bed.auditor?.stop();
  bed.k?.close();
  await bed.sb?.stop();
  process.stdout.write(`${o.label}:\n${o.tally.summary()}\n`);
}

// --- malformed Canaries ------------------------------------------------------------------------

export type MalformedExpectation = 'InvalidSpec' | 'RouteMismatch' | 'RefNotPermitted' | 'Rejected';

export interface Malformed {
  id: string;
  expect: MalformedExpectation;
  /** A word the error message must contain, so the user is pointed at the problem. */
  mentions: string;
  /** Edits the Canary (a plain copy of canaryFor(name)); `route` is its own route, edited likewise. */
  mutate(c: Record<string, any>, route: Record<string, any>): void;
}

/** A route no mesh serves (its parent is a Gateway that does not exist), so it draws no load. */
export function malformedRoute(name: string): Record<string, any> {
  const r = routeFor(name) as Record<string, any>;
  r.spec.parentRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'no-such-gateway' }];
  return r;
}

const metric = (c: Record<string, any>, i = 0): Record<string, any> => c.spec.analysis.metrics[i];

/**
 * Fifty-odd ways to get a Canary wrong, each with the error it must get: InvalidSpec (found in the
 * spec), RouteMismatch (the spec does not fit the route), RefNotPermitted (it reaches into another
 * namespace without a ReferenceGrant), or Rejected (the CRD schema refuses it at
 * apply time, before the controller sees it).
 */
export const MALFORMED: Malformed[] = [
  // The route does not hold what the Canary names.
  { id: 'route-missing', expect: 'RouteMismatch', mentions: 'no-such-route', mutate: (c) => (c.spec.routeRef.name = 'no-such-route') },
  // Another namespace without a ReferenceGrant: refused before anything there is read.
  { id: 'route-other-namespace', expect: 'RefNotPermitted', mentions: 'ReferenceGrant in elsewhere', mutate: (c) => (c.spec.routeRef.namespace = 'elsewhere') },
  { id: 'stable-not-in-route', expect: 'RouteMismatch', mentions: 'ghost-stable', mutate: (c) => (c.spec.stable.name = 'ghost-stable') },
  { id: 'canary-not-in-route', expect: 'RouteMismatch', mentions: 'ghost-canary', mutate: (c) => (c.spec.canary.name = 'ghost-canary') },
  { id: 'neither-in-route', expect: 'RouteMismatch', mentions: 'ghost', mutate: (c) => ((c.spec.stable.name = 'ghost-a'), (c.spec.canary.name = 'ghost-b')) },
  { id: 'stable-port-mismatch', expect: 'RouteMismatch', mentions: '8080', mutate: (c) => (c.spec.stable.port = 8080) },
  { id: 'canary-port-mismatch', expect: 'RouteMismatch', mentions: '8081', mutate: (c) => (c.spec.canary.port = 8081) },
  { id: 'rule-index-out-of-range', expect: 'RouteMismatch', mentions: 'rule', mutate: (c) => (c.spec.routeRef.rule = 3) },
  { id: 'rule-name-unknown', expect: 'RouteMismatch', mentions: 'no-such-rule', mutate: (c) => (c.spec.routeRef.rule = 'no-such-rule') },
  { id: 'stable-other-namespace', expect: 'RefNotPermitted', mentions: 'ReferenceGrant in elsewhere', mutate: (c) => (c.spec.stable.namespace = 'elsewhere') },
  {
    id: 'backends-in-separate-rules',
    expect: 'RouteMismatch',
    mentions: 'rule',
    mutate: (_c, r) => {
      const [a, b] = r.spec.rules[0].backendRefs;
      r.spec.rules = [{ backendRefs: [a] }, { backendRefs: [b] }];
    },
  },
  {
    id: 'canary-listed-twice',
    expect: 'RouteMismatch',
    mentions: 'canary',
    mutate: (_c, r) => r.spec.rules[0].backendRefs.push({ ...r.spec.rules[0].backendRefs[1], weight: 0 }),
  },
  { id: 'weights-all-zero', expect: 'RouteMismatch', mentions: 'weight', mutate: (_c, r) => (r.spec.rules[0].backendRefs[0].weight = 0) },
  // Services.
  { id: 'same-service', expect: 'InvalidSpec', mentions: 'spec.canary.name', mutate: (c) => (c.spec.canary = { ...c.spec.stable }) },
  // Steps.
  { id: 'steps-descending', expect: 'InvalidSpec', mentions: 'stepWeights', mutate: (c) => (c.spec.analysis.stepWeights = [50, 20]) },
  { id: 'steps-duplicate', expect: 'InvalidSpec', mentions: 'stepWeights', mutate: (c) => (c.spec.analysis.stepWeights = [20, 20, 40]) },
  { id: 'steps-and-stepWeight', expect: 'InvalidSpec', mentions: 'stepWeight', mutate: (c) => (c.spec.analysis.stepWeight = 10) },
  { id: 'steps-with-maxWeight', expect: 'InvalidSpec', mentions: 'maxWeight', mutate: (c) => (c.spec.analysis.maxWeight = 50) },
  {
    id: 'stepWeight-over-maxWeight',
    expect: 'InvalidSpec',
    mentions: 'stepWeight',
    mutate: (c) => {
      delete c.spec.analysis.stepWeights;
      c.spec.analysis.stepWeight = 60;
      c.spec.analysis.maxWeight = 50;
    },
  },
  { id: 'no-steps', expect: 'InvalidSpec', mentions: 'stepWeight', mutate: (c) => delete c.spec.analysis.stepWeights },
  { id: 'step-of-100', expect: 'InvalidSpec', mentions: 'stepWeights', mutate: (c) => (c.spec.analysis.stepWeights = [50, 100]) },
  { id: 'step-of-0', expect: 'Rejected', mentions: 'stepWeights', mutate: (c) => (c.spec.analysis.stepWeights = [0, 50]) },
  { id: 'step-of-150', expect: 'Rejected', mentions: 'stepWeights', mutate: (c) => (c.spec.analysis.stepWeights = [50, 150]) },
  // Counts and durations.
  { id: 'threshold-0', expect: 'Rejected', mentions: 'threshold', mutate: (c) => (c.spec.analysis.threshold = 0) },
  { id: 'inconclusiveLimit-0', expect: 'Rejected', mentions: 'inconclusiveLimit', mutate: (c) => (c.spec.analysis.inconclusiveLimit = 0) },
  { id: 'interval-not-a-duration', expect: 'Rejected', mentions: 'interval', mutate: (c) => (c.spec.analysis.interval = 'ten seconds') },
  { id: 'interval-zero', expect: 'InvalidSpec', mentions: 'interval', mutate: (c) => (c.spec.analysis.interval = '0s') },
  { id: 'progressDeadline-not-a-duration', expect: 'Rejected', mentions: 'progressDeadline', mutate: (c) => (c.spec.analysis.progressDeadline = 'soon') },
  { id: 'metric-window-not-a-duration', expect: 'Rejected', mentions: 'interval', mutate: (c) => (metric(c).interval = '1 minute') },
  { id: 'metric-window-zero', expect: 'InvalidSpec', mentions: 'interval', mutate: (c) => (metric(c).interval = '0s') },
  { id: 'errorsBeforeFailure-0', expect: 'Rejected', mentions: 'errorsBeforeFailure', mutate: (c) => (metric(c).errorsBeforeFailure = 0) },
  { id: 'canary-port-0', expect: 'Rejected', mentions: 'port', mutate: (c) => (c.spec.canary.port = 0) },
  // Thresholds.
  { id: 'thresholds-min-above-max', expect: 'InvalidSpec', mentions: 'thresholdRange', mutate: (c) => (metric(c).thresholdRange = { min: 99, max: 90 }) },
  { id: 'relative-min-above-max', expect: 'InvalidSpec', mentions: 'relative', mutate: (c) => (metric(c).relative = { compare: 'difference', min: 5, max: 1 }) },
  { id: 'thresholds-empty', expect: 'InvalidSpec', mentions: 'thresholdRange', mutate: (c) => (metric(c).thresholdRange = {}) },
  { id: 'nothing-to-check', expect: 'InvalidSpec', mentions: 'metrics[0]', mutate: (c) => delete metric(c).thresholdRange },
  { id: 'duplicate-metric-names', expect: 'InvalidSpec', mentions: 'request-success-rate', mutate: (c) => (metric(c, 1).name = 'request-success-rate') },
  // Templates and PromQL.
  { id: 'unknown-template', expect: 'InvalidSpec', mentions: 'no-such-template', mutate: (c) => (metric(c).templateRef = { name: 'no-such-template' }) },
  { id: 'unknown-template-other-namespace', expect: 'InvalidSpec', mentions: 'no-such-template', mutate: (c) => (metric(c).templateRef = { name: 'no-such-template', namespace: 'elsewhere' }) },
  { id: 'unknown-builtin-metric', expect: 'InvalidSpec', mentions: 'request-foo', mutate: (c) => (metric(c).name = 'request-foo') },
  { id: 'promql-syntax', expect: 'InvalidSpec', mentions: 'metrics[0]', mutate: (c) => (metric(c).query = 'sum(rate(istio_requests_total[1m]') },
  { id: 'promql-unknown-variable', expect: 'InvalidSpec', mentions: 'nope', mutate: (c) => (metric(c).query = 'sum(rate(istio_requests_total{x="{{ nope }}"}[1m]))') },
  { id: 'promql-range-vector', expect: 'InvalidSpec', mentions: 'metrics[0]', mutate: (c) => (metric(c).query = 'istio_requests_total[1m]') },
  { id: 'promql-string', expect: 'InvalidSpec', mentions: 'metrics[0]', mutate: (c) => (metric(c).query = '"a string"') },
  { id: 'promql-unknown-function', expect: 'InvalidSpec', mentions: 'nosuchfn', mutate: (c) => (metric(c).query = 'nosuchfn(up)') },
  { id: 'promql-bad-range', expect: 'InvalidSpec', mentions: 'metrics[0]', mutate: (c) => (metric(c).query = 'sum(rate(istio_requests_total[abc]))') },
  { id: 'requestsQuery-syntax', expect: 'InvalidSpec', mentions: 'requestsQuery', mutate: (c) => ((metric(c).minRequests = 10), (metric(c).requestsQuery = 'sum(')) },
  // Sequential mode.
  {
    id: 'sequential-with-thresholdRange',
    expect: 'InvalidSpec',
    mentions: 'sequential',
    mutate: (c) => ((metric(c).mode = 'sequential'), delete metric(c).interval),
  },
  {
    id: 'sequential-tolerance-0',
    expect: 'InvalidSpec',
    mentions: 'tolerance',
    mutate: (c) => {
      Object.assign(metric(c), { mode: 'sequential', sequential: { tolerance: 0 } });
      delete metric(c).thresholdRange;
      delete metric(c).interval;
    },
  },
  {
    id: 'sequential-tolerance-150',
    expect: 'InvalidSpec',
    mentions: 'tolerance',
    mutate: (c) => {
      Object.assign(metric(c), { mode: 'sequential', sequential: { tolerance: 150 } });
      delete metric(c).thresholdRange;
      delete metric(c).interval;
    },
  },
  {
    id: 'sequential-catastrophic-0',
    expect: 'InvalidSpec',
    mentions: 'catastrophicErrorRate',
    mutate: (c) => {
      Object.assign(metric(c), { mode: 'sequential', sequential: { catastrophicErrorRate: 0 } });
      delete metric(c).thresholdRange;
      delete metric(c).interval;
    },
  },
  { id: 'sequential-block-without-mode', expect: 'InvalidSpec', mentions: 'sequential', mutate: (c) => (metric(c).sequential = { tolerance: 1 }) },
  {
    id: 'sequential-window-mismatch',
    expect: 'InvalidSpec',
    mentions: 'interval',
    mutate: (c) => {
      metric(c).mode = 'sequential';
      delete metric(c).thresholdRange;
      metric(c).interval = '1m';
    },
  },
  {
    id: 'sequential-inline-query-without-counts',
    expect: 'InvalidSpec',
    mentions: 'metrics[0]',
    mutate: (c) => {
      Object.assign(metric(c), { name: 'custom', mode: 'sequential', query: 'sum(rate(istio_requests_total[2s]))' });
      delete metric(c).thresholdRange;
      delete metric(c).interval;
    },
  },
  // Hooks.
  { id: 'webhook-without-url', expect: 'InvalidSpec', mentions: 'webhooks', mutate: (c) => (c.spec.analysis.webhooks = [{ name: 'load', type: 'rollout' }]) },
  { id: 'webhook-bad-url', expect: 'InvalidSpec', mentions: 'webhooks', mutate: (c) => (c.spec.analysis.webhooks = [{ name: 'load', type: 'rollout', url: 'not a url' }]) },
];
