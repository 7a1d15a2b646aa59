import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { callOptions } from '../kube/options.js';
import { isConflict, isNotFound, toKubeApiError } from '../kube/errors.js';
import { kubeLeaseStore, LeaseUnavailableError, microTime, unusable, type LeaseStore } from './leader.js';
import { assignShards, memberLeaseName, shardOf } from './shard-hash.js';

/** Marks the Leases of sharding: `member` (one per live replica) or `shard` (one per shard). */
export const SHARD_LEASE_LABEL = 'routeshift.io/shard-lease';
/** Which installation the Lease belongs to (leaderElection.name), so installations split by team never mix. */
export const SHARD_GROUP_LABEL = 'routeshift.io/shard-group';

export interface ShardLeaseStore extends LeaseStore {
  list(namespace: string, labelSelector: string, signal: AbortSignal): Promise<V1Lease[]>;
  delete(namespace: string, name: string, signal: AbortSignal): Promise<void>;
}

export function kubeShardLeaseStore(kc: KubeConfig): ShardLeaseStore {
  const api = kc.makeApiClient(CoordinationV1Api);
  return {
    ...kubeLeaseStore(kc),
    async list(namespace, labelSelector, signal) {
      try {
        return (await api.listNamespacedLease({ namespace, labelSelector }, callOptions(signal))).items;
      } catch (err) {
        throw toKubeApiError(err, `list Leases in ${namespace}`);
      }
    },
    async delete(namespace, name, signal) {
      try {
        await api.deleteNamespacedLease({ namespace, name }, callOptions(signal));
      } catch (err) {
        if (!isNotFound(err)) throw toKubeApiError(err, `delete Lease ${namespace}/${name}`);
      }
    },
  };
}

export interface ShardOptions {
  store: ShardLeaseStore;
  namespace: string;
  /** leaderElection.name: prefix of every Lease name, and the group label. */
  group: string;
  identity: string;
  shards: number;
  clock: Clock;
  logger: Logger;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  /** The shard is ours: schedule its canaries. */
  onAcquired(shard: number): void;
  /**
   * The shard should go to another replica: stop its canaries and resolve once none of them runs
   * (within the renew deadline). The Lease is released only then, so two replicas never act on one canary.
   */
  onReleasing(shard: number): Promise<void>;
  /** The shard was lost without a drain (not renewed within the renew deadline, or taken): stop its canaries now. */
  onLost(shard: number): void;
  /** After every round: shards held and live members, for /metrics. */
  onRound?(held: number, members: number): void;
}

interface Shard {
  state: 'free' | 'held' | 'releasing';
  /** The Lease as we last wrote it (its resourceVersion fences our next write). */
  lease: V1Lease | undefined;
  /** When we sent the last successful renewal: the hold is trusted for renewDeadline from there. */
  lastRenew: number;
}

interface Observed {
  record: string;
  at: number;
}

const asTime = (iso: string): Date => iso as unknown as Date;

/**
 * Shards through Leases. Each replica keeps a member Lease renewed; every round it lists the group's
 * Leases, computes the owner of every shard by rendezvous hashing over the live members, takes the
 * free or expired shard Leases it should own, drains and releases those it should no longer own, and
 * renews the rest. Expiry follows client-go: a Lease is expired when its record has not changed for
 * leaseDuration *as observed by this replica's clock*, so clock skew between replicas does not matter.
 * A replica trusts its own hold for renewDeadline (< leaseDuration) after it sent the last renewal:
 * it stops acting before anyone else may take the shard.
 */
export class ShardCoordinator {
  private readonly state: Shard[];
  private readonly observed = new Map<string, Observed>();
  private readonly releases = new Set<Promise<void>>();
  private members: string[] = [];
  private memberLease: V1Lease | undefined;
  private reached = false;

  constructor(private readonly o: ShardOptions) {
    this.state = Array.from({ length: o.shards }, () => ({ state: 'free', lease: undefined, lastRenew: 0 }));
  }

  /**
   * Whether this replica may write for the shard's canaries now: its Lease renewed within the renew
   * deadline, held or being drained (ticks in flight finish their writes before the Lease is released).
   */
  holds(shard: number): boolean {
    const s = this.state[shard];
    return s !== undefined && s.state !== 'free' && this.o.clock.now() - s.lastRenew < this.o.renewDeadlineMs;
  }

  /**
   * Whether the shard is this replica's to schedule: held, even when the last renewal is late. A late
   * renewal pauses writes (holds() is false) but keeps the canaries; only losing the shard drops them.
   */
  assigned(key: string): boolean {
    return this.state[shardOf(key, this.o.shards)]?.state === 'held';
  }

  /** The fence: whether this replica may act on (write for) the Canary `namespace/name` now. */
  owns(key: string): boolean {
    return this.holds(shardOf(key, this.o.shards));
  }

  shardOf(key: string): number {
    return shardOf(key, this.o.shards);
  }

  get held(): number[] {
    return this.state.flatMap((s, i) => (s.state === 'held' ? [i] : []));
  }

  get liveMembers(): readonly string[] {
    return this.members;
  }

