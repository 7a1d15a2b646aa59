/**
 * Shared end-to-end harness: a sandbox per test file, the controller as a real child process (so it
 * can be SIGKILLed), and readers for Canaries, Events and route weights. Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Canary } from '../../src/api/canary.js';
import { STEPS_ANNOTATION } from '../../src/controller/advance-fold.js';
import { silentLogger } from '../../src/core/logger.js';
import { fromRoot } from '../../src/core/paths.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startSandbox, type Sandbox, type SandboxKubernetes, type SandboxOptions } from '../../src/sandbox/sandbox.js';
import { NS, seedObjects } from '../../src/sandbox/seed.js';

import { AppsV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import { createAll as createObjects } from '../../src/sandbox/demo.js';

interface Obj {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: { replicas?: number; selector?: Record<string, string>; template?: { metadata?: { labels?: Record<string, string> } } };
}

/**
 * Creates the objects, then waits until their Deployments are available and their Services have a
 * ready endpoint, as a user waits for `kubectl rollout status` before starting a canary. On the real
 * control plane pods take a moment (ReplicaSet, pod agent, EndpointSlice controller); a canary
 * started before would be judged on 503s from a Service with no endpoints yet.
 */
export async function createAll(kc: KubeConfig, objects: object[]): Promise<void> {
  await createObjects(kc, objects);
  await waitForWorkloads(kc, objects);
}

export async function waitForWorkloads(kc: KubeConfig, objects: object[], timeoutMs = 60_000): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const objs = objects as Obj[];
  const deployments = objs.filter((o) => o.kind === 'Deployment' && (o.spec?.replicas ?? 1) > 0);
  // Only Services that select pods of a Deployment created here: others may rightly have none.
  const selects = (svc: Obj, d: Obj): boolean =>
    svc.metadata?.namespace === d.metadata?.namespace &&
    Object.entries(svc.spec?.selector ?? {}).every(([k, v]) => d.spec?.template?.metadata?.labels?.[k] === v);
  const services = objs.filter((o) => o.kind === 'Service' && Object.keys(o.spec?.selector ?? {}).length > 0 && deployments.some((d) => selects(o, d)));
  const end = Date.now() + timeoutMs;
  const ready = async (): Promise<string | undefined> => {
    for (const d of deployments) {
      const ns = d.metadata?.namespace ?? 'default';
      const live = await apps.readNamespacedDeployment({ namespace: ns, name: d.metadata?.name ?? '' });
      const st = live.status;
      if ((st?.observedGeneration ?? 0) < (live.metadata?.generation ?? 1) || (st?.availableReplicas ?? 0) < (live.spec?.replicas ?? 1)) return `Deployment ${ns}/${d.metadata?.name}`;
    }
    for (const s of services) {
      const ns = s.metadata?.namespace ?? 'default';
      const slices = await discovery.listNamespacedEndpointSlice({ namespace: ns, labelSelector: `kubernetes.io/service-name=${s.metadata?.name ?? ''}` });
      if (!slices.items.some((sl) => (sl.endpoints ?? []).some((e) => e.conditions?.ready !== false))) return `endpoints of Service ${ns}/${s.metadata?.name}`;
    }
    return undefined;
  };
  let waiting = await ready();
  while (waiting !== undefined) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${waiting} to be ready`);
    await sleep(200);
    waiting = await ready();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The e2e suite runs on the real control plane (etcd, kube-apiserver, kube-controller-manager);
 * ROUTESHIFT_E2E_KUBERNETES=embedded runs it on the sandbox's own API server instead.
 */
export function e2eKubernetes(): SandboxKubernetes {
  return process.env['ROUTESHIFT_E2E_KUBERNETES'] === 'embedded' ? 'embedded' : 'real';
}

/** The kubeconfig each sandbox's controller uses (on the real control plane: the ServiceAccount's). */
const controllerKubeconfigs = new WeakMap<Sandbox, string>();

export async function newSandbox(opts: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  const dir = `/tmp/routeshift-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const sb = await startSandbox({ logger: silentLogger(), dir, rps: 40, kubernetes: e2eKubernetes(), ...opts });
  try {
    const path = join(dir, 'controller-kubeconfig');
    await sb.writeControllerKubeconfig(path, 'routeshift');
    controllerKubeconfigs.set(sb, path);
  } catch (err) {
    await sb.stop();
    throw err;
  }
  return sb;
}

/**
 * The controller's kubeconfig with its server moved to `port` on loopback (a proxy in front of the
 * API server), same scheme and credentials, written next to the original; returns its path.
 */
