import http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import { parseServiceHost } from './host.js';
import { applyHeaderFilters, forwardableHeaders, type HeaderMap } from './header-filters.js';
import type { MeshConfig, Pickers, ResponseFlag, RouteDecision, ServiceRef, WorkloadIdentity } from './mesh-config.js';
import type { MeshMetrics } from './metrics.js';
import { startMirror, type MirrorTracker } from './mirror.js';

/** Response header naming the Service that served (or failed) the request, for tests and the load generator. */
export const BACKEND_HEADER = 'x-routeshift-backend';
/** Response header with the Envoy-style response flag when the proxy answered itself. */
export const FLAGS_HEADER = 'x-routeshift-response-flags';
/**
 * Request header a client sets to name its workload, standing in for the mTLS identity a real
 * sidecar reads; it becomes source_workload and is not forwarded.
 */
export const SOURCE_WORKLOAD_HEADER = 'x-routeshift-source-workload';
export const SOURCE_NAMESPACE_HEADER = 'x-routeshift-source-namespace';

const LABEL_VALUE = /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/;

export interface ProxyDeps {
  /** The live routing table; undefined until the first snapshot is applied. */
  config(): MeshConfig | undefined;
  pickers: Pickers;
  metrics: MeshMetrics;
  logger: Logger;
  agent: http.Agent;
  /** Counts mirrored copies in flight; one per proxy. */
  mirrors: MirrorTracker;
}

function sourceOf(headers: http.IncomingHttpHeaders): { workload: string; namespace: string } {
  const w = headers[SOURCE_WORKLOAD_HEADER];
  const n = headers[SOURCE_NAMESPACE_HEADER];
  return {
    workload: typeof w === 'string' && LABEL_VALUE.test(w) ? w : 'unknown',
    namespace: typeof n === 'string' && LABEL_VALUE.test(n) ? n : 'unknown',
  };
}

/** The request handler of the mesh proxy: route by Host + HTTPRoutes, forward, stream back, record. */
export function createProxyHandler(deps: ProxyDeps): http.RequestListener {
  return (req, res) => {
    const started = performance.now();
    const source = sourceOf(req.headers);
    let recorded = false;
    const record = (code: number, flag: ResponseFlag, destination: ServiceRef | undefined, workload: WorkloadIdentity | undefined): void => {
      if (recorded) return;
      recorded = true;
      deps.metrics.record({ source, destination, workload, responseCode: code, flag, durationMs: performance.now() - started });
    };

    const addr = parseServiceHost(req.headers.host);
    const config = deps.config();
    if (!addr || !config) {
      req.resume();
      const status = config ? 404 : 503;
      res.writeHead(status, { 'content-type': 'text/plain', [FLAGS_HEADER]: 'NR' });
      res.end(config ? `host ${req.headers.host ?? ''} is not a Service address (<svc>.<ns>[.svc[.cluster.local]])\n` : 'mesh config not loaded\n');
      return;
    }

    const url = new URL(req.url ?? '/', 'http://mesh.invalid');
    const decision: RouteDecision = config.resolve(
      addr,
      { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers },
      deps.pickers,
    );

    if (decision.kind === 'reject') {
      req.resume();
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain', [FLAGS_HEADER]: decision.flag };
      if (decision.destination) headers[BACKEND_HEADER] = decision.destination.name;
      res.writeHead(decision.status, headers);
      res.end(`${decision.message}\n`);
      record(decision.status, decision.flag, decision.destination ?? { name: addr.name, namespace: addr.namespace }, undefined);
      return;
    }

    const { endpoint, destination } = decision;
    const outHeaders = applyHeaderFilters(forwardableHeaders(req.headers as HeaderMap), decision.requestFilters);
    delete outHeaders[SOURCE_WORKLOAD_HEADER];
    delete outHeaders[SOURCE_NAMESPACE_HEADER];
    // Copies carry the headers the primary gets (route-level mutations included), as Envoy's shadows do.
    const mirrors = decision.mirrors.map((target) =>
      startMirror({ agent: deps.agent, metrics: deps.metrics, tracker: deps.mirrors }, target, {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: outHeaders,
        source,
      }),
    );
    if (mirrors.length > 0) {
      req.on('data', (chunk: Buffer) => mirrors.forEach((m) => m.write(chunk)));
      req.on('end', () => mirrors.forEach((m) => m.end()));
      req.on('close', () => {
        if (!req.complete) mirrors.forEach((m) => m.destroy());
      });
    }
    const upstream = http.request({
      host: endpoint.address,
      port: endpoint.port,
      method: req.method,
      path: req.url,
      headers: outHeaders as http.OutgoingHttpHeaders,
      agent: deps.agent,
    });

    upstream.on('response', (up) => {
      const headers = applyHeaderFilters(forwardableHeaders(up.headers as HeaderMap), decision.responseFilters);
      headers[BACKEND_HEADER] = destination.name;
      res.writeHead(up.statusCode ?? 502, headers as http.OutgoingHttpHeaders);
      up.pipe(res);
      up.on('error', () => res.destroy());
      res.on('finish', () => record(up.statusCode ?? 502, '-', destination, endpoint.workload));
    });
    upstream.on('error', (err) => {
      deps.logger.debug({ backend: destination.name, port: endpoint.port, err: errorMessage(err) }, 'upstream failed');
      if (!res.headersSent) {
        res.writeHead(503, { 'content-type': 'text/plain', [BACKEND_HEADER]: destination.name, [FLAGS_HEADER]: 'UF' });
        res.end(`upstream connect error: ${errorMessage(err)}\n`);
        record(503, 'UF', destination, undefined);
      } else {
        res.destroy();
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) {
        upstream.destroy();
        record(0, 'DC', destination, undefined);
      }
    });
    req.pipe(upstream);
  };
}
