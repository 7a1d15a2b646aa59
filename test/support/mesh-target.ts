import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import type { MeshProvider } from '../../src/api/canary.js';

/**
 * A scrape target exposing, for a set of Services, the request metrics each mesh reports (Istio,
 * Linkerd route metrics, Hubble, Kuma's Envoy stats, and app-style http_requests_total), with
 * traffic driven by a timer: every tick each Service gets `ok` 200s and `errors` 500s, each with
 * one latency observation of `latencyMs`. Label names follow /work/shared/reference notes §5.
 */
export interface ServiceTraffic {
  service: string;
  namespace: string;
  /** HTTPRoute name, for Linkerd's route metrics. */
  route: string;
  ok: number;
  errors: number;
  latencyMs: number;
}

export interface MeshTarget {
  /** host:port */
  address: string;
  stop(): Promise<void>;
}

const MS_BUCKETS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];
const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Family {
  requests: Counter<string>;
  /** Counter of 5xx only (Kuma), when the mesh has no status label on the total. */
  errors?: Counter<string>;
  duration: Histogram<string>;
  seconds: boolean;
  labels(t: ServiceTraffic): Record<string, string>;
  status(code: number): Record<string, string>;
}

export async function startMeshTarget(traffic: ServiceTraffic[], tickMs = 500): Promise<MeshTarget> {
  const registry = new Registry();
  const registers = [registry];
  const families: Record<MeshProvider, Family> = {
    istio: {
      requests: new Counter({
        name: 'istio_requests_total',
        help: 'istio',
        labelNames: ['reporter', 'destination_service_name', 'destination_service_namespace', 'destination_workload', 'destination_workload_namespace', 'response_code'],
        registers,
      }),
      duration: new Histogram({
        name: 'istio_request_duration_milliseconds',
        help: 'istio',
        labelNames: ['reporter', 'destination_service_name', 'destination_service_namespace', 'destination_workload', 'destination_workload_namespace'],
        buckets: MS_BUCKETS,
        registers,
      }),
      seconds: false,
      labels: (t) => ({
        reporter: 'destination',
        destination_service_name: t.service,
        destination_service_namespace: t.namespace,
        destination_workload: t.service,
        destination_workload_namespace: t.namespace,
      }),
      status: (code) => ({ response_code: String(code) }),
    },
    linkerd: {
      requests: new Counter({
        name: 'outbound_http_route_backend_response_statuses_total',
        help: 'linkerd',
        labelNames: ['parent_namespace', 'parent_name', 'route_name', 'route_namespace', 'backend_namespace', 'backend_name', 'http_status', 'error'],
        registers,
      }),
      duration: new Histogram({
        name: 'outbound_http_route_backend_response_duration_seconds',
        help: 'linkerd',
        labelNames: ['parent_namespace', 'parent_name', 'route_name', 'route_namespace', 'backend_namespace', 'backend_name'],
        buckets: SECONDS_BUCKETS,
        registers,
      }),
      seconds: true,
      labels: (t) => ({
        parent_namespace: t.namespace,
        parent_name: t.route,
        route_name: t.route,
        route_namespace: t.namespace,
        backend_namespace: t.namespace,
        backend_name: t.service,
      }),
      status: (code) => ({ http_status: String(code), error: '' }),
    },
    cilium: {
      requests: new Counter({
        name: 'hubble_http_requests_total',
        help: 'hubble',
        labelNames: ['destination_namespace', 'destination_workload', 'reporter', 'method', 'protocol', 'status'],
        registers,
      }),
      duration: new Histogram({
        name: 'hubble_http_request_duration_seconds',
        help: 'hubble',
        labelNames: ['destination_namespace', 'destination_workload', 'reporter', 'method'],
        buckets: SECONDS_BUCKETS,
        registers,
      }),
      seconds: true,
      labels: (t) => ({ destination_namespace: t.namespace, destination_workload: t.service, reporter: 'client', method: 'GET' }),
      status: (code) => ({ protocol: 'HTTP/1.1', status: String(code) }),
    },
    kuma: {
      requests: new Counter({
        name: 'envoy_http_downstream_rq_total',
        help: 'kuma',
        labelNames: ['namespace', 'kuma_workload', 'envoy_http_conn_manager_prefix'],
        registers,
      }),
      // Raw Envoy naming: no _total suffix on the per-class counter.
      errors: new Counter({
        name: 'envoy_http_downstream_rq_xx',
        help: 'kuma',
        labelNames: ['namespace', 'kuma_workload', 'envoy_http_conn_manager_prefix', 'envoy_response_code_class'],
        registers,
      }),
      duration: new Histogram({
        name: 'envoy_http_downstream_rq_time',
        help: 'kuma',
        labelNames: ['namespace', 'kuma_workload', 'envoy_http_conn_manager_prefix'],
        buckets: MS_BUCKETS,
        registers,
      }),
      seconds: false,
      labels: (t) => ({ namespace: t.namespace, kuma_workload: t.service, envoy_http_conn_manager_prefix: 'self_inbound_dp_http_8080' }),
      status: () => ({}),
    },
    traefik: {
      requests: new Counter({ name: 'traefik_service_requests_total', help: 'traefik', labelNames: ['service', 'code', 'method', 'protocol'], registers }),
      duration: new Histogram({
        name: 'traefik_service_request_duration_seconds',
        help: 'traefik',
        labelNames: ['service', 'code', 'method', 'protocol'],
        buckets: SECONDS_BUCKETS,
        registers,
      }),
      seconds: true,
      // Traefik v3.6's name for a Gateway API backendRef (as scraped in test/e2e/traefik-gateway.test.ts).
      labels: (t) => ({ service: `${t.namespace}-${t.service}-http-80@kubernetesgateway`, method: 'GET', protocol: 'http' }),
      status: (code) => ({ code: String(code) }),
    },
    app: {
      requests: new Counter({ name: 'http_requests_total', help: 'app', labelNames: ['namespace', 'service', 'status'], registers }),
      duration: new Histogram({
        name: 'http_request_duration_seconds',
        help: 'app',
        labelNames: ['namespace', 'service'],
        buckets: SECONDS_BUCKETS,
        registers,
      }),
      seconds: true,
      labels: (t) => ({ namespace: t.namespace, service: t.service }),
      status: (code) => ({ status: String(code) }),
    },
  };

  const tick = (): void => {
    for (const t of traffic) {
      for (const f of Object.values(families)) {
        const labels = f.labels(t);
        // All counters move in one synchronous tick, so every scrape sees them in step.
        if (f.errors) {
          f.requests.inc(labels, t.ok + t.errors);
          f.errors.inc({ ...labels, envoy_response_code_class: '2' }, t.ok);
          if (t.errors > 0) f.errors.inc({ ...labels, envoy_response_code_class: '5' }, t.errors);
        } else {
          f.requests.inc({ ...labels, ...f.status(200) }, t.ok);
          if (t.errors > 0) f.requests.inc({ ...labels, ...f.status(500) }, t.errors);
        }
        const latency = f.seconds ? t.latencyMs / 1000 : t.latencyMs;
        for (let i = 0; i < t.ok + t.errors; i++) f.duration.observe(labels, latency);
      }
    }
  };
  tick();
  const timer = setInterval(tick, tickMs);
  const server = http.createServer((_req, res) => {
    void registry.metrics().then((body) => {
      res.writeHead(200, { 'Content-Type': registry.contentType });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A pass-through HTTP proxy that records request headers (to see what a client really sent). */
export async function startRecordingProxy(upstream: string): Promise<{ url: string; headers: http.IncomingHttpHeaders[]; stop(): Promise<void> }> {
  const headers: http.IncomingHttpHeaders[] = [];
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    headers.push(req.headers);
    const out = http.request(
      { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    headers,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