  shardLeaseName(shard: number): string {
    return `${this.o.group}-shard-${shard}`;
  }

  /** Coordinates until the signal aborts, then releases every shard and its member Lease. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.round(signal);
        this.reached = true;
      } catch (err) {
        const fatal = this.reached ? undefined : unusable(err, this.o.namespace, `${this.o.namespace}/${this.o.group}-*`);
        if (fatal && !signal.aborted) throw fatal;
        if (!signal.aborted) this.o.logger.warn({ err: errorMessage(err) }, 'shard lease round failed');
      }
      this.expireStale();
      this.o.onRound?.(this.held.length, this.members.length);
      try {
        await this.o.clock.sleep(this.o.retryPeriodMs, signal);
      } catch {
        break;
      }
    }
    await this.shutdown();
  }

  /** One round: renew membership, read the group's Leases, then act on every shard. Exposed for tests. */
  async round(signal: AbortSignal): Promise<void> {
    // Renewals go out together with the list: a round's latency is one round trip, not three.
    const held = this.held;
    const [, leases] = await Promise.all([
      this.renewMember(signal),
      this.o.store.list(this.o.namespace, `${SHARD_GROUP_LABEL}=${this.o.group}`, signal),
      ...held.map((i) => this.renew(i, signal)),
    ]);
    const byName = new Map(leases.map((l) => [l.metadata?.name ?? '', l]));
    this.members = this.liveMemberIds(leases);
    await this.collectDeadMembers(leases, signal);
    const owners = assignShards(this.o.shards, this.members);
    await Promise.all(owners.map((owner, i) => this.step(i, owner === this.o.identity, byName.get(this.shardLeaseName(i)), held.includes(i), signal)));
  }

  private async step(i: number, mine: boolean, listed: V1Lease | undefined, renewed: boolean, signal: AbortSignal): Promise<void> {
    const s = this.state[i] as Shard;
    if (listed) this.observe(listed);
    if (s.state === 'releasing') return;
    if (s.state === 'held' && !mine) return this.startRelease(i);
    if (s.state === 'held') return renewed ? undefined : this.renew(i, signal);
    if (mine) await this.tryAcquire(i, listed, signal);
  }

  private observe(l: V1Lease): Observed {
    const name = l.metadata?.name ?? '';
    const spec = l.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    const prior = this.observed.get(name);
    if (prior?.record === record) return prior;
    const seen = { record, at: this.o.clock.now() };
    this.observed.set(name, seen);
    return seen;
  }

  private expired(l: V1Lease): boolean {
    const seen = this.observe(l);
    const durationMs = (l.spec?.leaseDurationSeconds ?? Math.ceil(this.o.leaseDurationMs / 1000)) * 1000;
    return this.o.clock.now() - seen.at >= durationMs;
  }

  private liveMemberIds(leases: V1Lease[]): string[] {
    const live = new Set([this.o.identity]);
    for (const l of leases) {
      if (l.metadata?.labels?.[SHARD_LEASE_LABEL] !== 'member') continue;
      const holder = l.spec?.holderIdentity ?? '';
      if (holder && !this.expired(l)) live.add(holder);
    }
    return [...live].sort();
  }

  /** Member Leases of replicas long gone (killed, never stopped cleanly) are deleted, so they do not pile up. */
  private async collectDeadMembers(leases: V1Lease[], signal: AbortSignal): Promise<void> {
    for (const l of leases) {
      const name = l.metadata?.name ?? '';
      if (l.metadata?.labels?.[SHARD_LEASE_LABEL] !== 'member' || l.spec?.holderIdentity === this.o.identity) continue;
      const seen = this.observe(l);
      if (this.o.clock.now() - seen.at < 5 * this.o.leaseDurationMs) continue;
      await this.o.store.delete(this.o.namespace, name, signal).catch((err: unknown) => this.o.logger.debug({ lease: name, err: errorMessage(err) }, 'could not delete a dead member Lease'));
      this.observed.delete(name);
    }
  }

