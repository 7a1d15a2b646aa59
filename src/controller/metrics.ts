import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PHASES, type Phase } from '../api/canary.js';

/**
 * routeshift's own /metrics. Label values are bounded: canary identity (one series set per Canary,
 * removed when it is deleted), metric names from specs, fixed enums for outcomes. Never a raw query,
 * URL or error message as a label.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  readonly phase = new Gauge({ name: 'routeshift_canary_phase', help: '1 for the phase the canary is in (the other phases have no series)', labelNames: ['namespace', 'name', 'phase'], registers: [this.registry] });
  readonly weight = new Gauge({ name: 'routeshift_canary_weight', help: 'Traffic weight (percent) held by the canary backendRef', labelNames: ['namespace', 'name'], registers: [this.registry] });
  readonly failedChecks = new Gauge({ name: 'routeshift_canary_failed_checks', help: 'Failed checks in the current rollout', labelNames: ['namespace', 'name'], registers: [this.registry] });
  readonly metricValue = new Gauge({ name: 'routeshift_canary_metric_value', help: 'Last measured value of each analysis metric', labelNames: ['namespace', 'name', 'metric'], registers: [this.registry] });
  readonly decisions = new Counter({ name: 'routeshift_decisions_total', help: 'Decisions by outcome', labelNames: ['action', 'reason'], registers: [this.registry] });
  readonly rolloutDuration = new Histogram({ name: 'routeshift_rollout_duration_seconds', help: 'Time from rollout start to its end', labelNames: ['outcome'], buckets: [60, 300, 600, 1200, 1800, 3600, 7200, 14400], registers: [this.registry] });
  readonly apiRequests = new Histogram({ name: 'routeshift_kube_request_duration_seconds', help: 'Kubernetes API calls', labelNames: ['verb', 'resource', 'outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly promRequests = new Histogram({ name: 'routeshift_prometheus_request_duration_seconds', help: 'Prometheus queries', labelNames: ['outcome'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly tickLateness = new Histogram({ name: 'routeshift_tick_lateness_seconds', help: 'How late a canary tick started against when it was due', buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10], registers: [this.registry] });
  readonly notifications = new Counter({ name: 'routeshift_notifications_total', help: 'Notifications sent, by provider and result', labelNames: ['provider', 'result'], registers: [this.registry] });
  readonly hookCalls = new Counter({ name: 'routeshift_webhook_calls_total', help: 'Webhook/gate calls by type and result', labelNames: ['type', 'result'], registers: [this.registry] });
  readonly info = new Gauge({ name: 'routeshift_canary_info', help: 'Always 1: which Services and route a canary works on (join on namespace, name)', labelNames: ['namespace', 'name', 'stable', 'canary', 'route'], registers: [this.registry] });
  private readonly infoLabels = new Map<string, { stable: string; canary: string; route: string }>();
  /** What setCanary last set per canary (namespace/name). */
  private readonly lastCanary = new Map<string, { phase: Phase | undefined; weight: number | undefined; failed: number }>();
  readonly liveWorkloadChanges = new Counter({ name: 'routeshift_live_workload_changes_total', help: 'Changes to the live slot\'s workload, which reach every client without analysis (spec.workloads)', labelNames: ['namespace', 'name'], registers: [this.registry] });
  readonly loadRequests = new Counter({ name: 'routeshift_load_requests_total', help: 'Requests sent by the native load source, by result (2xx..5xx, error: no answer)', labelNames: ['namespace', 'name', 'result'], registers: [this.registry] });
  readonly loadRate = new Gauge({ name: 'routeshift_load_rate', help: 'Requests per second the native load source sends for a canary now (0: none)', labelNames: ['namespace', 'name'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'routeshift_leader', help: '1 while this replica holds the lease', registers: [this.registry] });
  readonly shardsHeld = new Gauge({ name: 'routeshift_shards_held', help: 'Shard Leases this replica holds (sharding on)', registers: [this.registry] });
  readonly canariesOwned = new Gauge({ name: 'routeshift_canaries_owned', help: 'Canaries in the shards this replica holds (sharding on)', registers: [this.registry] });

  constructor(withDefaults = true) {
    if (withDefaults) collectDefaultMetrics({ register: this.registry });
  }

  setCanary(namespace: string, name: string, phase: Phase | undefined, weight: number | undefined, failed: number | undefined): void {
    // Set on every tick; labelled gauge writes are worth skipping when nothing moved.
    const k = `${namespace}/${name}`;
    const prior = this.lastCanary.get(k);
    if (prior && prior.phase === phase && prior.weight === weight && prior.failed === (failed ?? 0)) return;
    this.lastCanary.set(k, { phase, weight, failed: failed ?? 0 });
    // Only the phase the canary is in has a series: ten per canary, nine of them 0, were most of a
    // 3,000-canary scrape (3.8 MB) and of prom-client's memory.
    if (prior?.phase && prior.phase !== phase) this.phase.remove({ namespace, name, phase: prior.phase });
    if (phase) this.phase.set({ namespace, name, phase }, 1);
    if (weight !== undefined) this.weight.set({ namespace, name }, weight);
    this.failedChecks.set({ namespace, name }, failed ?? 0);
  }

  /** One series per canary; a changed pair replaces the old series rather than adding one. */
  setInfo(namespace: string, name: string, stable: string, canary: string, route: string): void {
    const k = `${namespace}/${name}`;
    const prior = this.infoLabels.get(k);
    if (prior && prior.stable === stable && prior.canary === canary && prior.route === route) return;
    if (prior) this.info.remove({ namespace, name, ...prior });
    this.infoLabels.set(k, { stable, canary, route });
    this.info.set({ namespace, name, stable, canary, route }, 1);
  }

  forgetCanary(namespace: string, name: string, metricNames: string[]): void {
    const prior = this.infoLabels.get(`${namespace}/${name}`);
    if (prior) this.info.remove({ namespace, name, ...prior });
    this.infoLabels.delete(`${namespace}/${name}`);
    this.lastCanary.delete(`${namespace}/${name}`);
    for (const p of PHASES) this.phase.remove({ namespace, name, phase: p });
    this.weight.remove({ namespace, name });
    this.failedChecks.remove({ namespace, name });
    this.liveWorkloadChanges.remove({ namespace, name });
    this.loadRate.remove({ namespace, name });
    for (const result of ['2xx', '3xx', '4xx', '5xx', 'error']) this.loadRequests.remove({ namespace, name, result });
    for (const metric of metricNames) this.metricValue.remove({ namespace, name, metric });
  }
}
