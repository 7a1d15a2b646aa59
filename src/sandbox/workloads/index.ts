import { setMaxListeners } from 'node:events';
import { sharedAbortController } from '../../core/abort.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import { httpKubeRest, isConflict, isNotFound, list, MERGE_PATCH, type KubeRest } from '../mesh/kube/rest.js';
import { ResourceCache } from '../mesh/kube/resource-cache.js';
import type { Deployment, EndpointSlice, Service } from '../mesh/kube/types.js';
import { deploymentStatusEqual, desiredDeploymentStatus } from './deployment-status.js';
import { EchoServer } from './echo-server.js';
import { desiredSlices, diffSlices, MANAGED_BY, MANAGED_BY_LABEL, type RunningWorkload } from './endpoint-slices.js';
import { echoWorkload, type EchoWorkload } from './workload-spec.js';
import { SerialLoop } from './serial-loop.js';

export { WORKLOAD_HEADER, WORKLOAD_NAMESPACE_HEADER, REPLICA_HEADER } from './echo-server.js';
export { ERROR_RATE_ANNOTATION, LATENCY_ANNOTATION } from './faults.js';

export interface WorkloadsOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Aborting it stops the workloads (as stop() does). */
  signal?: AbortSignal;
  /** Random source for fault injection; default Math.random. */
  random?: () => number;
}

export interface Workloads {
  /** Resolves when no reconcile is running or queued (everything observed so far is applied). */
  idle(): Promise<void>;
  /** Local ports of a Deployment's replicas (empty if it runs none). */
  ports(namespace: string, deployment: string): number[];
  stop(): Promise<void>;
}

const SLICES = '/apis/discovery.k8s.io/v1';
const slicesPath = (ns: string): string => `${SLICES}/namespaces/${encodeURIComponent(ns)}/endpointslices`;
const slicePath = (ns: string, name: string): string => `${slicesPath(ns)}/${encodeURIComponent(name)}`;
const deploymentStatusPath = (ns: string, name: string): string =>
  `/apis/apps/v1/namespaces/${encodeURIComponent(ns)}/deployments/${encodeURIComponent(name)}/status`;
const key = (ns: string, name: string): string => `${ns}/${name}`;

/**
 * Runs every Deployment whose container is hashicorp/http-echo as in-process loopback servers,
 * and plays the endpoint and Deployment controllers for them: EndpointSlices for the Services that
 * select the pods, and Deployment status.
 */
export async function startWorkloads(opts: WorkloadsOptions): Promise<Workloads> {
  const controller = new WorkloadController(opts);
  await controller.start();
  return controller;
}

class WorkloadController implements Workloads {
  private readonly logger: Logger;
  private readonly rest: KubeRest;
  private readonly deployments: ResourceCache<Deployment>;
  private readonly services: ResourceCache<Service>;
  private readonly running = new Map<string, EchoServer[]>();
  /** Slices this controller wrote (or found from an earlier run), as last written. */
  private readonly managed = new Map<string, EndpointSlice>();
  private readonly loggedProblems = new Map<string, string>();
  private readonly abort = sharedAbortController();
  private readonly loop: SerialLoop;
  private stopped = false;

  constructor(private readonly opts: WorkloadsOptions) {
    this.logger = opts.logger.child({ component: 'sandbox-workloads' });
    this.rest = httpKubeRest(opts.kubeConfig);
    this.deployments = new ResourceCache(opts.kubeConfig, this.rest, '/apis/apps/v1/deployments', this.logger);
    this.services = new ResourceCache(opts.kubeConfig, this.rest, '/api/v1/services', this.logger);
    this.loop = new SerialLoop(() => this.reconcile(), this.logger, 'workload reconcile', 1000);
  }

