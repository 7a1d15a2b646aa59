import { setMaxListeners } from 'node:events';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CANARY_PLURAL, GROUP, METRIC_TEMPLATE_PLURAL, VERSION, type Canary, type MetricTemplate } from '../api/canary.js';
import type { TemplateSet } from '../metrics/templates.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { isNotFound } from '../kube/errors.js';
import { listCustomObjects, type ListResult } from '../kube/list.js';
import { CachedRouteClient, GATEWAY_GROUP, GATEWAY_VERSION, type Route } from '../routing/index.js';
import { kubeCanaryStore, type CanaryStore } from './canary-store.js';
import { kubeLeaseStore, LeaderElector } from './leader.js';
import { fencedStore, ShardNotHeldError } from './shard-fence.js';
import { kubeShardLeaseStore, ShardCoordinator } from './shards.js';
import type { ControllerMetrics } from './metrics.js';
import { Reconciler, type ReconcilerDeps } from './reconcile.js';
import { orientedStore } from './workload-slots.js';
import { Reflector } from './reflector.js';
import { Admission } from './admission.js';
import { Scheduler } from './scheduler.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  clock: Clock;
  logger: Logger;
  metrics: ControllerMetrics;
  /** The reconciler's collaborators other than the store, clock, logger and metrics. */
  deps: Omit<ReconcilerDeps, 'store' | 'clock' | 'logger' | 'metrics'>;
  store?: CanaryStore;
  namespaces?: string[];
  labelSelector?: string;
  concurrency?: number;
  /** Rounds the next tick a whole interval away up to this grid (ms), so batched queries find company (Scheduler.gridMs). */
  tickGridMs?: number;
  /** MetricTemplate objects from the cluster are added to (and removed from) this set as they change. */
  templates?: TemplateSet;
  leaderElection?: { namespace: string; name: string; identity: string; leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  /** With leaderElection: every replica acts, each on the canaries of the shards whose Leases it holds. */
  sharding?: { shards: number };
}

/** How long a stopping controller lets the ticks in flight finish their writes. */
const SHUTDOWN_GRACE_MS = 10_000;
/**
 * Canaries that arrive together (a controller starting or taking over the lease, a mass apply, a new image
 * for many Canaries at once) get their first tick paced at this rate instead of all at once. A herd that
 * starts together stays in step: every interval it is due at the same moment, and at a thousand canaries
 * the first two waves ran seconds late (docs/benchmarks.md). One canary alone is not delayed.
 */
const ADMIT_PER_SECOND = 50;
/** A tick held back by the fence (its shard's renewal is late) is tried again this soon. */
const FENCED_RETRY_MS = 1_000;

const key = (o: { metadata?: { namespace?: string; name?: string } }): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
/** The HTTPRoute a Canary names, as namespace/name. */
const routeOf = (c: Canary): string | undefined => (c.spec?.routeRef?.name ? `${c.spec.routeRef.namespace ?? c.metadata.namespace ?? ''}/${c.spec.routeRef.name}` : undefined);

/** A Reflector's path and list call for one custom resource, in one namespace or cluster-wide. */
function customSource<T>(custom: CustomObjectsApi, group: string, version: string, plural: string, ns: string | undefined, labelSelector?: string) {
  return {
    path: ns ? `/apis/${group}/${version}/namespaces/${ns}/${plural}` : `/apis/${group}/${version}/${plural}`,
    list: (signal: AbortSignal): Promise<ListResult<T>> =>
      listCustomObjects<T>(custom, { group, version, plural, ...(ns ? { namespace: ns } : {}), ...(labelSelector ? { labelSelector } : {}) }, signal),
  };
}

/**
 * Wires informers, leader election, the scheduler and the reconciler. Informers run on every replica
 * (so a standby is warm and /readyz is meaningful); only the leader's scheduler ticks.
 */
