import { hostname } from 'node:os';
import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Canary, HookType } from '../api/canary.js';
import { systemClock, type Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { decide } from '../analysis/decide.js';
import { stepsOf } from '../analysis/steps.js';
import { createMetricProvider } from '../metrics/index.js';
import { createAnalysis } from './analysis.js';
import { Recorder } from '../events/recorder.js';
import { kubeEventSink } from '../events/kube-sink.js';
import { createHookRunner, hooksOfType, runGates } from '../hooks/index.js';
import { KubeRouteClient } from '../routing/index.js';
import type { ControllerConfig } from './config.js';
import { Controller } from './controller.js';
import { ControllerMetrics } from './metrics.js';
import { startHealthServer } from './server.js';

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
  if (o.kubeConfig) return o.kubeConfig;
  const kc = new KubeConfig();
  if (o.kubeconfigPath) kc.loadFromFile(o.kubeconfigPath);
  else kc.loadFromDefault();
  return kc;
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
  const analysis = await createAnalysis({ provider, config, logger, signal: o.signal });
  const recorder = new Recorder(kubeEventSink(kc), logger, clock);
  const hooks = createHookRunner({ clock, logger, onCall: (r) => metrics.hookCalls.inc({ type: r.type, result: r.ok ? 'ok' : 'fail' }) });
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
        metadata: {},
      },
      { signal, approved },
    );
  };
  const le = config.leaderElection;
  const identity = o.identity ?? `${hostname()}-${process.pid}`;
  const controller = new Controller({
    kubeConfig: kc,
    clock,
    logger,
    metrics,
    namespaces: config.watch.namespaces,
    ...(config.watch.labelSelector ? { labelSelector: config.watch.labelSelector } : {}),
    concurrency: config.concurrency,
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
      routes: KubeRouteClient.fromKubeConfig(kc),
      validate: (c) => analysis.validate(c),
      measure: (c, signal) => analysis.measure(c, signal),
      decide,
      stepsOf: (c) => stepsOf(c.spec.analysis),
      gates,
      ...(config.route.controllerName ? { controllerName: config.route.controllerName } : {}),
    },
  });
  let promAnswered = false;
  const health = await startHealthServer(config.server.host, config.server.port, metrics.registry, {
    live: () => true,
    ready: () => controller.synced && (!controller.isLeader || promAnswered),
  });
  void provider
    .ping(o.signal)
    .then(() => (promAnswered = true))
    .catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'Prometheus did not answer; analysis will hold until it does'))
    .finally(() => (promAnswered = true)); // readiness must not flap on Prometheus; analysis holds on its own
  logger.info({ port: health.port, prometheus: config.prometheus.address, identity }, 'routeshift controller starting');
  const done = controller.run(o.signal).finally(async () => {
    provider.close();
    await health.close();
  });
  return { port: health.port, done, controller };
}

/** `routeshift controller`: runs until the signal aborts. */
export async function runController(o: RuntimeOptions): Promise<void> {
  const rt = await startControllerRuntime(o);
  await rt.done;
}
