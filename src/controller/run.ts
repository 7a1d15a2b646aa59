import { hostname } from 'node:os';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Canary, CanarySpec, HookType } from '../api/canary.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { decide } from '../analysis/decide.js';
import { stepsOf } from '../analysis/steps.js';
import { createMetricProvider } from '../metrics/index.js';
import { createAnalysis } from './analysis.js';
import { BatchingProvider } from '../metrics/batch.js';
import { Recorder } from '../events/recorder.js';
import { kubeEventSink } from '../events/kube-sink.js';
import { createHookRunner, createOutboundPolicy, hooksOfType, notifyEventHook, runGates } from '../hooks/index.js';
import { createNotifier } from '../notify/index.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { callOptions } from '../kube/options.js';
import { withKeepAlive } from '../kube/keep-alive.js';
import type { MetricReport } from '../api/canary.js';
import { KubeRouteClient } from '../routing/index.js';
import type { ControllerConfig } from './config.js';
import { Controller } from './controller.js';
import { kubeGrantLister, referenceCheck } from './reference-grants.js';
import { templateProvider } from './template-provider.js';
import { kubeCanaryStore } from './canary-store.js';
import { instrumentRoutes, instrumentSink, instrumentStore } from './instrument.js';
import { ControllerMetrics } from './metrics.js';
import { startHealthServer } from './server.js';
import { WorkloadRelease } from './workload-release.js';
import { kubeWorkloadReader } from './workload-reader.js';

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

function secretFile(path: string | undefined): string | undefined {
  return path ? readFileSync(path, 'utf8').trim() : undefined;
}

/**
 * Builds the controller from its configuration: Prometheus provider, templates, recorder, hooks,
 * metrics and probes. Used by `routeshift controller` and in-process by the sandbox, so both run the
 * same code.
 */
