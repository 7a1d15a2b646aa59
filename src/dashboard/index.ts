import type { KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { checkBindAddress, startDashboardServer } from './server.js';
import { pollPrometheus, watchKubernetes } from './sources.js';
import { DashboardState } from './state.js';

export interface DashboardOptions {
  kubeConfig: KubeConfig;
  /** Prometheus with routeshift's metrics; without it charts start when the dashboard does. */
  prometheusUrl?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /** Needed to listen on anything but loopback. */
  allowRemote?: boolean;
  logger: Logger;
  signal: AbortSignal;
  clock?: Clock;
}

export interface Dashboard {
  url: string;
  /** Resolves when the signal has aborted and the server and readers have stopped. */
  done: Promise<void>;
}

/** `routeshift dashboard`: a read-only web view of every Canary the kubeconfig can list. */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? '127.0.0.1';
  checkBindAddress(host, o.allowRemote ?? false);
  const clock = o.clock ?? systemClock;
  const state = new DashboardState({ api: o.kubeConfig.getCurrentCluster()?.server ?? '(unknown)', prometheus: o.prometheusUrl ?? null }, () => clock.now());
  const server = await startDashboardServer({ state, host, port: o.port ?? 0, signal: o.signal });
  const readers = [watchKubernetes(o.kubeConfig, state, clock, o.logger, o.signal), ...(o.prometheusUrl ? [pollPrometheus(o.prometheusUrl, state, clock, o.logger, o.signal)] : [])];
  const done = Promise.all([server.closed, ...readers.map((r) => Promise.resolve(r).catch(() => undefined))]).then(() => undefined);
  return { url: server.url, done };
}
