import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/logger.js';
import { httpKubeRest, isConflict, isNotFound, MERGE_PATCH, type KubeRest } from '../mesh/kube/rest.js';
import { ResourceCache } from '../mesh/kube/resource-cache.js';
import type { Pod } from '../mesh/kube/types.js';
import type { EndpointResolver } from '../mesh/mesh-config.js';
import { EchoServer } from './echo-server.js';
import type { Workloads } from './index.js';
import { echoPod, type EchoPod } from './workload-spec.js';
import { PodIpPool } from './pod-ips.js';
import { SerialLoop } from './serial-loop.js';
import { runningPodStatus } from './pod-status.js';

export interface PodAgentOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  random?: () => number;
  /**
   * Each pod's echo server listens on the pod's own IP and container port (not a loopback port), so
   * a real proxy can dial EndpointSlice addresses. Only inside a network namespace whose loopback
   * carries the pod range (10.244.0.0/16): the addresses must be local. Default false.
   */
  bindPodIps?: boolean;
}

/** The pod agent's view for the mesh: pod IPs map to the loopback servers that play the pods. */
export interface PodWorkloads extends Workloads {
  resolveEndpoint: EndpointResolver;
}

/** The one node the agent plays; the EndpointSlice controller leaves out pods of unknown nodes. */
export const SANDBOX_NODE = 'routeshift-sandbox-node';

interface RunningPod {
  pod: EchoPod;
  ip: string;
  server: EchoServer;
}

/**
 * The node on a real control plane, where no kubelet runs: for every Pod of an http-echo
 * container it starts a loopback echo server and reports the Pod Running and Ready with an IP from
 * a pod range. kube-controller-manager does the rest as in a cluster (ReplicaSets, Deployment
 * status, EndpointSlices from the Pods), and the mesh maps the pod IPs back to the loopback ports.
 */
export async function startPodAgent(opts: PodAgentOptions): Promise<PodWorkloads> {
  const agent = new PodAgent(opts);
  await agent.start();
  return agent;
}

class PodAgent implements PodWorkloads {
  private readonly logger: Logger;
  private readonly rest: KubeRest;
  private readonly pods: ResourceCache<Pod>;
  private readonly running = new Map<string, RunningPod>();
  private readonly byIp = new Map<string, RunningPod>();
  private readonly ips = new PodIpPool();
  private readonly abort = new AbortController();
  private readonly loop: SerialLoop;
  private stopped = false;

  constructor(private readonly opts: PodAgentOptions) {
    this.logger = opts.logger.child({ component: 'sandbox-pod-agent' });
    this.rest = httpKubeRest(opts.kubeConfig);
    this.pods = new ResourceCache(opts.kubeConfig, this.rest, '/api/v1/pods', this.logger);
    this.loop = new SerialLoop(() => this.reconcile(), this.logger, 'pod agent reconcile', 500);
  }

  readonly resolveEndpoint: EndpointResolver = (address) => {
    const p = this.byIp.get(address);
    return p ? { address: this.opts.bindPodIps ? p.ip : '127.0.0.1', port: p.server.port, deployment: p.pod.deployment } : undefined;
  };

  async start(): Promise<void> {
    await this.registerNode();
    await this.pods.start(this.abort.signal);
    this.pods.onChange(() => this.loop.trigger());
    this.loop.trigger();
    await this.idle();
  }

  ports(namespace: string, deployment: string): number[] {
    return [...this.running.values()].filter((p) => p.pod.namespace === namespace && p.pod.deployment === deployment).map((p) => p.server.port);
  }

  idle(): Promise<void> {
    return this.loop.idle();
  }

  async stop(): Promise<void> {
    if (this.stopped) return this.idle();
    this.stopped = true;
    await this.pods.stop();
    await this.loop.stop();
    this.abort.abort();
    await Promise.all([...this.running.values()].map((p) => p.server.stop()));
    this.running.clear();
    this.byIp.clear();
  }

  private async reconcile(): Promise<void> {
    const seen = new Set<string>();
    for (const pod of this.pods.list()) {
      const ep = echoPod(pod);
      if (!ep) continue;
      if (pod.metadata.deletionTimestamp) {
        // As a kubelet does once the containers have stopped: the pod object can go now.
        await this.finishDeletion(pod);
        continue;
      }
      seen.add(ep.uid);
      if (!pod.spec?.nodeName) await this.bind(pod);
      let run = this.running.get(ep.uid);
      if (!run) run = await this.startPod(ep);
      else run.server.configure(ep.config);
      if (pod.status?.podIP !== run.ip || pod.status?.phase !== 'Running') await this.reportRunning(pod, run);
    }
    for (const [uid, run] of this.running) {
      if (seen.has(uid)) continue;
      this.running.delete(uid);
      this.byIp.delete(run.ip);
      this.ips.release(run.ip);
      await run.server.stop();
    }
  }

  private async startPod(ep: EchoPod): Promise<RunningPod> {
    const replica = this.ports(ep.namespace, ep.deployment).length;
    const ip = this.ips.take();
    const listen = this.opts.bindPodIps ? { host: ip, port: ep.containerPort } : undefined;
    const server = new EchoServer({ deployment: ep.deployment, namespace: ep.namespace, replica }, ep.config, this.opts.random, listen);
    try {
      await server.start();
    } catch (err) {
      this.ips.release(ip);
      throw err;
    }
    const run: RunningPod = { pod: ep, ip, server };
    this.running.set(ep.uid, run);
    this.byIp.set(run.ip, run);
    if (ep.problems.length > 0) this.logger.warn({ pod: `${ep.namespace}/${ep.name}`, problems: ep.problems }, 'pod settings ignored');
    return run;
  }

  private async registerNode(): Promise<void> {
    const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: SANDBOX_NODE, labels: { 'kubernetes.io/hostname': SANDBOX_NODE } } };
    try {
      await this.rest.request('POST', '/api/v1/nodes', { body: node, signal: this.abort.signal });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    const status = { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'the sandbox pod agent is ready' }] };
    await this.rest.request('PATCH', `/api/v1/nodes/${SANDBOX_NODE}/status`, { body: { status }, contentType: MERGE_PATCH, signal: this.abort.signal });
  }

  private podPath(pod: Pod, sub = ''): string {
    const ns = pod.metadata.namespace ?? 'default';
    return `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(pod.metadata.name)}${sub}`;
  }

  /** There is no scheduler: every pod lands on the agent's node. */
  private async bind(pod: Pod): Promise<void> {
    const body = { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod.metadata.name }, target: { apiVersion: 'v1', kind: 'Node', name: SANDBOX_NODE } };
    try {
      await this.rest.request('POST', this.podPath(pod, '/binding'), { body, signal: this.abort.signal });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  private async finishDeletion(pod: Pod): Promise<void> {
    const uid = pod.metadata.uid ?? '';
    const run = this.running.get(uid);
    if (run) {
      this.running.delete(uid);
      this.byIp.delete(run.ip);
      this.ips.release(run.ip);
      await run.server.stop();
    }
    try {
      await this.rest.request('DELETE', this.podPath(pod), { body: { gracePeriodSeconds: 0, preconditions: { uid } }, signal: this.abort.signal });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  private async reportRunning(pod: Pod, run: RunningPod): Promise<void> {
    const path = this.podPath(pod, '/status');
    try {
      await this.rest.request('PATCH', path, {
        body: { status: runningPodStatus(pod, run.ip, new Date().toISOString()) },
        contentType: MERGE_PATCH,
        signal: this.abort.signal,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
