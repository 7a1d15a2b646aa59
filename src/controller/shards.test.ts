import { describe, expect, it } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { FakeClock, flushMicrotasks } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { KubeApiError } from '../kube/errors.js';
import { LeaseUnavailableError } from './leader.js';
import { assignShards, memberLeaseName, shardOf } from './shard-hash.js';
import { ShardCoordinator, type ShardLeaseStore } from './shards.js';

const SHARDS = 16;
const LEASE_MS = 4_000;
const RENEW_MS = 3_000;
const RETRY_MS = 500;

/** Leases in memory with the API server's optimistic concurrency: a replace with a stale resourceVersion gets 409. */
class FakeLeases implements ShardLeaseStore {
  readonly leases = new Map<string, V1Lease>();
  private rv = 0;
  failReplace: KubeApiError | undefined;
  failList: KubeApiError | undefined;

  private save(l: V1Lease): V1Lease {
    const copy = structuredClone(l);
    copy.metadata = { ...copy.metadata, resourceVersion: String(++this.rv) };
    this.leases.set(copy.metadata.name ?? '', copy);
    return structuredClone(copy);
  }
  async get(_ns: string, name: string): Promise<V1Lease | undefined> {
    const l = this.leases.get(name);
    return l ? structuredClone(l) : undefined;
  }
  async create(l: V1Lease): Promise<V1Lease> {
    if (this.leases.has(l.metadata?.name ?? '')) throw new KubeApiError(409, 'exists');
    return this.save(l);
  }
  async replace(l: V1Lease): Promise<V1Lease> {
    if (this.failReplace) throw this.failReplace;
    const cur = this.leases.get(l.metadata?.name ?? '');
    if (!cur || cur.metadata?.resourceVersion !== l.metadata?.resourceVersion) throw new KubeApiError(409, 'conflict');
    return this.save(l);
  }
  async list(_ns: string, selector: string): Promise<V1Lease[]> {
    if (this.failList) throw this.failList;
    const [k, v] = selector.split('=') as [string, string];
    return [...this.leases.values()].filter((l) => l.metadata?.labels?.[k] === v).map((l) => structuredClone(l));
  }
  async delete(_ns: string, name: string): Promise<void> {
    this.leases.delete(name);
  }
  holder(shard: number): string {
    return this.leases.get(`routeshift-leader-shard-${shard}`)?.spec?.holderIdentity ?? '';
  }
}

interface Replica {
  id: string;
  c: ShardCoordinator;
  acquired: number[];
  lost: number[];
  /** Drains in progress: resolve to let the shard go. */
  draining: Map<number, () => void>;
  autoDrain: boolean;
}

function replica(id: string, store: FakeLeases, clock: FakeClock, autoDrain = true): Replica {
  const r: Replica = { id, acquired: [], lost: [], draining: new Map(), autoDrain, c: undefined as unknown as ShardCoordinator };
  r.c = new ShardCoordinator({
    store,
    namespace: 'routeshift-system',
    group: 'routeshift-leader',
    identity: id,
    shards: SHARDS,
    clock,
    logger: silentLogger(),
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: RENEW_MS,
    retryPeriodMs: RETRY_MS,
    onAcquired: (s) => r.acquired.push(s),
    onLost: (s) => r.lost.push(s),
    onReleasing: (s) => (r.autoDrain ? Promise.resolve() : new Promise<void>((resolve) => r.draining.set(s, resolve))),
  });
  return r;
}

/** No shard is ever held by two replicas at once: the property sharding exists for. */
function expectFenced(rs: Replica[]): void {
  for (let s = 0; s < SHARDS; s++) expect(rs.filter((r) => r.c.holds(s)).map((r) => r.id).length).toBeLessThanOrEqual(1);
}