export function controllerKubeconfigVia(sb: Sandbox, port: number): string {
  const path = controllerKubeconfigs.get(sb) ?? sb.kubeconfigPath;
  const doc = parse(readFileSync(path, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of doc.clusters) {
    const url = new URL(c.cluster.server);
    url.port = String(port);
    c.cluster.server = url.origin;
  }
  const out = `${path}-via-${port}`;
  writeFileSync(out, stringify(doc), { mode: 0o600 });
  return out;
}

/** The request-log user of the controller that startController runs (as the API server names it). */
export const CONTROLLER_USER = 'token:sandbox-routeshift';

export interface ControllerProcess {
  child: ChildProcess;
  /** stdout lines (JSON logs) seen so far. */
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `routeshift controller` against the sandbox; extra args are appended (e.g. leader election flags). */
export function startController(sb: Sandbox, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): ControllerProcess {
  const args = [fromRoot('dist/cli/main.js'), 'controller', '--prometheus', sb.prometheus.url, '--log-level', 'info'];
  if (!extraArgs.includes('--kubeconfig')) args.push('--kubeconfig', controllerKubeconfigs.get(sb) ?? sb.kubeconfigPath);
  if (!extraArgs.includes('--leader-elect')) args.push('--no-leader-elect');
  if (!extraArgs.includes('--metrics-port')) args.push('--metrics-port', '0');
  // Webhook receivers in tests listen on loopback, which the outbound policy refuses by default.
  if (!extraArgs.includes('--allow-outbound')) args.push('--allow-outbound', '127.0.0.0/8,::1');
  // Tests count WeightAdvanced Events per step (intervals of a few seconds would fold them); faults-kill folds.
  if (!extraArgs.includes('--event-advance-window')) args.push('--event-advance-window', '0s');
  const child = spawn(process.execPath, [...args, ...extraArgs.filter((a) => a !== '--leader-elect')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  const output: string[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    output.push(...lines);
  });
  return {
    child,
    output,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}

export async function getCanary(sb: Sandbox, name: string, namespace = NS): Promise<Canary> {
  const api = sb.kubeConfig.makeApiClient(CustomObjectsApi);
  return (await api.getNamespacedCustomObject({ group: 'routeshift.io', version: 'v1alpha1', namespace, plural: 'canaries', name })) as Canary;
}

async function eventExists(sb: Sandbox, name: string, namespace: string): Promise<boolean> {
  try {
    await sb.kubeConfig.makeApiClient(CoreV1Api).readNamespacedEvent({ name, namespace });
    return true;
  } catch {
    return false;
  }
}

export async function waitForCanary(sb: Sandbox, name: string, pred: (c: Canary) => boolean, timeoutMs = 90_000, namespace = NS): Promise<Canary> {
  const end = Date.now() + timeoutMs;
  let last: Canary | undefined;
  while (Date.now() < end) {
    last = await getCanary(sb, name, namespace);
    // A transition is complete once its Event is written: status.pendingEvent cleared, or (a step leaves its
    // paid debt for the next status write to drop) the Event it names is in the API.
    if (pred(last) && (!last.status?.pendingEvent || (await eventExists(sb, last.status.pendingEvent.name, namespace)))) return last;
    await sleep(300);
  }
  throw new Error(`timed out waiting on Canary ${namespace}/${name}; last status: ${JSON.stringify(last?.status)}`);
}

export interface SeenEvent {
  reason: string;
  message: string;
  count: number;
  type: string;
  /** A WeightAdvanced Event's weights in order (annotation routeshift.io/steps), when it has them. */
  steps?: number[];
}

/** Event timestamps have one-second resolution (as in Kubernetes); resourceVersion orders within a second. */
function eventTime(e: { firstTimestamp?: Date | string }): number {
  return e.firstTimestamp ? Math.floor(new Date(e.firstTimestamp).getTime() / 1000) : 0;
}

/** Events on a Canary, oldest first. */
export async function canaryEvents(sb: Sandbox, name: string, namespace = NS): Promise<SeenEvent[]> {
  const core = sb.kubeConfig.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${name}` });
  return list.items
    .sort((a, b) => eventTime(a) - eventTime(b) || Number(a.metadata?.resourceVersion ?? 0) - Number(b.metadata?.resourceVersion ?? 0))
    .map((e) => {
      const steps = e.metadata?.annotations?.[STEPS_ANNOTATION];
      return { reason: e.reason ?? '', message: e.message ?? '', count: e.count ?? 1, type: e.type ?? '', ...(steps ? { steps: steps.split(',').map(Number) } : {}) };
    });
}

/** backendRef name -> weight of rule 0 of an HTTPRoute. */
export async function routeWeights(sb: Sandbox, name = 'backend-split', namespace = NS): Promise<Record<string, number>> {
  const api = sb.kubeConfig.makeApiClient(CustomObjectsApi);
  const r = (await api.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'httproutes', name })) as {
    spec: { rules: Array<{ backendRefs: Array<{ name: string; weight: number }> }> };
  };
  return Object.fromEntries((r.spec.rules[0]?.backendRefs ?? []).map((b) => [b.name, b.weight]));
}

/**
 * A sandbox with only the seed's namespaces (each test brings its own release) and a controller
 * running against it; stop both with stopAll.
 */
export async function sandboxWithController(opts: Partial<SandboxOptions> = {}): Promise<{ sb: Sandbox; controller: ControllerProcess }> {
  const sb = await newSandbox(opts);
  await createAll(sb.kubeConfig, seedObjects().filter((o) => (o as { kind?: string }).kind === 'Namespace'));
  return { sb, controller: startController(sb) };
}

export async function stopAll(controller: ControllerProcess | undefined, sb: Sandbox | undefined): Promise<void> {
  await controller?.stop();
  await sb?.stop();
}