export class Controller {
  private readonly canaries: Reflector<Canary>;
  private readonly routes: Reflector<Route>;
  private readonly templates: Reflector<MetricTemplate> | undefined;
  private readonly namespaces: ReadonlySet<string>;
  private readonly scheduler: Scheduler;
  private readonly reconciler: Reconciler;
  private readonly store: CanaryStore;
  private readonly routeClient: CachedRouteClient;
  private leading = false;
  private readonly byRoute = new Map<string, Set<string>>();
  private readonly routeOfCanary = new Map<string, string>();
  private readonly admission: Admission;
  private schedulerAbort: AbortController | undefined;
  private schedulerDone: Promise<void> | undefined;
  private tickAbort: AbortController | undefined;
  private shards: ShardCoordinator | undefined;
  /** Per held shard: aborts the ticks of its canaries when the shard is lost or drained past its grace. */
  private readonly shardAborts = new Map<number, AbortController>();
  /** Ticks running now, by canary key, so a shard's can be awaited before its Lease is released. */
  private readonly running = new Map<string, Promise<unknown>>();
  /** Canaries taken over whose next tick reads them from the API server (takeOver). */
  private readonly readLive = new Set<string>();
  /** resourceVersion of each Canary as our last write left it. */
  private readonly written = new Map<string, string>();

  constructor(private readonly opts: ControllerOptions) {
    const kc = opts.kubeConfig;
    this.store = opts.store ?? kubeCanaryStore(kc);
    this.admission = new Admission(opts.clock, ADMIT_PER_SECOND);
    const custom = kc.makeApiClient(CustomObjectsApi);
    // One namespace is watched directly; several are watched cluster-wide and filtered here.
    const ns = opts.namespaces?.length === 1 ? opts.namespaces[0] : undefined;
    this.namespaces = new Set(opts.namespaces ?? []);
    this.canaries = new Reflector<Canary>({
      kubeConfig: kc,
      ...customSource<Canary>(custom, GROUP, VERSION, CANARY_PLURAL, ns, opts.labelSelector),
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
      clock: opts.clock,
      logger: opts.logger,
      onEvent: (type, obj, old) => this.onCanary(type, obj, old),
    });
    this.routes = new Reflector<Route>({
      kubeConfig: kc,
      ...customSource<Route>(custom, GATEWAY_GROUP, GATEWAY_VERSION, 'httproutes', ns),
      clock: opts.clock,
      logger: opts.logger,
      onEvent: (type, obj) => this.onRoute(type, obj),
    });
    const templateSet = opts.templates;
    this.templates = templateSet
      ? new Reflector<MetricTemplate>({
          kubeConfig: kc,
          ...customSource<MetricTemplate>(custom, GROUP, VERSION, METRIC_TEMPLATE_PLURAL, ns),
          clock: opts.clock,
          logger: opts.logger,
          onEvent: (type, t) => {
            if (!this.inScope(t.metadata.namespace)) return;
            if (type === 'delete') templateSet.remove(t.metadata.name, t.metadata.namespace);
            else templateSet.add(t);
            // Canaries naming it (by templateRef) are re-checked now rather than at their next interval.
            for (const c of this.canaries.list()) {
              const uses = (c.spec?.analysis?.metrics ?? []).some((m) => m.templateRef?.name === t.metadata.name && (m.templateRef.namespace ?? c.metadata.namespace) === t.metadata.namespace);
              if (uses && this.mine(key(c))) this.scheduler.schedule(key(c), 0);
            }
          },
        })
      : undefined;
    this.scheduler = new Scheduler({
      clock: opts.clock,
      logger: opts.logger,
      concurrency: opts.concurrency ?? 64,
      ...(opts.tickGridMs ? { gridMs: opts.tickGridMs } : {}),
      onStart: (_k, late) => opts.metrics.tickLateness.observe(late / 1000),
      handler: (k, signal) => this.tick(k, signal),
    });
    // Ticks read routes from the informer; patches still go to the API with their `test` ops.
    this.routeClient = new CachedRouteClient(opts.deps.routes, (ref) => (ref.kind === 'HTTPRoute' ? this.routes.get(ref.namespace, ref.name) : undefined));
    // The fence: a status write or patch for a canary this replica does not own now is refused before it is sent.
    const fenced = fencedStore(this.recordingWrites(this.store), (k) => this.acts(k));
    this.reconciler = new Reconciler({ ...opts.deps, ...(opts.tickGridMs ? { analysisSlackMs: 2 * opts.tickGridMs } : {}), routes: this.routeClient, store: orientedStore(fenced), clock: opts.clock, logger: opts.logger, metrics: opts.metrics });
  }

  /** The cached Canary (as last seen by the informer), for notification routing. */
  canary(namespace: string, name: string): Canary | undefined {
    return this.canaries.get(namespace, name);
  }

