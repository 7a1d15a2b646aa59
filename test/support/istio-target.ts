import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * A scrape target exposing Istio-style metrics (server side, reporter="destination") for a set of
 * Services, with traffic driven by a timer: every tick each Service gets `ok` 200s, `errors` 500s,
 * and one latency observation per request.
 */
export interface ServiceTraffic {
  service: string;
  namespace: string;
  ok: number;
  errors: number;
  latencyMs: number;
}

export interface IstioTarget {
  /** host:port */
  address: string;
  stop(): Promise<void>;
}

export const ISTIO_BUCKETS_MS = [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

export async function startIstioTarget(traffic: ServiceTraffic[], tickMs = 500): Promise<IstioTarget> {
  const registry = new Registry();
  const labelNames = ['reporter', 'destination_service_name', 'destination_service_namespace', 'destination_workload', 'destination_workload_namespace'] as const;
  const requests = new Counter({ name: 'istio_requests_total', help: 'requests', labelNames: [...labelNames, 'response_code'], registers: [registry] });
  const duration = new Histogram({
    name: 'istio_request_duration_milliseconds',
    help: 'request duration',
    labelNames: [...labelNames],
    buckets: ISTIO_BUCKETS_MS,
    registers: [registry],
  });
  const tick = (): void => {
    for (const t of traffic) {
      const labels = {
        reporter: 'destination',
        destination_service_name: t.service,
        destination_service_namespace: t.namespace,
        destination_workload: t.service,
        destination_workload_namespace: t.namespace,
      };
      // Both counters move in the same synchronous tick, so every scrape sees them in step.
      requests.inc({ ...labels, response_code: '200' }, t.ok);
      if (t.errors > 0) requests.inc({ ...labels, response_code: '500' }, t.errors);
      for (let i = 0; i < t.ok + t.errors; i++) duration.observe(labels, t.latencyMs);
    }
  };
  tick();
  const timer = setInterval(tick, tickMs);
  const server = http.createServer((req, res) => {
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
