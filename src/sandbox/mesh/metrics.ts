import { Counter, Histogram, Registry } from 'prom-client';
import { serviceFqdn } from './host.js';
import type { ResponseFlag, ServiceRef, WorkloadIdentity } from './mesh-config.js';

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const ISTIO_DURATION_BUCKETS_MS = [
  1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

const LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_workload',
  'destination_workload_namespace',
  'destination_app',
  'destination_version',
  'destination_canonical_service',
  'request_protocol',
  'response_code',
  'response_flags',
  'connection_security_policy',
] as const;
type Label = (typeof LABELS)[number];

export interface RequestRecord {
  source: { workload: string; namespace: string };
  /** The Service the request was routed to (a backendRef), or the addressed Service when none was chosen. */
  destination: ServiceRef | undefined;
  /** Set when a workload answered; absent for proxy-generated answers (NR, UH, NC, UF). */
  workload: WorkloadIdentity | undefined;
  responseCode: number;
  flag: ResponseFlag;
  durationMs: number;
  /**
   * A copy sent by a RequestMirror filter. Envoy sends shadow requests from the router, past the
   * client sidecar's stats filter, so Istio records them only at the mirror workload's sidecar
   * (reporter="destination"; istio/istio#23496); the sandbox does the same.
   */
  mirrored?: boolean;
}

const UNKNOWN = 'unknown';

/**
 * Istio's standard metrics, on a private Registry so several meshes (and tests) can share a process.
 * Every request gives a `reporter="source"` sample (the client sidecar's view, including answers the
 * proxy made up itself); requests a workload answered also give a `reporter="destination"` sample,
 * as the server sidecar would. Both carry the backend Service as destination_service_name.
 * Mirrored copies give only the destination sample (see RequestRecord.mirrored).
 */
export class MeshMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<Label>;
  private readonly duration: Histogram<Label>;

  constructor() {
    this.requests = new Counter({
      name: 'istio_requests_total',
      help: 'Requests processed by the sandbox mesh proxy',
      labelNames: LABELS,
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'istio_request_duration_milliseconds',
      help: 'Request duration in milliseconds',
      labelNames: LABELS,
      buckets: ISTIO_DURATION_BUCKETS_MS,
      registers: [this.registry],
    });
  }

  record(r: RequestRecord): void {
    const base = labelsFor(r);
    if (!r.mirrored) {
      this.requests.inc({ ...base, reporter: 'source' });
      this.duration.observe({ ...base, reporter: 'source' }, r.durationMs);
    }
    if (r.workload) {
      this.requests.inc({ ...base, reporter: 'destination' });
      this.duration.observe({ ...base, reporter: 'destination' }, r.durationMs);
    }
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export function labelsFor(r: RequestRecord): Record<Exclude<Label, 'reporter'>, string> {
  const dest = r.destination;
  const wl = r.workload;
  return {
    source_workload: r.source.workload,
    source_workload_namespace: r.source.namespace,
    destination_service: dest ? serviceFqdn(dest.name, dest.namespace) : UNKNOWN,
    destination_service_name: dest?.name ?? UNKNOWN,
    destination_service_namespace: dest?.namespace ?? UNKNOWN,
    destination_workload: wl?.name ?? UNKNOWN,
    destination_workload_namespace: wl?.namespace ?? UNKNOWN,
    destination_app: wl?.app ?? UNKNOWN,
    destination_version: wl?.version ?? UNKNOWN,
    destination_canonical_service: wl ? (wl.app !== UNKNOWN ? wl.app : wl.name) : UNKNOWN,
    request_protocol: 'http',
    response_code: String(r.responseCode),
    response_flags: r.flag,
    connection_security_policy: wl ? 'mutual_tls' : UNKNOWN,
  };
}
