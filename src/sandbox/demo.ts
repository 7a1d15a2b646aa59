import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Canary, Phase } from '../api/canary.js';
import { systemClock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { callOptions, CONTENT_TYPE } from '../kube/options.js';
import { startSandbox, type Sandbox } from './sandbox.js';
import { demoCanary, echoDeployment, NS, seedObjects, service } from './seed.js';
import { startInProcessController } from './controller.js';
import { startDashboard } from '../dashboard/index.js';
import { orient } from '../controller/workload-slots.js';

export interface DemoOptions {
  logger: Logger;
  signal: AbortSignal;
  out: NodeJS.WritableStream;
  /** Give up on a stage after this long. */
  stageTimeoutMs?: number;
}

/** Creates objects through the API (as `kubectl apply` of new objects would), using discovery. */
/** Creates each object; a Namespace that exists already is kept (the sandbox may have made it). */
export async function createAll(kc: KubeConfig, objects: object[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) {
    try {
      await client.create(o as KubernetesObject);
    } catch (err) {
      if (!((o as KubernetesObject).kind === 'Namespace' && (err as { code?: number }).code === 409)) throw err;
    }
  }
}

/**
 * The README's main command: the seed walkthrough end to end on the sandbox. A healthy v2 is walked
 * from the seed's 90/10 to 100%, then a broken v3 (every request 503) is released and rolled back,
 * then v3's fix is released as a change to its Deployment only (spec.workloads), promoted, and the slots
 * swap. Exit code 0 only when all three outcomes happened.
 */
export async function runDemo(opts: DemoOptions): Promise<number> {
  const { out, logger } = opts;
  const started = Date.now();
  const say = (line: string): void => {
    out.write(`${line}\n`);
  };
  const stamp = (): string => `[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s]`;
  let sandbox: Sandbox | undefined;
  let stopController: (() => Promise<void>) | undefined;
  const dashboardStop = new AbortController();
  try {
    say('routeshift demo: the GAMMA canary walkthrough on the local sandbox');
    sandbox = await startSandbox({ logger, dir: '.routeshift/demo', rps: 40 });
    say(`${stamp()} sandbox ready: api=${sandbox.api.url} prometheus=${sandbox.prometheus.url} mesh=${sandbox.mesh.url}`);
    say(`        kubeconfig: ${sandbox.kubeconfigPath} (try: kubectl --kubeconfig ${sandbox.kubeconfigPath} get canaries -A)`);
    const controller = await startInProcessController({ kubeConfig: sandbox.kubeConfig, prometheusUrl: sandbox.prometheus.url, logger, signal: opts.signal });
    stopController = controller.stop;
    await sandbox.scrapeController(`127.0.0.1:${controller.metricsPort}`);
    const dashboard = await startDashboard({ kubeConfig: sandbox.kubeConfig, prometheusUrl: sandbox.prometheus.url, logger, signal: AbortSignal.any([opts.signal, dashboardStop.signal]) });
    say(`        dashboard: ${dashboard.url} (open it to watch the rollouts below; it stops when the demo ends)`);
    const kc = sandbox.kubeConfig;

    await createAll(kc, seedObjects());
    say(`${stamp()} applied the seed: namespace ${NS}, backend-v1 (3 replicas) and backend-v2 (2), Services backend-v1, backend-v2 and root backend, HTTPRoute backend-split at 90/10`);
    const canary = demoCanary();
    await createAll(kc, [canary]);
    say(`${stamp()} applied Canary ${NS}/backend: steps ${canary.spec.analysis.stepWeights?.join(' -> ')} -> 100 every ${canary.spec.analysis.interval}; request-success-rate >= 99%, request-duration p99 <= 500ms`);

    const state: FollowState = { seen: new Map(), previousRevision: undefined };
    const first = await follow(kc, state, opts, say, stamp);
    if (first !== 'Succeeded') {
      say(`demo FAILED: the healthy canary ended ${first}, expected Succeeded`);
      return 1;
    }
    say(`${stamp()} promoted: backend-v2 holds all the traffic`);

    say(`${stamp()} releasing backend-v3, which answers every request with 503`);
    await createAll(kc, [echoDeployment('v3', { replicas: 2, statusCode: 503, text: 'backend v3 is broken' }), service('backend-v3', { app: 'backend', version: 'v3' })]);
    // The user's release edit: the route now lists v2 (stable) and v3 (new, weight 0); the Canary names the new pair.
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.patchNamespacedCustomObject(
      {
        group: 'gateway.networking.k8s.io',
        version: 'v1',
        namespace: NS,
        plural: 'httproutes',
        name: 'backend-split',
        body: [
          { op: 'test', path: '/spec/rules/0/backendRefs/0/name', value: 'backend-v1' },
          { op: 'replace', path: '/spec/rules/0/backendRefs/0', value: { group: '', kind: 'Service', name: 'backend-v3', port: 80, weight: 0 } },
        ],
      },
      callOptions(opts.signal, { 'Content-Type': CONTENT_TYPE.jsonPatch }),
    );
    await custom.patchNamespacedCustomObject(
      {
        group: 'routeshift.io',
        version: 'v1alpha1',
        namespace: NS,
        plural: 'canaries',
        name: 'backend',
        body: { spec: { stable: { name: 'backend-v2', port: 80 }, canary: { name: 'backend-v3', port: 80 } } },
      },
      callOptions(opts.signal, { 'Content-Type': CONTENT_TYPE.mergePatch }),
    );
    say(`${stamp()} Canary now rolls out backend-v3 against stable backend-v2`);
    const second = await follow(kc, state, opts, say, stamp);
    if (second !== 'Failed') {
      say(`demo FAILED: the broken canary ended ${second}, expected Failed (rolled back)`);
      return 1;
    }
    say(`${stamp()} rolled back: backend-v2 holds all the traffic again`);

    const third = await releaseFromWorkload(kc, state, opts, say, stamp);
    if (third !== 'Succeeded') {
      say(`demo FAILED: the image-change release of backend-v3 ended ${third}, expected Succeeded`);
      return 1;
    }
    say(`demo passed in ${((Date.now() - started) / 1000).toFixed(0)}s: backend-v2 promoted, backend-v3 rolled back, then its new template released from the Deployment and live`);
    return 0;
  } catch (err) {
    say(`demo FAILED: ${errorMessage(err)}`);
    return 1;
  } finally {
    dashboardStop.abort();
    await stopController?.();
    await sandbox?.stop();
  }
}

/**
 * Issue 17: the Canary names the Deployment behind each Service, and the next release is a new pod
 * template on the idle slot's Deployment (what `kubectl set image` sends), with no Canary or route edit.
 */
async function releaseFromWorkload(kc: KubeConfig, state: FollowState, opts: DemoOptions, say: (l: string) => void, stamp: () => string): Promise<Phase | 'Timeout'> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const canaryRef = { group: 'routeshift.io', version: 'v1alpha1', namespace: NS, plural: 'canaries', name: 'backend' };
  await custom.patchNamespacedCustomObject(
    { ...canaryRef, body: { spec: { workloads: { stable: { name: 'backend-v2' }, canary: { name: 'backend-v3' } } } } },
    callOptions(opts.signal, { 'Content-Type': CONTENT_TYPE.mergePatch }),
  );
  say(`${stamp()} Canary now names the Deployment behind each Service (spec.workloads): backend-v2 is the live slot, backend-v3 the idle one`);
  // Adopted: what the idle slot runs now (the rolled-back template) is remembered and starts nothing.
  const deadline = Date.now() + (opts.stageTimeoutMs ?? 120_000);
  let adopted: Canary | undefined;
  while (!adopted?.status?.workloads && Date.now() < deadline) {
    await systemClock.sleep(300, opts.signal);
    adopted = (await custom.getNamespacedCustomObject(canaryRef, callOptions(opts.signal))) as Canary;
  }
  state.previousRevision = adopted?.status?.revision;
  const image = 'hashicorp/http-echo:1.0.1';
  await apps.patchNamespacedDeployment(
    {
      namespace: NS,
      name: 'backend-v3',
      body: { spec: { template: { spec: { containers: [{ name: 'echo', image, args: ['-text=hello from backend v3, fixed'] }] } } } },
    },
    callOptions(opts.signal, { 'Content-Type': 'application/strategic-merge-patch+json' }),
  );
  say(`${stamp()} released a fixed backend-v3 by changing only its Deployment (as kubectl set image does): image ${image}, no -status-code=503`);
  const phase = await follow(kc, state, opts, say, stamp);
  if (phase !== 'Succeeded') return phase;
  while (Date.now() < deadline) {
    const c = (await custom.getNamespacedCustomObject(canaryRef, callOptions(opts.signal))) as Canary;
    if (c.status?.workloads?.live === 'backend-v3') {
      say(`${stamp()} slots swapped in status: backend-v3 is live, backend-v2 is idle and receives the next release (spec unchanged: stable is still ${c.spec.stable.name})`);
      return phase;
    }
    await systemClock.sleep(300, opts.signal);
  }
  return 'Timeout';
}

