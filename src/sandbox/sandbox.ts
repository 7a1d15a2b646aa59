import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { fromRoot } from '../core/paths.js';
import { errorMessage } from '../core/errors.js';
import { startApiServer, type ApiServer } from './apiserver/index.js';
import { startMesh, type Mesh } from './mesh/index.js';
import { startWorkloads, type Workloads } from './workloads/index.js';
import { startPodAgent } from './workloads/pod-agent.js';
import { startRealApi } from './controlplane/real-api.js';
import type { EndpointResolver } from './mesh/mesh-config.js';
import { startLoad, type Load, type LoadOptions } from './load/index.js';
import { startPrometheus, type PrometheusServer } from './prometheus.js';

export interface SandboxOptions {
  logger: Logger;
  /** Where the kubeconfig (and state, with `persist`) go. Default .routeshift/sandbox */
  dir?: string;
  kubeconfigPath?: string;
  /** Keep the API server's objects in a file so a restart of the sandbox keeps them. */
  persist?: boolean;
  apiPort?: number;
  meshPort?: number;
  prometheusPort?: number;
  /** Total requests per second of the built-in load; 0 disables it. Default 20. */
  rps?: number;
  /** A/B users for the built-in load: a header mix and simulated users with cookie jars (startLoad). */
  loadUsers?: Pick<LoadOptions, 'mix' | 'users'>;
  /** Prometheus scrape interval. Default 1s. */
  scrapeIntervalMs?: number;
  /** Delay before the mesh applies (and reports) a route change. */
  meshDelayMs?: number;
  /**
   * `embedded` (default): the sandbox's own API server, no dependency. `real`: etcd, kube-apiserver
   * and kube-controller-manager built from their Go modules (scripts/controlplane/build.sh), with
   * the sandbox's pod agent as the node.
   */
  kubernetes?: SandboxKubernetes;
}

export type SandboxKubernetes = 'embedded' | 'real';

export interface Sandbox {
  api: ApiServer;
  prometheus: PrometheusServer;
  mesh: Mesh;
  workloads: Workloads;
  load: Load | undefined;
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  kubernetes: SandboxKubernetes;
  /**
   * Writes a kubeconfig for a controller replica named `user`. On the real control plane it holds
   * a token of deploy/base's ServiceAccount, so RBAC is checked as in a cluster.
   */
  writeControllerKubeconfig(path: string, user: string): Promise<void>;
  /**
   * Adds a controller's /metrics (host:port) to what Prometheus scrapes, as job "routeshift", and waits
   * until it is up, so the Grafana dashboard and `routeshift dashboard` have its series.
   */
  scrapeController(address: string): Promise<void>;
  stop(): Promise<void>;
}

/** The CRDs a GAMMA cluster has, plus routeshift's own. */
export function sandboxCrdFiles(): string[] {
  return [
    fromRoot('src/sandbox/crds/gateway-api-v1.4.1-standard-crds.yaml'),
    fromRoot('src/sandbox/crds/istio-destinationrule-crd.yaml'),
    fromRoot('deploy/crds/canary.yaml'),
    fromRoot('deploy/crds/metrictemplate.yaml'),
  ];
}

/**
 * Starts everything the seed walkthrough needs, on loopback: API server, workloads for http-echo
 * Deployments, the mesh (routing by HTTPRoute weights, Istio metrics, route status), a real
 * Prometheus scraping the mesh, and steady load. Each part stops in reverse order; a part that
 * fails to start stops the ones already running.
 */
