import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { DEFAULT_CONFIG } from '../controller/config.js';
import { errorMessage } from '../core/errors.js';
import { isConflict } from '../kube/errors.js';
import { startSandbox, type SandboxKubernetes } from './sandbox.js';
import { startInProcessController } from './controller.js';
import { startDashboard } from '../dashboard/index.js';

export interface RunSandboxOptions {
  kubeconfig: string;
  controller: boolean;
  load: number;
  persist?: boolean;
  apiPort?: number;
  meshPort?: number;
  prometheusPort?: number;
  kubernetes?: SandboxKubernetes;
  logger: Logger;
  signal: AbortSignal;
}

/**
 * The namespace of the controller's Lease, so `routeshift controller --kubeconfig <sandbox>` with the
 * default configuration can elect itself (it exits saying so when the namespace is missing).
 */
async function ensureLeaseNamespace(kc: KubeConfig): Promise<void> {
  const name = DEFAULT_CONFIG.leaderElection.namespace;
  try {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  } catch (err) {
    if (!isConflict(err)) throw err; // kept from an earlier run (--persist)
  }
}

/** `routeshift sandbox`: runs in the foreground until SIGINT/SIGTERM, then stops every part it started. */
export async function runSandbox(o: RunSandboxOptions): Promise<number> {
  let sandbox;
  try {
    sandbox = await startSandbox({
      logger: o.logger,
      kubeconfigPath: o.kubeconfig,
      rps: o.load,
      ...(o.persist ? { persist: true } : {}),
      ...(o.apiPort ? { apiPort: o.apiPort } : {}),
      ...(o.meshPort ? { meshPort: o.meshPort } : {}),
      ...(o.prometheusPort ? { prometheusPort: o.prometheusPort } : {}),
      ...(o.kubernetes ? { kubernetes: o.kubernetes } : {}),
    });
    await ensureLeaseNamespace(sandbox.kubeConfig);
  } catch (err) {
    await sandbox?.stop();
    process.stderr.write(`error: sandbox failed to start: ${errorMessage(err)}\n`);
    return 1;
  }
  let controller;
  let dashboard;
  try {
    if (o.controller) {
      // Each step its own Event: the sandbox is for watching a rollout step by step (kubectl describe after a step).
      const config = { events: { advanceWindow: '0s' } };
      controller = await startInProcessController({ kubeConfig: sandbox.kubeConfig, prometheusUrl: sandbox.prometheus.url, logger: o.logger, signal: o.signal, config });
      await sandbox.scrapeController(`127.0.0.1:${controller.metricsPort}`);
    }
    dashboard = await startDashboard({ kubeConfig: sandbox.kubeConfig, prometheusUrl: sandbox.prometheus.url, logger: o.logger, signal: o.signal });
    const metrics = controller ? ` controller-metrics=http://127.0.0.1:${controller.metricsPort}/metrics` : '';
    process.stdout.write(`ready kubeconfig=${sandbox.kubeconfigPath} prometheus=${sandbox.prometheus.url} mesh=${sandbox.mesh.url}${metrics}\n`);
    process.stdout.write(`dashboard ${dashboard.url} (read-only view of the Canaries)\n`);
    await new Promise<void>((resolve) => {
      if (o.signal.aborted) resolve();
      o.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    return 0;
  } finally {
    await controller?.stop();
    await dashboard?.done;
    await sandbox.stop();
  }
}
