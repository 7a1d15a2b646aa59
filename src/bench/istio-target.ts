import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Prometheus scrape target exposing Istio's request metrics (reporter="destination") for many
 * Services at once, so a thousand canaries' queries return numbers without a thousand workloads.
 * Every Service serves `rps` requests a second, all 200 and all in the 25 ms bucket; the counters
 * are computed from elapsed time at scrape time (no per-request work), so the target costs one
 * string build per scrape. Label names and buckets are Istio's (see GATEWAY-API-NOTES §5).
 */

export const BENCH_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000];

export interface IstioTargetOptions {
  namespace: string;
  services: readonly string[];
  /** Requests per second per Service. Default 2. */
  rps?: number;
  /** Latency every request is given, in ms. Default 20. */
  latencyMs?: number;
  now?: () => number;
}

export interface IstioTarget {
  /** host:port */
  address: string;
  scrapes: number;
  stop(): Promise<void>;
}

/** The exposition text for the Services at `elapsedSec` after start. Exported for tests. */
export function istioExposition(o: IstioTargetOptions, elapsedSec: number): string {
  const rps = o.rps ?? 2;
  const latency = o.latencyMs ?? 20;
  const total = Math.floor(elapsedSec * rps);
  const parts: string[] = [
    '# HELP istio_requests_total requests\n# TYPE istio_requests_total counter\n',
  ];
  const lbl = (svc: string): string =>
    `reporter="destination",destination_service_name="${svc}",destination_service_namespace="${o.namespace}",destination_workload="${svc}",destination_workload_namespace="${o.namespace}"`;
  for (const svc of o.services) parts.push(`istio_requests_total{${lbl(svc)},response_code="200"} ${total}\n`);
  parts.push('# HELP istio_request_duration_milliseconds duration\n# TYPE istio_request_duration_milliseconds histogram\n');
  for (const svc of o.services) {
    const l = lbl(svc);
    for (const le of BENCH_BUCKETS_MS) parts.push(`istio_request_duration_milliseconds_bucket{${l},le="${le}"} ${le >= latency ? total : 0}\n`);
    parts.push(`istio_request_duration_milliseconds_bucket{${l},le="+Inf"} ${total}\n`);
    parts.push(`istio_request_duration_milliseconds_sum{${l}} ${total * latency}\n`);
    parts.push(`istio_request_duration_milliseconds_count{${l}} ${total}\n`);
  }
  return parts.join('');
}

export async function startIstioTarget(o: IstioTargetOptions): Promise<IstioTarget> {
  const now = o.now ?? Date.now;
  const started = now();
  const target = { address: '', scrapes: 0, stop: async () => {} };
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    target.scrapes++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(istioExposition(o, (now() - started) / 1000));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  target.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return target;
}
