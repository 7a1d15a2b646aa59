import { hostname } from 'node:os';
import { setMaxListeners } from 'node:events';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { CanarySpec } from '../api/canary.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { decide } from '../analysis/decide.js';
import { stepsOf } from '../analysis/steps.js';
import { createAnalysis } from './analysis.js';
import { Recorder } from '../events/recorder.js';
import { kubeEventSink } from '../events/kube-sink.js';
import { createHookRunner, createOutboundPolicy } from '../hooks/index.js';
import { withKeepAlive } from '../kube/keep-alive.js';
import { buildLoadSource } from './load-source.js';
import { KubeRouteClient } from '../routing/index.js';
import { advanceWindowMs, type ControllerConfig } from './config.js';
import { Controller, type ControllerOptions } from './controller.js';
import { kubeCanaryStore } from './canary-store.js';
import { buildGates } from './gates.js';
import { instrumentRoutes, instrumentSink, instrumentStore } from './instrument.js';
import { ControllerMetrics } from './metrics.js';
import { buildNotifications } from './notifications.js';
import { buildProviders } from './providers.js';
import { kubeGrantLister, referenceCheck } from './reference-grants.js';
import { WorkloadRelease } from './workload-release.js';
import { kubeWorkloadReader } from './workload-reader.js';
import { startReadiness } from './readiness.js';

export interface RuntimeOptions {
  config: ControllerConfig;
  logger: Logger;
  signal: AbortSignal;
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  identity?: string;
  clock?: Clock;
}

function loadKubeConfig(o: RuntimeOptions): KubeConfig {
  if (o.kubeConfig) return withKeepAlive(o.kubeConfig);
  const kc = new KubeConfig();
  if (o.kubeconfigPath) kc.loadFromFile(o.kubeconfigPath);
  else kc.loadFromDefault();
  return withKeepAlive(kc);
}

function leaderElection(config: ControllerConfig, identity: string): Pick<ControllerOptions, 'leaderElection' | 'sharding'> {
  const le = config.leaderElection;
  if (!le.enabled) return {};
  return {
    ...(config.sharding.shards > 0 ? { sharding: { shards: config.sharding.shards } } : {}),
    leaderElection: {
      namespace: le.namespace,
      name: le.name,
      identity,
      leaseDurationMs: parseDuration(le.leaseDuration),
      renewDeadlineMs: parseDuration(le.renewDeadline),
      retryPeriodMs: parseDuration(le.retryPeriod),
    },
  };
}

/**
 * The tick grid with query batching: at 1,000 canaries with a 10 s interval, 25 ticks fall due together
 * on each step, and their queries go as one request (docs/benchmarks.md).
 */
const TICK_GRID_MS = 250;

/**
 * Builds the controller from its configuration: Prometheus providers, templates, recorder, hooks and
 * gates, notifications, metrics and probes. Used by `routeshift controller` and in-process by the
 * sandbox, so both run the same code.
 */
export async function startControllerRuntime(o: RuntimeOptions): Promise<{ port: number; done: Promise<void>; controller: Controller }> {
  const { config, logger, signal } = o;
  const clock = o.clock ?? systemClock;
  const kc = loadKubeConfig(o);
  // One long-lived signal is shared by every in-flight request and sleep of every canary.
  setMaxListeners(0, signal);
  const metrics = new ControllerMetrics();
  const outbound = createOutboundPolicy(config.outbound);
  const providers = buildProviders(config, metrics, logger, outbound);
  const analysis = await createAnalysis({ provider: providers.measuring, config, logger, signal, providerFor: providers.providerFor });
  const recorder = new Recorder(instrumentSink(kubeEventSink(kc), metrics), logger, clock);
  const hooks = createHookRunner({ clock, logger, outbound, onCall: (r) => metrics.hookCalls.inc({ type: r.type, result: r.ok ? 'ok' : 'fail' }) });
  const identity = o.identity ?? `${hostname()}-${process.pid}`;
  const store = instrumentStore(kubeCanaryStore(kc), metrics);
  const workloads = new WorkloadRelease({ reader: kubeWorkloadReader(kc), store, recorder, clock, logger, metrics });
  // The load source asks the controller (built next) whether a rollout still analyses.
  const built: { controller?: Controller } = {};
  const load = buildLoadSource({ config, outbound, recorder, metrics, logger, clock, signal, canary: (ns, name) => (built.controller?.isLeader ? built.controller.canary(ns, name) : undefined) });
  const controller = new Controller({
    kubeConfig: kc,
    clock,
    logger,
    metrics,
    namespaces: config.watch.namespaces,
    ...(config.watch.labelSelector ? { labelSelector: config.watch.labelSelector } : {}),
    concurrency: config.concurrency,
    // With query batching, ticks are put on a grid so those due together share a request (rounded down, at most 250 ms early).
    ...(config.prometheus.batchWindow ? { tickGridMs: TICK_GRID_MS } : {}),
    templates: analysis.templates,
    store,
    ...leaderElection(config, identity),
    deps: {
      recorder,
      routes: instrumentRoutes(KubeRouteClient.fromKubeConfig(kc), metrics),
      validate: (c) => analysis.validate(c),
      measure: (c, s) => analysis.measure(c, s),
      // Controller-wide defaults fill what a Canary's metrics leave unset.
      decide: (input) => decide({ ...input, spec: withMetricDefaults(input.spec, config) }),
      stepsOf: (c) => stepsOf(c.spec.analysis),
      gates: buildGates(hooks, load),
      workloads,
      references: referenceCheck(kubeGrantLister(kc), config.references.crossNamespace),
      ...(config.route.controllerName ? { controllerName: config.route.controllerName } : {}),
      advanceWindowMs: advanceWindowMs(config.events.advanceWindow),
    },
  });
  built.controller = controller;
  const notifier = buildNotifications({ config, kubeConfig: kc, recorder, hooks, outbound, metrics, logger, clock, signal, canary: (ns, name) => controller.canary(ns, name) });
  const health = await startReadiness({ config, controller, prometheus: providers.main, metrics, logger, clock, signal });
  logger.info({ port: health.port, prometheus: config.prometheus.address, identity }, 'routeshift controller starting');
  const done = controller.run(signal).finally(async () => {
    await load.stopAll();
    await Promise.race([notifier.flush(), clock.sleep(2_000).catch(() => undefined)]);
    notifier.stop();
    providers.close();
    await health.close();
  });
  return { port: health.port, done, controller };
}

export function withMetricDefaults(spec: CanarySpec, config: ControllerConfig): CanarySpec {
  const metrics = spec.analysis.metrics?.map((m) => ({
    ...m,
    noData: m.noData ?? config.defaults.noData,
    errorsBeforeFailure: m.errorsBeforeFailure ?? config.defaults.errorsBeforeFailure,
  }));
  return metrics ? { ...spec, analysis: { ...spec.analysis, metrics } } : spec;
}

/** `routeshift controller`: runs until the signal aborts. */
export async function runController(o: RuntimeOptions): Promise<void> {
  const rt = await startControllerRuntime(o);
  await rt.done;
}
