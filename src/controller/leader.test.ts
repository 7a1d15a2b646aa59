import { describe, expect, it } from '@jest/globals';
import type { V1Lease } from '@kubernetes/client-node';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { KubeApiError } from '../kube/errors.js';
import { LeaderElector, LeaseUnavailableError, type LeaseStore } from './leader.js';

/** A Lease store whose calls fail as told, or keep one Lease in memory. */
function store(fail: { get?: KubeApiError; create?: KubeApiError } = {}): LeaseStore & { lease?: V1Lease } {
  const s: LeaseStore & { lease?: V1Lease } = {
    async get() {
      if (fail.get) throw fail.get;
      return s.lease;
    },
    async create(lease) {
      if (fail.create) throw fail.create;
      s.lease = lease;
      return lease;
    },
    async replace(lease) {
      s.lease = lease;
      return lease;
    },
  };
  return s;
}

function elector(leases: LeaseStore, clock = new FakeClock()): { e: LeaderElector; led: string[] } {
  const led: string[] = [];
  const e = new LeaderElector({
    store: leases,
    namespace: 'routeshift-system',
    name: 'routeshift-leader',
    identity: 'me',
    clock,
    logger: silentLogger(),
    onStartedLeading: () => led.push('start'),
    onStoppedLeading: () => led.push('stop'),
  });
  return { e, led };
}

describe('LeaderElector when the Lease cannot be used from the start', () => {
  it('ends with an error naming the missing namespace', async () => {
    const { e, led } = elector(store({ create: new KubeApiError(404, 'create Lease: HTTP 404: namespaces "routeshift-system" not found') }));
    const err = await e.run(new AbortController().signal).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(LeaseUnavailableError);
    expect((err as LeaseUnavailableError).code).toBe('LeaseUnavailable');
    expect((err as Error).message).toContain('Lease routeshift-system/routeshift-leader: namespace "routeshift-system" does not exist');
    expect(led).toEqual([]);
  });

  it('ends with an error saying what to grant when access is forbidden', async () => {
    const { e } = elector(store({ get: new KubeApiError(403, 'get Lease routeshift-system/routeshift-leader: HTTP 403: forbidden') }));
    await expect(e.run(new AbortController().signal)).rejects.toThrow(/HTTP 403: forbidden \(grant create, and get\/update on this Lease/);
  });

  it('keeps retrying an API server that does not answer yet', async () => {
    const clock = new FakeClock();
    const { e } = elector(store({ get: new KubeApiError(0, 'get Lease: connect ECONNREFUSED') }), clock);
    const stop = new AbortController();
    let ended = false;
    const running = e.run(stop.signal).then(() => (ended = true));
    await clock.advance(10_000);
    expect(ended).toBe(false);
    stop.abort();
    await running;
    expect(ended).toBe(true);
  });

  it('leads when the Lease works', async () => {
    const clock = new FakeClock();
    const leases = store();
    const { e, led } = elector(leases, clock);
    const stop = new AbortController();
    const running = e.run(stop.signal);
    await clock.advance(1);
    expect(led).toEqual(['start']);
    expect(leases.lease?.spec?.holderIdentity).toBe('me');
    stop.abort();
    await running;
    expect(led).toEqual(['start', 'stop']);
  });
});