export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  const dir = resolve(opts.dir ?? '.routeshift/sandbox');
  mkdirSync(dir, { recursive: true });
  const kubeconfigPath = resolve(opts.kubeconfigPath ?? join(dir, 'kubeconfig'));
  // A --kubeconfig outside `dir` may name a directory that does not exist yet (kubectl creates it too).
  mkdirSync(dirname(kubeconfigPath), { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        opts.logger.warn({ err: errorMessage(err) }, 'stopping a sandbox part failed');
      }
    }
    stops.length = 0;
  };
  try {
    const kubernetes = opts.kubernetes ?? 'embedded';
    const backend = kubernetes === 'real' ? await startRealBackend(dir, opts) : await startEmbeddedBackend(dir, opts);
    const api = backend.api;
    stops.push(() => backend.stop());
    await api.writeKubeconfig(kubeconfigPath);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    const workloads = backend.workloads;
    const mesh = await startMesh({
      kubeConfig: backend.partsKubeConfig ?? kubeConfig,
      ...(backend.resolveEndpoint ? { resolveEndpoint: backend.resolveEndpoint } : {}),
      logger: opts.logger,
      ...(opts.meshPort ? { port: opts.meshPort } : {}),
      ...(opts.meshDelayMs ? { statusDelayMs: opts.meshDelayMs } : {}),
    });
    stops.push(() => mesh.stop());
    const metricsAddr = new URL(mesh.metricsUrl);
    const meshTarget = { job: 'mesh', address: metricsAddr.host, metricsPath: metricsAddr.pathname };
    const prometheus = await startPrometheus({
      ...(opts.prometheusPort ? { port: opts.prometheusPort } : {}),
      scrapeIntervalMs: opts.scrapeIntervalMs ?? 1000,
      targets: [meshTarget],
      logger: opts.logger.child({ component: 'sandbox-prometheus' }),
    });
    stops.push(() => prometheus.stop());
    await prometheus.waitForTarget('mesh');
    const rps = opts.rps ?? 20;
    const load = rps > 0 ? await startLoad({ kubeConfig: backend.partsKubeConfig ?? kubeConfig, meshUrl: mesh.url, rps, logger: opts.logger, ...opts.loadUsers }) : undefined;
    if (load) stops.push(() => load.stop());
    return {
      api,
      prometheus,
      mesh,
      workloads,
      load,
      kubeConfig,
      kubeconfigPath,
      kubernetes,
      writeControllerKubeconfig: backend.writeControllerKubeconfig,
      scrapeController: async (address) => {
        await prometheus.setTargets([meshTarget, { job: 'routeshift', address }]);
        await prometheus.waitForTarget('routeshift');
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface Backend {
  api: ApiServer;
  workloads: Workloads;
  /** For the mesh and load: straight to the API server, past injected faults. */
  partsKubeConfig?: KubeConfig;
  resolveEndpoint?: EndpointResolver;
  writeControllerKubeconfig(path: string, user: string): Promise<void>;
  stop(): Promise<void>;
}

async function startEmbeddedBackend(dir: string, opts: SandboxOptions): Promise<Backend> {
  const api = await startApiServer({
    crdFiles: sandboxCrdFiles(),
    ...(opts.apiPort ? { port: opts.apiPort } : {}),
    ...(opts.persist ? { dataFile: join(dir, 'state.json') } : {}),
    logger: opts.logger.child({ component: 'sandbox-apiserver' }),
  });
  try {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(api.kubeconfig());
    const workloads = await startWorkloads({ kubeConfig, logger: opts.logger });
    return {
      api,
      workloads,
      writeControllerKubeconfig: (path, user) => api.writeKubeconfig(path, { user }),
      stop: async () => {
        await workloads.stop();
        await api.stop();
      },
    };
  } catch (err) {
    await api.stop();
    throw err;
  }
}

async function startRealBackend(dir: string, opts: SandboxOptions): Promise<Backend> {
  const api = await startRealApi({ dir, logger: opts.logger.child({ component: 'sandbox-controlplane' }), crdFiles: sandboxCrdFiles() });
  try {
    const agent = await startPodAgent({ kubeConfig: api.directKubeConfig, logger: opts.logger });
    return {
      api,
      workloads: agent,
      partsKubeConfig: api.directKubeConfig,
      resolveEndpoint: agent.resolveEndpoint,
      writeControllerKubeconfig: (path, user) => api.writeControllerKubeconfig(path, user),
      stop: async () => {
        await agent.stop();
        await api.stop();
      },
    };
  } catch (err) {
    await api.stop();
    throw err;
  }
}
