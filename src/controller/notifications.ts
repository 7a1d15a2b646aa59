import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Canary, MetricReport } from '../api/canary.js';
import type { Clock } from '../core/clock.js';
import type { Recorder } from '../events/recorder.js';
import { notifyEventHook } from '../hooks/index.js';
import type { HookRunner } from '../hooks/types.js';
import type { OutboundPolicy } from '../hooks/outbound.js';
import { callOptions } from '../kube/options.js';
import { createNotifier, type RunningNotifier } from '../notify/index.js';
import type { ControllerConfig } from './config.js';
import type { ControllerMetrics } from './metrics.js';

export interface NotificationDeps {
  config: ControllerConfig;
  kubeConfig: KubeConfig;
  recorder: Recorder;
  hooks: HookRunner;
  /** Where alert webhooks may go (the same policy as hooks). */
  outbound: OutboundPolicy;
  metrics: ControllerMetrics;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
  /** The Canary an Event is about, as the informer last saw it. */
  canary: (namespace: string, name: string) => Canary | undefined;
}

/**
 * Sends every recorded Event to the Canary's alerts (and the controller-wide `alerts`) and to its `event`
 * hooks. Alert webhook URLs kept in Secrets are read with the controller's credentials: a Canary's alert in
 * the Canary's namespace, a controller-wide alert in the controller's own namespace.
 */
export function buildNotifications(d: NotificationDeps): RunningNotifier {
  const { config, clock } = d;
  const core = d.kubeConfig.makeApiClient(CoreV1Api);
  const controllerAlerts = new Set(config.alerts);
  const notifier = createNotifier({
    logger: d.logger,
    signal: d.signal,
    clock,
    outbound: d.outbound,
    onResult: (r) => d.metrics.notifications.inc({ provider: r.provider, result: r.dropped ? 'dropped' : r.ok ? 'ok' : 'failed' }),
    resolveUrl: async (alert, namespace, signal) => {
      if (!alert.secretRef) return undefined;
      const ns = controllerAlerts.has(alert) ? config.leaderElection.namespace : namespace;
      const secret = await core.readNamespacedSecret({ namespace: ns, name: alert.secretRef.name }, callOptions(signal));
      const b64 = secret.data?.address;
      return b64 ? Buffer.from(b64, 'base64').toString('utf8').trim() : undefined;
    },
  });
  d.recorder.onEvent((e) => {
    const ns = e.object.metadata.namespace ?? 'default';
    const canary = d.canary(ns, e.object.metadata.name);
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
      d.hooks,
      canary.spec.analysis,
      { name: canary.metadata.name, namespace: ns, phase: String(status.phase ?? ''), weight: status.canaryWeight ?? 0, revision: status.revision ?? '', metadata: {} },
      { reason: e.reason, type: e.type, message: e.message, time: clock.now() },
      { signal: d.signal },
    );
  });
  return notifier;
}