/** One round on each live replica, then the clock moves one retry period, checking the fence throughout. */
async function rounds(n: number, live: Replica[], all: Replica[], clock: FakeClock): Promise<void> {
  const signal = new AbortController().signal;
  for (let i = 0; i < n; i++) {
    for (const r of live) {
      await r.c.round(signal);
      await flushMicrotasks();
      expectFenced(all);
    }
    await clock.advance(RETRY_MS);
    expectFenced(all);
  }
}

describe('shard hashing', () => {
  it('puts a canary in the same shard on every replica and spreads keys over all shards', () => {
    expect(shardOf('prod/checkout', 32)).toBe(shardOf('prod/checkout', 32));
    const counts = new Array<number>(32).fill(0);
    for (let i = 0; i < 3200; i++) {
      const s = shardOf(`team-${i % 7}/canary-${i}`, 32);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(50);
    expect(Math.max(...counts)).toBeLessThan(150);
  });

  it('moves only the joiner\'s shards when a member joins, and only the leaver\'s when one leaves', () => {
    const three = assignShards(64, ['a', 'b', 'c']);
    const four = assignShards(64, ['c', 'a', 'b', 'd']);
    expect(assignShards(64, ['c', 'b', 'a'])).toEqual(three);
    const moved = four.flatMap((o, s) => (o !== three[s] ? [o] : []));
    expect(moved.length).toBeGreaterThan(64 / 4 / 2);
    expect(new Set(moved)).toEqual(new Set(['d']));
    const two = assignShards(64, ['a', 'c']);
    two.forEach((o, s) => {
      if (three[s] !== 'b') expect(o).toBe(three[s]);
    });
    for (const m of ['a', 'b', 'c']) expect(three.filter((o) => o === m).length).toBeGreaterThan(8);
  });

  it('names member Leases as DNS subdomains, distinct for identities that differ only in case', () => {
    expect(memberLeaseName('routeshift-leader', 'pod-1')).toBe('routeshift-leader-member-pod-1');
    const a = memberLeaseName('g', 'Pod_A');
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(a).not.toBe(memberLeaseName('g', 'pod_a'));
  });
});

describe('ShardCoordinator', () => {
  it('takes every shard when alone', async () => {
    const clock = new FakeClock();
    const store = new FakeLeases();
    const a = replica('a', store, clock);
    await rounds(1, [a], [a], clock);
    expect(a.c.held).toHaveLength(SHARDS);
    expect(a.acquired.sort((x, y) => x - y)).toEqual(Array.from({ length: SHARDS }, (_, i) => i));
    expect(a.c.owns('ns/x')).toBe(true);
    expect(store.leases.get('routeshift-leader-member-a')?.spec?.holderIdentity).toBe('a');
  });

  it('hands a joiner its shards only after the old holder drained them, never two holders at once', async () => {
    const clock = new FakeClock();
    const store = new FakeLeases();
    const a = replica('a', store, clock, false);
    const b = replica('b', store, clock);
    await rounds(1, [a], [a, b], clock);
    // b's first round publishes its member Lease; a sees it in its next.
    await rounds(2, [a, b], [a, b], clock);
    const bShards = assignShards(SHARDS, ['a', 'b']).flatMap((o, s) => (o === 'b' ? [s] : []));
    // a has seen b: it stops scheduling b's shards at once but holds their Leases while draining
    // (ticks in flight may still write).
    expect([...a.draining.keys()].sort((x, y) => x - y)).toEqual(bShards);
    for (const s of bShards) expect(a.c.held).not.toContain(s);
    for (const s of bShards) expect(a.c.holds(s)).toBe(true);
    await rounds(2, [a, b], [a, b], clock);
    expect(b.c.held).toEqual([]);
    for (const s of bShards) expect(store.holder(s)).toBe('a');
    // Drained: a releases, b takes them at its next round (without waiting for expiry).
    for (const done of a.draining.values()) done();
    await flushMicrotasks();
    await rounds(1, [a, b], [a, b], clock);
    expect(b.c.held).toEqual(bShards);
    expect(a.c.held.length + b.c.held.length).toBe(SHARDS);
    for (const s of bShards) expect(store.holder(s)).toBe('b');
    expect(a.lost).toEqual([]);
  });

  it('takes a dead replica\'s shards once their Leases expired, within leaseDuration plus one retry period', async () => {
    const clock = new FakeClock();
    const store = new FakeLeases();
    const a = replica('a', store, clock);
    const b = replica('b', store, clock);
    await rounds(4, [a, b], [a, b], clock);
    const bShards = b.c.held;
    expect(bShards.length).toBeGreaterThan(0);
    const killedAt = clock.now();
    // b stops renewing (SIGKILL): a may not take its shards before they expire...
    let takenAt: number | undefined;
    while (clock.now() - killedAt < 3 * LEASE_MS && takenAt === undefined) {
      await rounds(1, [a], [a, b], clock);
      if (bShards.every((s) => a.c.holds(s))) takenAt = clock.now();
      else for (const s of bShards) expect(store.holder(s)).toBe('b');
    }
    expect(takenAt).toBeDefined();
    const took = (takenAt as number) - killedAt;
    expect(took).toBeGreaterThanOrEqual(LEASE_MS);
    expect(took).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS);
    expect(a.c.held).toHaveLength(SHARDS);
    expect(a.c.liveMembers).toEqual(['a']);
    // ...and b, had it only been paused, would no longer trust its own hold.
    for (const s of bShards) expect(b.c.holds(s)).toBe(false);
  });

  it('stops acting on a shard it cannot renew within the renew deadline', async () => {
    const clock = new FakeClock();
    const store = new FakeLeases();
    const a = replica('a', store, clock);
    await rounds(1, [a], [a], clock);
    store.failReplace = new KubeApiError(503, 'unavailable');
    const ac = new AbortController();
    const done = a.c.run(ac.signal).catch((e: unknown) => e);
    // Last renewed one retry period ago (in rounds()): still trusted just before the deadline.
    await clock.advance(RENEW_MS - 2 * RETRY_MS);
    expect(a.lost).toEqual([]);
    expect(a.c.owns('ns/x')).toBe(true);
    await clock.advance(2 * RETRY_MS);
    expect(a.lost).toHaveLength(SHARDS);
    expect(a.c.owns('ns/x')).toBe(false);
    store.failReplace = undefined;
    ac.abort();
    await clock.advance(RETRY_MS);
    await done;
  });

  it('releases its shards and its member Lease when stopped', async () => {
    const clock = new FakeClock();
    const store = new FakeLeases();
    const a = replica('a', store, clock);
    const ac = new AbortController();
    const done = a.c.run(ac.signal);
    await clock.advance(RETRY_MS);
    expect(a.c.held).toHaveLength(SHARDS);
    ac.abort();
    await done;
    expect(store.leases.has('routeshift-leader-member-a')).toBe(false);
    for (let s = 0; s < SHARDS; s++) expect(store.holder(s)).toBe('');
  });

  it('ends with an error when the Leases cannot be read from the start', async () => {
    const clock = new FakeClock();
    const store = new FakeLeases();
    store.failList = new KubeApiError(403, 'leases is forbidden');
    const err = await replica('a', store, clock).c.run(new AbortController().signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseUnavailableError);
    expect((err as Error).message).toContain('deploy/base/rbac.yaml');
  });

  it('deletes the member Lease of a replica gone for good', async () => {
    const clock = new FakeClock();
    const store = new FakeLeases();
    const a = replica('a', store, clock);
    const b = replica('b', store, clock);
    await rounds(1, [a, b], [a, b], clock);
    expect(store.leases.has('routeshift-leader-member-b')).toBe(true);
    await rounds((6 * LEASE_MS) / RETRY_MS, [a], [a, b], clock);
    expect(store.leases.has('routeshift-leader-member-b')).toBe(false);
  });
});
