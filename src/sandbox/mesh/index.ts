import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/logger.js';
import { httpKubeRest, type KubeRest } from './kube/rest.js';
import { ResourceCache } from './kube/resource-cache.js';
import type { Deployment, EndpointSlice, HTTPRoute, Service } from './kube/types.js';
import { MeshConfig, roundRobinCounters, type EndpointResolver, type MeshSnapshot } from './mesh-config.js';
import { MeshMetrics } from './metrics.js';
import { createProxyHandler } from './proxy.js';
import { RouteStatusWriter } from './status-writer.js';
import { ConfigPropagation } from './config-propagation.js';
import { MirrorTracker } from './mirror.js';

export { BACKEND_HEADER, FLAGS_HEADER, SOURCE_WORKLOAD_HEADER, SOURCE_NAMESPACE_HEADER } from './proxy.js';
export { parseServiceHost, serviceHost, serviceFqdn } from './host.js';
export { MeshMetrics } from './metrics.js';

export const DEFAULT_CONTROLLER_NAME = 'istio.io/gateway-controller';

export interface MeshOptions {
  kubeConfig: KubeConfig;
  /** Address to bind both servers to; default 127.0.0.1. */
  host?: string;
  /** Proxy port; 0 (default) picks a free one. */
  port?: number;
  /** Metrics port; 0 (default) picks a free one. */
  metricsPort?: number;
  /** `status.parents[].controllerName` this mesh writes. */
  controllerName?: string;
  /** How long an API change takes to go live in the proxy (and then be reported in route status). */
  statusDelayMs?: number;
  logger: Logger;
  /** Aborting it stops waiting for the initial sync (startMesh then rejects). */
  signal?: AbortSignal;
  /** Random source for weighted picks; default Math.random. */
  random?: () => number;
  /** Maps endpoint addresses to the loopback servers behind them; default: loopback addresses only. */
  resolveEndpoint?: EndpointResolver;
}

export interface Mesh {
  /** Base URL of the proxy: send requests here with Host `<svc>.<ns>.svc.cluster.local`. */
  url: string;
  /**
   * Prometheus scrape URL, on its own port so no routed request path can shadow it
   * (`http://127.0.0.1:<metricsPort>/metrics`).
   */
  metricsUrl: string;
  metrics: MeshMetrics;
  /** Resolves when all pending route status writes for the live config are done. */
  statusIdle(): Promise<void>;
  /**
   * Resolves when no mirrored copy (RequestMirror filter) is in flight, so its metrics are recorded.
   * Copies start before the primary answer is sent: await this after the answers to count them all.
   */
  mirrorsIdle(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A sandbox GAMMA mesh: one HTTP proxy that all clients call, routing by HTTPRoutes whose parent is
 * a Service, recording Istio metrics, and reporting route status as a mesh controller does.
 */
export async function startMesh(opts: MeshOptions): Promise<Mesh> {
  const logger = opts.logger.child({ component: 'sandbox-mesh' });
  const controllerName = opts.controllerName ?? DEFAULT_CONTROLLER_NAME;
  const host = opts.host ?? '127.0.0.1';
  const rest: KubeRest = httpKubeRest(opts.kubeConfig);
  const caches = {
    services: new ResourceCache<Service>(opts.kubeConfig, rest, '/api/v1/services', logger),
    routes: new ResourceCache<HTTPRoute>(opts.kubeConfig, rest, '/apis/gateway.networking.k8s.io/v1/httproutes', logger),
    slices: new ResourceCache<EndpointSlice>(opts.kubeConfig, rest, '/apis/discovery.k8s.io/v1/endpointslices', logger),
    deployments: new ResourceCache<Deployment>(opts.kubeConfig, rest, '/apis/apps/v1/deployments', logger),
  };
  const all = Object.values(caches);

  let live: MeshConfig | undefined;
  const statusWriter = new RouteStatusWriter(rest, controllerName, (ns, name) => caches.routes.get(name, ns), logger);
  const capture = (): MeshSnapshot => ({
    services: caches.services.list(),
    routes: caches.routes.list(),
    endpointSlices: caches.slices.list(),
    deployments: caches.deployments.list(),
  });
  const apply = (snapshot: MeshSnapshot): void => {
    live = new MeshConfig(snapshot, opts.resolveEndpoint);
    statusWriter.sync(live);
  };
  const propagation = new ConfigPropagation(capture, apply, opts.statusDelayMs ?? 0);

  const metrics = new MeshMetrics();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const mirrors = new MirrorTracker();
  const proxy = http.createServer(
    createProxyHandler({
      config: () => live,
      pickers: { random: opts.random ?? Math.random, roundRobin: roundRobinCounters() },
      metrics,
      logger,
      agent,
      mirrors,
    }),
  );
  const metricsServer = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      metrics.text().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end(req.url === '/healthz' ? 'ok\n' : 'not found\n');
  });

  const stopAll = async (): Promise<void> => {
    propagation.stop();
    await Promise.all(all.map((c) => c.stop()));
    await statusWriter.stop();
    await Promise.all([closeServer(proxy), closeServer(metricsServer)]);
    agent.destroy();
  };

  try {
    await Promise.all(all.map((c) => c.start(opts.signal)));
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    // The initial state is not a change: it is live at once; later changes wait statusDelayMs.
    apply(capture());
    for (const c of all) c.onChange(() => propagation.changed());
    const port = await listen(proxy, host, opts.port ?? 0);
    const metricsPort = await listen(metricsServer, host, opts.metricsPort ?? 0);
    const url = `http://${host}:${port}`;
    logger.info({ url, metricsPort, controllerName }, 'sandbox mesh started');
    return {
      url,
      metricsUrl: `http://${host}:${metricsPort}/metrics`,
      metrics,
      statusIdle: () => statusWriter.idle(),
      mirrorsIdle: () => mirrors.idle(),
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