export async function startControllerRuntime(o: RuntimeOptions): Promise<{ port: number; done: Promise<void>; controller: Controller }> {
  const { config, logger } = o;
  const clock = o.clock ?? systemClock;
  const kc = loadKubeConfig(o);
  // One long-lived signal is shared by every in-flight request and sleep of every canary.
  setMaxListeners(0, o.signal);
  const metrics = new ControllerMetrics();
  const password = config.prometheus.basicAuth?.password ?? secretFile(config.prometheus.basicAuth?.passwordFile);
  const provider = createMetricProvider({
    address: config.prometheus.address,
    timeoutMs: parseDuration(config.prometheus.timeout),
    retries: config.prometheus.retries,
    ...(config.prometheus.bearerToken || config.prometheus.bearerTokenFile
      ? { bearerToken: config.prometheus.bearerToken ?? secretFile(config.prometheus.bearerTokenFile) }
      : {}),
    ...(config.prometheus.basicAuth ? { basicAuth: { username: config.prometheus.basicAuth.username, password: password ?? '' } } : {}),
    ...(config.prometheus.headers ? { headers: config.prometheus.headers } : {}),
    ...(config.prometheus.caFile ? { caFile: config.prometheus.caFile } : {}),
    ...(config.prometheus.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
    onRequest: (e) => metrics.promRequests.observe({ outcome: e.outcome }, e.durationMs / 1000),
    logger,
  });
  // A template naming its own Prometheus gets a provider of its own (cached per address), with the
  // same timeouts but none of the configured credentials, which belong to the configured address.
  const outbound = createOutboundPolicy(config.outbound);
  const others = new Map<string, ReturnType<typeof createMetricProvider>>();
  const providerFor = (address: string) => {
    let p = others.get(address);
    if (!p) {
      p = templateProvider({ address, timeoutMs: parseDuration(config.prometheus.timeout), retries: config.prometheus.retries, logger }, outbound);
      others.set(address, p);
    }
    return p;
  };
  // Opt-in query batching (src/metrics/batch.ts): the queries of ticks starting within one window share a request.
  const batchWindow = config.prometheus.batchWindow;
  const measuring = batchWindow ? new BatchingProvider(provider, { windowMs: parseDuration(batchWindow, 'prometheus.batchWindow'), logger }) : provider;
  const analysis = await createAnalysis({ provider: measuring, config, logger, signal: o.signal, providerFor });
  const recorder = new Recorder(instrumentSink(kubeEventSink(kc), metrics), logger, clock);
  const hooks = createHookRunner({ clock, logger, outbound, onCall: (r) => metrics.hookCalls.inc({ type: r.type, result: r.ok ? 'ok' : 'fail' }) });
  const gates = async (canary: Canary, type: HookType, weight: number, approved: boolean, signal: AbortSignal) => {
    const list = hooksOfType(canary.spec.analysis, type);
    if (list.length === 0) return [];
    return runGates(
      hooks,
      list,
      {
        name: canary.metadata.name,
        namespace: canary.metadata.namespace ?? 'default',
        phase: canary.status?.phase ?? 'Initializing',
        weight,
        revision: canary.status?.revision ?? '',
        type,
        // A smoke test can call the canary without being edited at each release.
        metadata: { stable: canary.spec.stable.name, canary: canary.spec.canary.name, route: canary.spec.routeRef.name },
      },
      { signal, approved },
    );
  };
  const core = kc.makeApiClient(CoreV1Api);
  const controllerAlerts = new Set(config.alerts);
  const notifier = createNotifier({
    logger,
    signal: o.signal,
    clock,
    outbound,
    onResult: (r) => metrics.notifications.inc({ provider: r.provider, result: r.dropped ? 'dropped' : r.ok ? 'ok' : 'failed' }),
    // An alert without an inline url names a Secret holding `address`: a Canary's alert in the Canary's
    // namespace, a controller-wide alert (config.alerts) in the controller's own namespace.
    resolveUrl: async (alert, namespace, signal) => {
      if (!alert.secretRef) return undefined;
      const ns = controllerAlerts.has(alert) ? config.leaderElection.namespace : namespace;
      const secret = await core.readNamespacedSecret({ namespace: ns, name: alert.secretRef.name }, callOptions(signal));
      const b64 = secret.data?.address;
      return b64 ? Buffer.from(b64, 'base64').toString('utf8').trim() : undefined;
    },
  });
  const le = config.leaderElection;
  const identity = o.identity ?? `${hostname()}-${process.pid}`;
  const store = instrumentStore(kubeCanaryStore(kc), metrics);
  const workloads = new WorkloadRelease({ reader: kubeWorkloadReader(kc), store, recorder, clock, logger, metrics });
  const controller = new Controller({
    kubeConfig: kc,
    clock,
    logger,
    metrics,
    namespaces: config.watch.namespaces,
    ...(config.watch.labelSelector ? { labelSelector: config.watch.labelSelector } : {}),
    concurrency: config.concurrency,
    templates: analysis.templates,
    store,
    ...(le.enabled
      ? {
          leaderElection: {
            namespace: le.namespace,
            name: le.name,
            identity,
            leaseDurationMs: parseDuration(le.leaseDuration),
            renewDeadlineMs: parseDuration(le.renewDeadline),
            retryPeriodMs: parseDuration(le.retryPeriod),
          },
        }
      : {}),
    deps: {
      recorder,
      routes: instrumentRoutes(KubeRouteClient.fromKubeConfig(kc), metrics),
      validate: (c) => analysis.validate(c),
      measure: (c, signal) => analysis.measure(c, signal),
      // Controller-wide defaults fill what a Canary's metrics leave unset.
      decide: (input) => decide({ ...input, spec: withMetricDefaults(input.spec, config) }),
      stepsOf: (c) => stepsOf(c.spec.analysis),
      gates,
      workloads,
      references: referenceCheck(kubeGrantLister(kc), config.references.crossNamespace),
      ...(config.route.controllerName ? { controllerName: config.route.controllerName } : {}),
    },
  });
  // Every recorded Event also goes to the Canary's (and the controller's default) alerts and `event` hooks.
  recorder.onEvent((e) => {
    const ns = e.object.metadata.namespace ?? 'default';
    const canary = controller.canary(ns, e.object.metadata.name);
    if (!canary) return;
    const status = canary.status ?? {};
    const reports = (e.fields?.reports as MetricReport[] | undefined) ?? [];
    const alerts = [...(canary.spec.analysis?.alerts ?? []), ...config.alerts];
    if (alerts.length) {
      notifier.notify(
        {
          canary: { name: canary.metadata.name, namespace: ns },
          reason: e.reason,
          message: e.message,
          severity: e.severity,
          phase: String(e.fields?.phase ?? status.phase ?? ''),
          weight: Number(e.fields?.weight ?? status.canaryWeight ?? 0),
          ...(status.revision ? { revision: status.revision } : {}),
          time: new Date(clock.now()).toISOString(),
          ...(reports.length ? { metrics: reports.map((r) => ({ name: r.name, ...(r.value !== undefined ? { value: r.value } : {}), threshold: r.threshold, verdict: r.verdict })) } : {}),
        },
        alerts,
      );
    }
    void notifyEventHook(
      hooks,
      canary.spec.analysis,
      { name: canary.metadata.name, namespace: ns, phase: String(status.phase ?? ''), weight: status.canaryWeight ?? 0, revision: status.revision ?? '', metadata: {} },
      { reason: e.reason, type: e.type, message: e.message, time: clock.now() },
      { signal: o.signal },
    );
  });
  let promAnswered = false;
  const health = await startHealthServer(config.server.host, config.server.port, metrics.registry, {
    live: () => true,
    ready: () => controller.synced && (!controller.isLeader || promAnswered),
  });
  // The leader is ready once Prometheus has answered once; after that readiness does not follow
  // Prometheus (analysis holds on missing data by itself, and flapping readiness helps nobody).
  void (async () => {
    let warned = false;
    while (!o.signal.aborted && !promAnswered) {
      try {
        await provider.ping(o.signal);
        promAnswered = true;
      } catch (err) {
        if (!warned) logger.warn({ err: errorMessage(err) }, 'Prometheus does not answer yet; analysis holds until it does');
        warned = true;
        await clock.sleep(5_000, o.signal).catch(() => undefined);
      }
    }
  })();
  logger.info({ port: health.port, prometheus: config.prometheus.address, identity }, 'routeshift controller starting');
  const done = controller.run(o.signal).finally(async () => {
    await Promise.race([notifier.flush(), clock.sleep(2_000).catch(() => undefined)]);
    notifier.stop();
    provider.close();
    for (const p of others.values()) p.close();
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
