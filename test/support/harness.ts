/**
 * Shared end-to-end harness: a sandbox per test file, the controller as a real child process (so it
 * can be SIGKILLed), and readers for Canaries, Events and route weights. Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { Canary } from '../../src/api/canary.js';
import { silentLogger } from '../../src/core/logger.js';
import { fromRoot } from '../../src/core/paths.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox.js';
import { NS } from '../../src/sandbox/seed.js';

export { createAll } from '../../src/sandbox/demo.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function newSandbox(opts: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({ logger: silentLogger(), dir: `/tmp/routeshift-e2e-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, rps: 40, ...opts });
}

export interface ControllerProcess {
  child: ChildProcess;
  /** stdout lines (JSON logs) seen so far. */
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `routeshift controller` against the sandbox; extra args are appended (e.g. leader election flags). */
export function startController(sb: Sandbox, extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): ControllerProcess {
  const args = [fromRoot('dist/cli/main.js'), 'controller', '--kubeconfig', sb.kubeconfigPath, '--prometheus', sb.prometheus.url, '--log-level', 'info'];
  if (!extraArgs.includes('--leader-elect')) args.push('--no-leader-elect');
  if (!extraArgs.includes('--metrics-port')) args.push('--metrics-port', '0');
  // Webhook receivers in tests listen on loopback, which the outbound policy refuses by default.
  if (!extraArgs.includes('--allow-outbound')) args.push('--allow-outbound', '127.0.0.0/8,::1');
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

export async function waitForCanary(sb: Sandbox, name: string, pred: (c: Canary) => boolean, timeoutMs = 90_000, namespace = NS): Promise<Canary> {
  const end = Date.now() + timeoutMs;
  let last: Canary | undefined;
  while (Date.now() < end) {
    last = await getCanary(sb, name, namespace);
    // A transition is complete once its Event is written (status.pendingEvent cleared).
    if (pred(last) && !last.status?.pendingEvent) return last;
    await sleep(300);
  }
  throw new Error(`timed out waiting on Canary ${namespace}/${name}; last status: ${JSON.stringify(last?.status)}`);
}

export interface SeenEvent {
  reason: string;
  message: string;
  count: number;
  type: string;
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
    .map((e) => ({ reason: e.reason ?? '', message: e.message ?? '', count: e.count ?? 1, type: e.type ?? '' }));
}

/** backendRef name -> weight of rule 0 of an HTTPRoute. */
export async function routeWeights(sb: Sandbox, name = 'backend-split', namespace = NS): Promise<Record<string, number>> {
  const api = sb.kubeConfig.makeApiClient(CustomObjectsApi);
  const r = (await api.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'httproutes', name })) as {
    spec: { rules: Array<{ backendRefs: Array<{ name: string; weight: number }> }> };
  };
  return Object.fromEntries((r.spec.rules[0]?.backendRefs ?? []).map((b) => [b.name, b.weight]));
}
