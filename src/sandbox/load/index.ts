import http from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import { httpKubeRest } from '../mesh/kube/rest.js';
import { ResourceCache } from '../mesh/kube/resource-cache.js';
import type { HTTPRoute } from '../mesh/kube/types.js';
import { BACKEND_HEADER, SOURCE_NAMESPACE_HEADER, SOURCE_WORKLOAD_HEADER } from '../mesh/proxy.js';
import { Pacer } from './pacer.js';
import { copyStats, countResponse, emptyStats, type TargetStats } from './stats.js';
import { loadTargets, type LoadTarget } from './targets.js';
import { CookieJar } from './cookie-jar.js';
import { pickHeaders, validateHeaderMix, type HeaderMixEntry } from './header-mix.js';

export type { TargetStats } from './stats.js';
export type { HeaderMixEntry } from './header-mix.js';

/** source_workload the mesh records for this traffic. */
export const LOAD_WORKLOAD = 'sandbox-load';

export interface LoadOptions {
  kubeConfig: KubeConfig;
  /** The mesh proxy URL (startMesh().url). */
  meshUrl: string;
  /** Total requests per second, spread evenly over all root Services. Default 20. */
  rps?: number;
  logger: Logger;
  /** Requests in flight at most; ticks beyond it are counted as dropped. Default 64. */
  maxInFlight?: number;
  /** Per-request timeout. Default 10s. */
  timeoutMs?: number;
  /** Request path. Default "/". */
  path?: string;
  clock?: Clock;
  /**
   * A share of the requests carrying extra headers (A/B traffic by header or cookie), e.g.
   * `[{ share: 0.2, headers: { 'x-canary': 'always' } }]`. Default none.
   */
  mix?: readonly HeaderMixEntry[];
  /**
   * Simulated users taking turns, each with a cookie jar: Set-Cookie answers are kept and sent back
   * in Cookie, so cookie-based session affinity can be seen (stats.userSwitches). Default 0: no jars.
   */
  users?: number;
  /** Random source for the header mix; default Math.random. */
  random?: () => number;
  /** Aborting it stops the load (as stop() does). */
  signal?: AbortSignal;
}

export interface Load {
  stop(): Promise<void>;
  setRps(rps: number): void;
  /** Counters per root Service, keyed by LoadTarget id ("namespace/name"). A copy. */
  stats(): Record<string, TargetStats>;
  /** Resolves when no request is in flight. */
  drained(): Promise<void>;
}

/**
 * Steady client traffic through the mesh to every root Service of an HTTPRoute, as the canary's
 * real users would send it; keeps per-Service counts by status and by the backend that answered.
 */
export async function startLoad(opts: LoadOptions): Promise<Load> {
  const logger = opts.logger.child({ component: 'sandbox-load' });
  const mix = opts.mix ?? [];
  validateHeaderMix(mix);
  const random = opts.random ?? Math.random;
  const users = Array.from({ length: Math.max(0, Math.floor(opts.users ?? 0)) }, () => ({ jar: new CookieJar(), last: new Map<string, string>() }));
  let userCursor = 0;
  const rest = httpKubeRest(opts.kubeConfig);
  const routes = new ResourceCache<HTTPRoute>(opts.kubeConfig, rest, '/apis/gateway.networking.k8s.io/v1/httproutes', logger);
  const mesh = new URL(opts.meshUrl);
  const maxInFlight = opts.maxInFlight ?? 64;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const stats = new Map<string, TargetStats>();
  let targets: LoadTarget[] = [];
  let cursor = 0;
  let inFlight = 0;
  let stopped = false;
  const idleWaiters: Array<() => void> = [];

  const refreshTargets = (): void => {
    targets = loadTargets(routes.list());
    for (const t of targets) if (!stats.has(t.id)) stats.set(t.id, emptyStats(t.id, t.host));
  };

  const finished = (): void => {
    inFlight--;
    if (inFlight === 0) idleWaiters.splice(0).forEach((w) => w());
  };

  const send = (target: LoadTarget, s: TargetStats): void => {
    s.sent++;
    inFlight++;
    const user = users.length > 0 ? users[userCursor++ % users.length] : undefined;
    const extra = Object.entries(pickHeaders(mix, random) ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
    const headers: http.OutgoingHttpHeaders = { ...Object.fromEntries(extra), host: target.host, [SOURCE_WORKLOAD_HEADER]: LOAD_WORKLOAD, [SOURCE_NAMESPACE_HEADER]: 'sandbox' };
    const cookie = user?.jar.header();
    // A mix entry's own Cookie comes first; the user's jar adds what the answers set.
    if (cookie) headers['cookie'] = typeof headers['cookie'] === 'string' ? `${headers['cookie']}; ${cookie}` : cookie;
    const req = http.request({
      protocol: mesh.protocol,
      hostname: mesh.hostname,
      port: mesh.port,
      method: 'GET',
      path: opts.path ?? '/',
      agent,
      timeout: opts.timeoutMs ?? 10_000,
      headers,
    });
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      finished();
    };
    req.on('response', (res) => {
      const backend = res.headers[BACKEND_HEADER];
      countResponse(s, res.statusCode ?? 0, typeof backend === 'string' ? backend : undefined);
      if (user) {
        user.jar.store(res.headers['set-cookie']);
        const b = typeof backend === 'string' ? backend : '-';
        const previous = user.last.get(target.id);
        if (previous !== undefined && previous !== b) s.userSwitches++;
        user.last.set(target.id, b);
      }
      res.resume();
      res.on('end', settle);
      res.on('error', settle);
      res.on('close', settle);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => {
      if (!settled) {
        s.errors++;
        if (!stopped) logger.debug({ target: target.id, err: errorMessage(err) }, 'load request failed');
      }
      settle();
    });
    req.end();
  };

  const tick = (): void => {
    if (targets.length === 0) return;
    const target = targets[cursor++ % targets.length] as LoadTarget;
    const s = stats.get(target.id) as TargetStats;
    if (inFlight >= maxInFlight) {
      s.dropped++;
      return;
    }
    send(target, s);
  };

  const pacer = new Pacer(opts.clock ?? systemClock, opts.rps ?? 20, tick);
  routes.onChange(refreshTargets);
  await routes.start(opts.signal);
  refreshTargets();
  pacer.start();
  logger.info({ rps: pacer.currentRps, targets: targets.map((t) => t.id) }, 'sandbox load started');

  const drained = (): Promise<void> => (inFlight === 0 ? Promise.resolve() : new Promise((r) => idleWaiters.push(r)));
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await pacer.stop();
    await routes.stop();
    await Promise.race([drained(), new Promise((r) => setTimeout(r, opts.timeoutMs ?? 10_000).unref())]);
    agent.destroy();
  };
  opts.signal?.addEventListener('abort', () => void stop(), { once: true });

  return {
    stop,
    setRps: (rps) => pacer.setRps(rps),
    stats: () => Object.fromEntries([...stats].map(([k, v]) => [k, copyStats(v)])),
    drained,
  };
}