interface FollowState {
  seen: Map<string, number>;
  previousRevision: string | undefined;
}

/**
 * Prints Events on the Canary as they come, and the route's weights with the mesh's measured split,
 * until the rollout ends. Returns the final phase (or 'Timeout').
 */
async function follow(kc: KubeConfig, state: FollowState, opts: DemoOptions, say: (l: string) => void, stamp: () => string): Promise<Phase | 'Timeout'> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const seen = state.seen;
  const deadline = Date.now() + (opts.stageTimeoutMs ?? 120_000);
  let lastWeight = -1;
  while (Date.now() < deadline) {
    const events = await core.listNamespacedEvent({ namespace: NS, fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=backend' }, callOptions(opts.signal));
    const fresh = events.items
      .filter((e) => (seen.get(e.metadata?.name ?? '') ?? 0) < (e.count ?? 1))
      .sort((a, b) => Number(a.metadata?.resourceVersion ?? 0) - Number(b.metadata?.resourceVersion ?? 0));
    // Oriented: with spec.workloads, stable is whichever slot is live now.
    const c = orient((await custom.getNamespacedCustomObject({ group: 'routeshift.io', version: 'v1alpha1', namespace: NS, plural: 'canaries', name: 'backend' }, callOptions(opts.signal))) as Canary);
    for (const e of fresh) {
      seen.set(e.metadata?.name ?? '', e.count ?? 1);
      const count = (e.count ?? 1) > 1 ? ` (x${e.count})` : '';
      say(`${stamp()} ${(e.reason ?? '').padEnd(16)} ${e.message}${count}`);
    }
    const weight = c.status?.canaryWeight ?? -1;
    if (weight !== lastWeight && weight >= 0 && c.status?.revision !== state.previousRevision) {
      lastWeight = weight;
      say(`${stamp()}   route backend-split: ${c.spec.stable.name}=${100 - weight} ${c.spec.canary.name}=${weight}`);
    }
    const phase = c.status?.phase;
    // Ended means: this rollout (not the previous one) reached its end, and its last Event is printed.
    const ended = c.status?.revision !== undefined && c.status.revision !== state.previousRevision && c.status.lastCompletedRevision === c.status.revision && !c.status.pendingEvent;
    if ((phase === 'Succeeded' || phase === 'Failed' || phase === 'TimedOut') && ended && fresh.length === 0) {
      state.previousRevision = c.status?.revision;
      return phase;
    }
    if (phase === 'Invalid') return phase;
    await systemClock.sleep(500, opts.signal);
  }
  return 'Timeout';
}