  get synced(): boolean {
    return this.canaries.hasSynced && this.routes.hasSynced;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Lateness and counts for benchmarks. */
  get scheduled(): number {
    return this.scheduler.size;
  }

  /** Shards this replica holds (undefined without sharding). */
  get heldShards(): number[] | undefined {
    return this.shards?.held;
  }

  /** Canaries in scope this replica acts on now. */
  get ownedCanaries(): number {
    return this.canaries.list().filter((c) => this.inScope(c.metadata.namespace) && this.mine(key(c))).length;
  }

  /** Runs until the signal aborts; rejects when leader election cannot work at all (LeaseUnavailableError). */
  async run(outer: AbortSignal): Promise<void> {
    // A fatal election error stops everything else too, so the process can exit and say why.
    const failed = new AbortController();
    let fatal: unknown;
    const signal = AbortSignal.any([outer, failed.signal]);
    setMaxListeners(0, signal);
    const informers: Array<Promise<void>> = [this.canaries.run(signal), this.routes.run(signal)];
    if (this.templates) informers.push(this.templates.run(signal));
    const le = this.opts.leaderElection;
    const electorAbort = new AbortController();
    // Shard renewals go out together, each request listening on it.
    setMaxListeners(0, electorAbort.signal);
    let electorDone: Promise<void> = Promise.resolve();
    if (le && this.opts.sharding) {
      this.shards = this.shardCoordinator(le, this.opts.sharding.shards);
      this.startLeading();
      electorDone = this.shards.run(electorAbort.signal).catch((err: unknown) => {
        fatal = err;
        failed.abort();
      });
    } else if (le) {
      const elector = new LeaderElector({
        store: kubeLeaseStore(this.opts.kubeConfig),
        namespace: le.namespace,
        name: le.name,
        identity: le.identity,
        clock: this.opts.clock,
        logger: this.opts.logger,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        onStartedLeading: () => this.startLeading(),
        // Someone else may hold the lease now: stop at once, including writes in flight.
        onStoppedLeading: () => this.stopLeading(true),
      });
      electorDone = elector.run(electorAbort.signal).catch((err: unknown) => {
        fatal = err;
        failed.abort();
      });
    } else {
      this.startLeading();
    }
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
    // Graceful stop: start no new tick, let the ticks in flight finish their writes (bounded), and only
    // then give up the lease, so a successor never overlaps with our last write.
    await this.drain(SHUTDOWN_GRACE_MS);
    electorAbort.abort();
    await electorDone;
    this.stopLeading(true);
    await Promise.all(informers);
    if (fatal !== undefined) throw fatal;
  }

  private startLeading(): void {
    if (this.leading) return;
    this.leading = true;
    if (!this.shards) this.opts.metrics.leader.set(1);
    this.schedulerAbort = new AbortController();
    this.tickAbort = new AbortController();
    this.schedulerDone = this.scheduler.run(this.schedulerAbort.signal, this.tickAbort.signal);
    for (const c of this.canaries.list()) if (this.inScope(c.metadata.namespace) && this.mine(key(c))) this.takeOver(c);
  }

  /** Schedules a canary this replica has just taken on (admission.ts says when). */
  private admit(c: Canary): void {
    this.scheduler.scheduleAt(key(c), this.admission.at(c));
  }

  /** The store, noting the resourceVersion each write of ours left on a Canary (see tick). */
  private recordingWrites(store: CanaryStore): CanaryStore {
    const note = (c: Canary): Canary => {
      if (c.metadata.resourceVersion) this.written.set(key(c), c.metadata.resourceVersion);
      return c;
    };
    return {
      get: (ns, name, signal) => store.get(ns, name, signal),
      list: (signal, ns) => store.list(signal, ns),
      replaceStatus: async (c, signal) => note(await store.replaceStatus(c, signal)),
      patch: async (ns, name, body, signal) => note(await store.patch(ns, name, body, signal)),
    };
  }

  /**
   * Admits canaries taken over from another replica (a shard, or the lead). Their first tick reads the Canary
   * from the API server: the informer may not have seen the previous owner's last status write yet, and a tick
   * on that older status would take the route's newer weights for a half-done step and set them back.
   */
  private takeOver(c: Canary): void {
    this.readLive.add(key(c));
    // A WeightAdvanced fold deferred while we last held it may since have been written by the other owner.
    this.reconciler.takenOver(c);
    this.admit(c);
  }

  /** The fence: whether this replica may write for the canary now (it leads; sharded: holds the canary's shard, renewed in time). */
  private acts(k: string): boolean {
    return this.leading && (this.shards?.owns(k) ?? true);
  }

  /** Whether the canary is this replica's to schedule: it leads and (sharded) holds the canary's shard. */
  private mine(k: string): boolean {
    return this.leading && (this.shards?.assigned(k) ?? true);
  }

  private shardCoordinator(le: NonNullable<ControllerOptions['leaderElection']>, shards: number): ShardCoordinator {
    return new ShardCoordinator({
      store: kubeShardLeaseStore(this.opts.kubeConfig),
      namespace: le.namespace,
      group: le.name,
      identity: le.identity,
      shards,
      clock: this.opts.clock,
      logger: this.opts.logger,
      leaseDurationMs: le.leaseDurationMs,
      renewDeadlineMs: le.renewDeadlineMs,
      retryPeriodMs: le.retryPeriodMs,
      onAcquired: (s) => this.shardAcquired(s),
      // Drained within the renew deadline less one retry period, so the release lands before the Lease could expire.
      onReleasing: (s) => this.shardDrain(s, Math.max(0, le.renewDeadlineMs - le.retryPeriodMs)),
      onLost: (s) => void this.shardDrain(s, 0),
      onRound: (held) => {
        this.opts.metrics.shardsHeld.set(held);
        this.opts.metrics.canariesOwned.set(this.ownedCanaries);
      },
    });
  }

  private canariesOfShard(s: number): Canary[] {
    return this.canaries.list().filter((c) => this.inScope(c.metadata.namespace) && this.shards?.shardOf(key(c)) === s);
  }

  private shardAcquired(s: number): void {
    this.shardAborts.get(s)?.abort();
    const abort = new AbortController();
    // Every tick of the shard's canaries listens on it.
    setMaxListeners(0, abort.signal);
    this.shardAborts.set(s, abort);
    for (const c of this.canariesOfShard(s)) this.takeOver(c);
  }

  /** Stops a shard's canaries: no new tick, the running ones get `graceMs` to finish their writes, then are aborted. */
  private async shardDrain(s: number, graceMs: number): Promise<void> {
    const keys = this.canariesOfShard(s).map(key);
    for (const k of keys) this.scheduler.cancel(k);
    const inFlight = keys.flatMap((k) => this.running.get(k) ?? []);
    if (inFlight.length && graceMs > 0) {
      const timer = new AbortController();
      await Promise.race([Promise.allSettled(inFlight), this.opts.clock.sleep(graceMs, timer.signal).catch(() => undefined)]);
      timer.abort();
    }
    this.shardAborts.get(s)?.abort();
    this.shardAborts.delete(s);
    await Promise.allSettled(inFlight);
  }

  /** Stops starting ticks; waits up to `graceMs` for the ones in flight, then aborts them. */
  private async drain(graceMs: number): Promise<void> {
    this.schedulerAbort?.abort();
    const timer = new AbortController();
    await Promise.race([this.schedulerDone, this.opts.clock.sleep(graceMs, timer.signal).catch(() => undefined)]);
    timer.abort();
    this.tickAbort?.abort();
    await this.schedulerDone;
  }

  private stopLeading(abortInFlight: boolean): void {
    if (!this.leading) return;
    this.leading = false;
    this.opts.metrics.leader.set(0);
    this.schedulerAbort?.abort();
    if (abortInFlight) this.tickAbort?.abort();
  }

  private async tick(k: string, outer: AbortSignal): Promise<number | undefined> {
    if (!this.mine(k)) return undefined;
    // Held, but the last renewal is late: no write now; the renewal (or the loss of the shard) decides.
    if (!this.acts(k)) return FENCED_RETRY_MS;
    const [namespace, name] = k.split('/') as [string, string];
    const shardAbort = this.shards ? this.shardAborts.get(this.shards.shardOf(k)) : undefined;
    const signal = shardAbort ? AbortSignal.any([outer, shardAbort.signal]) : outer;
    let canary = this.canaries.get(namespace, name);
    if (!canary || !this.inScope(namespace)) return undefined;
    // Our last write is not what the informer holds: it has not seen that write yet (or something came after
    // it). A tick on the older status would take the route's newer weights for drift and set them back.
    const wrote = this.written.get(k);
    if (this.readLive.has(k) || (wrote !== undefined && wrote !== canary.metadata.resourceVersion)) {
      try {
        canary = await this.store.get(namespace, name, signal);
        this.readLive.delete(k);
        // Read again only when the informer lags behind this copy too.
        if (canary.metadata.resourceVersion) this.written.set(k, canary.metadata.resourceVersion);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (signal.aborted || !this.mine(k)) return undefined;
        this.opts.logger.warn({ namespace, name, err: errorMessage(err) }, 'reading the current Canary failed; retrying');
        return FENCED_RETRY_MS;
      }
    }
    const run = this.reconciler.reconcile(canary, signal);
    this.running.set(k, run);
    try {
      const next = await run;
      // A shard drained meanwhile: its new owner schedules the canary from now on.
      return this.mine(k) ? next : undefined;
    } catch (err) {
      if (signal.aborted || !this.mine(k)) return undefined;
      if (err instanceof ShardNotHeldError) return FENCED_RETRY_MS;
      this.opts.logger.error({ namespace, name, err: errorMessage(err) }, 'reconcile failed; retrying');
      return 5_000;
    } finally {
      this.running.delete(k);
    }
  }

  private inScope(namespace: string | undefined): boolean {
    return this.namespaces.size === 0 || this.namespaces.has(namespace ?? '');
  }

  private onCanary(type: 'add' | 'update' | 'delete', obj: Canary, old?: Canary): void {
    if (!this.inScope(obj.metadata.namespace)) return;
    const k = key(obj);
    this.indexRoute(k, type === 'delete' ? undefined : obj);
    if (type === 'delete') {
      this.scheduler.cancel(k);
      this.readLive.delete(k);
      this.written.delete(k);
      this.opts.metrics.forgetCanary(obj.metadata.namespace ?? '', obj.metadata.name, (obj.status?.lastAnalysis ?? []).map((r) => r.name));
      return;
    }
    if (!this.mine(k)) return;
    // Our own status writes come back as updates; only a spec or annotation change needs a tick now.
    // A Canary seen for the first time is admitted (paced, or at its due time mid-rollout); a new spec is paced
    // with the others arriving at once; an operator's request (an annotation) is acted on at once.
    if (type === 'add') this.admit(obj);
    else if (obj.metadata.generation !== old?.metadata.generation) this.scheduler.schedule(k, this.admission.delay());
    else if (JSON.stringify(obj.metadata.annotations ?? {}) !== JSON.stringify(old?.metadata.annotations ?? {})) this.scheduler.schedule(k, 0);
  }

  /** Keeps byRoute in step with the Canaries: route (namespace/name) -> the Canaries naming it. */
  private indexRoute(k: string, now: Canary | undefined): void {
    const was = this.routeOfCanary.get(k);
    const is = now ? routeOf(now) : undefined;
    if (was === is) return;
    if (was !== undefined) {
      const keys = this.byRoute.get(was);
      keys?.delete(k);
      if (keys?.size === 0) this.byRoute.delete(was);
      this.routeOfCanary.delete(k);
    }
    if (is !== undefined) {
      const keys = this.byRoute.get(is) ?? new Set<string>();
      keys.add(k);
      this.byRoute.set(is, keys);
      this.routeOfCanary.set(k, is);
    }
  }

  private onRoute(type: 'add' | 'update' | 'delete', route: Route): void {
    this.routeClient.observe(route);
    if (!this.leading) return;
    // Through the index: a scan of every Canary per route event was quadratic (each tick's patch comes back as one).
    const named = this.byRoute.get(`${route.metadata.namespace ?? ''}/${route.metadata.name}`);
    for (const ck of named ?? []) {
      const [cns, cname] = ck.split('/') as [string, string];
      const c = this.canaries.get(cns, cname);
      if (!c) continue;
      // A route change matters now only while we wait on it (a new status from the mesh, or a fix of a mismatch).
      const phase = c.status?.phase;
      if (!this.mine(key(c))) continue;
      if (type === 'delete' || phase === 'Promoting' || phase === 'RollingBack' || phase === 'Invalid' || c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'False')) {
        this.scheduler.schedule(key(c), 0);
      }
    }
  }
}