  private leaseBody(name: string, kind: 'member' | 'shard', existing: V1Lease | undefined, now: number): V1Lease {
    const spec = existing?.spec ?? {};
    const taking = spec.holderIdentity !== this.o.identity;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...(existing?.metadata ?? {}),
        name,
        namespace: this.o.namespace,
        labels: { ...(existing?.metadata?.labels ?? {}), [SHARD_LEASE_LABEL]: kind, [SHARD_GROUP_LABEL]: this.o.group },
      },
      spec: {
        ...spec,
        holderIdentity: this.o.identity,
        leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
        renewTime: asTime(microTime(now)),
        ...(taking ? { acquireTime: asTime(microTime(now)), leaseTransitions: existing ? (spec.leaseTransitions ?? 0) + 1 : 0 } : {}),
      },
    };
  }

  private async renewMember(signal: AbortSignal): Promise<void> {
    const name = memberLeaseName(this.o.group, this.o.identity);
    const now = this.o.clock.now();
    try {
      this.memberLease = this.memberLease
        ? await this.o.store.replace(this.leaseBody(name, 'member', this.memberLease, now), signal)
        : await this.createOrTake(name, 'member', now, signal);
    } catch (err) {
      // Someone changed it (or it went): read it afresh next round.
      this.memberLease = undefined;
      if (!isConflict(err)) throw err;
    }
  }

  private async createOrTake(name: string, kind: 'member' | 'shard', now: number, signal: AbortSignal): Promise<V1Lease> {
    const existing = await this.o.store.get(this.o.namespace, name, signal);
    if (existing) return this.o.store.replace(this.leaseBody(name, kind, existing, now), signal);
    try {
      return await this.o.store.create(this.leaseBody(name, kind, undefined, now), signal);
    } catch (err) {
      if (isNotFound(err)) throw new LeaseUnavailableError(`${this.o.namespace}/${name}`, `namespace "${this.o.namespace}" does not exist (create it, or set leaderElection.namespace or POD_NAMESPACE)`, err);
      throw err;
    }
  }

  private async tryAcquire(i: number, listed: V1Lease | undefined, signal: AbortSignal): Promise<void> {
    const name = this.shardLeaseName(i);
    const holder = listed?.spec?.holderIdentity ?? '';
    if (listed && holder !== '' && holder !== this.o.identity && !this.expired(listed)) return;
    const now = this.o.clock.now();
    try {
      const lease = listed ? await this.o.store.replace(this.leaseBody(name, 'shard', listed, now), signal) : await this.o.store.create(this.leaseBody(name, 'shard', undefined, now), signal);
      const s = this.state[i] as Shard;
      Object.assign(s, { state: 'held', lease, lastRenew: now });
      this.o.logger.info({ shard: i, lease: name, from: holder || undefined, identity: this.o.identity }, 'shard acquired');
      this.o.onAcquired(i);
    } catch (err) {
      // Another replica got there first (or the Lease changed since the list): look again next round.
      if (!isConflict(err)) throw err;
    }
  }

  private async renew(i: number, signal: AbortSignal): Promise<void> {
    const s = this.state[i] as Shard;
    const now = this.o.clock.now();
    try {
      s.lease = await this.o.store.replace(this.leaseBody(this.shardLeaseName(i), 'shard', s.lease, now), signal);
      if (s.state === 'held') s.lastRenew = now;
    } catch (err) {
      if (!isConflict(err)) {
        this.o.logger.warn({ shard: i, err: errorMessage(err) }, 'shard lease renewal failed');
        return;
      }
      // Written by someone else since our last write: ours only if it still names us.
      const fresh = await this.o.store.get(this.o.namespace, this.shardLeaseName(i), signal);
      if (fresh?.spec?.holderIdentity === this.o.identity) s.lease = fresh;
      else this.lose(i, `taken by ${fresh?.spec?.holderIdentity || 'nobody'}`);
    }
  }

  private startRelease(i: number): void {
    const s = this.state[i] as Shard;
    s.state = 'releasing';
    this.o.logger.info({ shard: i, members: this.members.length, identity: this.o.identity }, 'shard moving to another replica; draining');
    const p = this.o
      .onReleasing(i)
      .then(() => this.release(i))
      .finally(() => this.releases.delete(p));
    this.releases.add(p);
  }

  /** Gives the Lease up (holder empty) so the new owner takes it at its next round instead of after leaseDuration. */
  private async release(i: number): Promise<void> {
    const s = this.state[i] as Shard;
    const name = this.shardLeaseName(i);
    try {
      if (s.lease) {
        const spec = { ...s.lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: asTime(microTime(this.o.clock.now())) };
        await this.o.store.replace({ ...s.lease, spec }, AbortSignal.timeout(2_000));
      }
      this.o.logger.info({ shard: i, lease: name, identity: this.o.identity }, 'shard released');
    } catch (err) {
      this.o.logger.warn({ shard: i, lease: name, err: errorMessage(err) }, 'could not release the shard lease; it expires instead');
    }
    Object.assign(s, { state: 'free', lease: undefined, lastRenew: 0 });
  }

  private lose(i: number, why: string): void {
    const s = this.state[i] as Shard;
    if (s.state !== 'held') return;
    Object.assign(s, { state: 'free', lease: undefined, lastRenew: 0 });
    this.o.logger.warn({ shard: i, why, identity: this.o.identity }, 'shard lost');
    this.o.onLost(i);
  }

  /** A hold not renewed within the renew deadline ends here, before the Lease can expire for the others. */
  private expireStale(): void {
    const now = this.o.clock.now();
    this.state.forEach((s, i) => {
      if (s.state === 'held' && now - s.lastRenew >= this.o.renewDeadlineMs) this.lose(i, 'not renewed within the renew deadline');
    });
  }

  /** The controller has stopped every canary by now: give up every shard and the membership. */
  private async shutdown(): Promise<void> {
    await Promise.all([...this.releases]);
    const held = this.state.flatMap((s, i) => (s.state === 'held' ? [i] : []));
    await Promise.all(held.map((i) => this.release(i)));
    const signal = AbortSignal.timeout(2_000);
    await this.o.store.delete(this.o.namespace, memberLeaseName(this.o.group, this.o.identity), signal).catch((err: unknown) => this.o.logger.warn({ err: errorMessage(err) }, 'could not delete the member Lease'));
  }
}