  async start(): Promise<void> {
    const signal = this.opts.signal;
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    // Slices left by an earlier run are ours to update or delete.
    for (;;) {
      try {
        const existing = await list<EndpointSlice>(this.rest, `${SLICES}/endpointslices`, signal, `${MANAGED_BY_LABEL}=${MANAGED_BY}`);
        for (const s of existing.items) {
          if (s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) this.managed.set(key(s.metadata.namespace ?? 'default', s.metadata.name), s);
        }
        break;
      } catch (err) {
        if (signal?.aborted) throw err;
        this.logger.debug({ err: errorMessage(err) }, 'listing EndpointSlices failed; retrying');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    await Promise.all([this.deployments.start(signal), this.services.start(signal)]);
    this.deployments.onChange(() => this.loop.trigger());
    this.services.onChange(() => this.loop.trigger());
    this.loop.trigger();
    await this.idle();
  }

  ports(namespace: string, deployment: string): number[] {
    return (this.running.get(key(namespace, deployment)) ?? []).map((s) => s.port);
  }

  idle(): Promise<void> {
    return this.loop.idle();
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.idle();
    this.stopped = true;
    await Promise.all([this.deployments.stop(), this.services.stop()]);
    await this.loop.stop();
    // Pods are gone: take their endpoints out (best effort, the API server may already be down).
    const deadline = AbortSignal.timeout(2000);
    setMaxListeners(0, deadline); // one deadline for every slice deletion at once
    await Promise.all(
      [...this.managed.values()].map((s) =>
        this.rest
          .request('DELETE', slicePath(s.metadata.namespace ?? 'default', s.metadata.name), { signal: deadline })
          .catch(() => undefined),
      ),
    );
    this.abort.abort();
    await Promise.all([...this.running.values()].flat().map((s) => s.stop()));
    this.running.clear();
  }

  private async reconcile(): Promise<void> {
    const signal = this.abort.signal;
    const wanted = new Map<string, { d: Deployment; wl: EchoWorkload }>();
    for (const d of this.deployments.list()) {
      const wl = echoWorkload(d);
      if (wl) wanted.set(key(wl.namespace, wl.name), { d, wl });
    }

    // 1. Start missing replicas and apply config changes live; extra replicas stop after their slices go.
    const retiring: EchoServer[] = [];
    for (const [k, { wl }] of wanted) {
      this.logProblems(k, wl);
      const servers = this.running.get(k) ?? [];
      this.running.set(k, servers);
      while (servers.length < wl.replicas) {
        const server = new EchoServer({ deployment: wl.name, namespace: wl.namespace, replica: servers.length }, wl.config, this.opts.random);
        await server.start();
        servers.push(server);
        this.logger.debug({ deployment: k, replica: server.identity.replica, port: server.port }, 'replica started');
      }
      retiring.push(...servers.splice(wl.replicas));
      for (const s of servers) s.configure(wl.config);
    }
    for (const [k, servers] of this.running) {
      if (!wanted.has(k)) {
        retiring.push(...servers);
        this.running.delete(k);
      }
    }

    // 2. Endpoints, as the endpoint controller writes them.
    const workloads: RunningWorkload[] = [...wanted.entries()].map(([k, { wl }]) => ({
      name: wl.name,
      namespace: wl.namespace,
      labels: wl.labels,
      ports: (this.running.get(k) ?? []).map((s) => s.port),
    }));
    const diff = diffSlices([...this.managed.values()], desiredSlices(this.services.list(), workloads));
    for (const s of [...diff.create, ...diff.update]) await this.writeSlice(s, signal);
    for (const s of diff.delete) {
      const ns = s.metadata.namespace ?? 'default';
      try {
        await this.rest.request('DELETE', slicePath(ns, s.metadata.name), { signal });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.managed.delete(key(ns, s.metadata.name));
    }
    await Promise.all(retiring.map((s) => s.stop()));

    // 3. Deployment status, as the Deployment controller reports it.
    const now = new Date().toISOString();
    for (const [k, { d, wl }] of wanted) {
      const ready = this.running.get(k)?.length ?? 0;
      const status = desiredDeploymentStatus(d, wl.replicas, ready, now);
      if (deploymentStatusEqual(d.status, status)) continue;
      try {
        await this.rest.request('PATCH', deploymentStatusPath(wl.namespace, wl.name), {
          body: { status },
          contentType: MERGE_PATCH,
          signal,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async writeSlice(s: EndpointSlice, signal: AbortSignal): Promise<void> {
    const ns = s.metadata.namespace ?? 'default';
    const k = key(ns, s.metadata.name);
    const patch = { metadata: { labels: s.metadata.labels }, endpoints: s.endpoints, ports: s.ports };
    if (this.managed.has(k)) {
      try {
        await this.rest.request('PATCH', slicePath(ns, s.metadata.name), { body: patch, contentType: MERGE_PATCH, signal });
        this.managed.set(k, s);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    try {
      await this.rest.request('POST', slicesPath(ns), { body: s, signal });
    } catch (err) {
      if (!isConflict(err)) throw err;
      await this.rest.request('PATCH', slicePath(ns, s.metadata.name), { body: patch, contentType: MERGE_PATCH, signal });
    }
    this.managed.set(k, s);
  }

  private logProblems(k: string, wl: EchoWorkload): void {
    const text = wl.problems.join('; ');
    if (this.loggedProblems.get(k) === text) return;
    this.loggedProblems.set(k, text);
    if (text) this.logger.warn({ deployment: k, problems: wl.problems }, 'deployment settings ignored');
  }
}
