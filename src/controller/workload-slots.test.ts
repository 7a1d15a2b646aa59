import type { Canary, CanaryStatus } from '../api/canary.js';
import { liveChanged, orient, planSlots, rolloutRevision, type SlotsSeen } from './workload-slots.js';

const NOW = '2026-12-07T10:00:00.000Z';
const DEADLINE = 60_000;

function canary(status?: CanaryStatus, annotations?: Record<string, string>): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'ns', generation: 1, ...(annotations ? { annotations } : {}) },
    spec: {
      routeRef: { name: 'split' },
      stable: { name: 'app-blue', port: 80 },
      canary: { name: 'app-green', port: 80 },
      analysis: { interval: '5s', threshold: 2 },
      workloads: { stable: { name: 'blue' }, canary: { name: 'green' } },
    },
    ...(status ? { status } : {}),
  };
}

function seen(idleRevision = 'g1', ready = true, liveRevision = 'b1'): SlotsSeen {
  return { live: { service: 'app-blue', revision: liveRevision }, idle: { service: 'app-green', revision: idleRevision, ready } };
}

const plan = (c: Canary, s: SlotsSeen, nowIso = NOW) => planSlots({ canary: orient(c), seen: s, nowIso, readyDeadlineMs: DEADLINE });
const atRest = (revision: string, extra: CanaryStatus = {}): CanaryStatus => ({
  phase: 'Succeeded',
  revision,
  lastCompletedRevision: revision,
  canaryWeight: 0,
  workloads: { live: 'app-blue', liveRevision: 'b1' },
  ...extra,
});

describe('orient', () => {
  it('leaves a Canary whose live slot is spec.stable as it is', () => {
    const c = canary(atRest('r'));
    expect(orient(c)).toBe(c);
  });

  it('swaps the Services and workloads when spec.canary is live, and is idempotent', () => {
    const c = canary(atRest('r', { workloads: { live: 'app-green' } }));
    const o = orient(c);
    expect([o.spec.stable.name, o.spec.canary.name, o.spec.workloads?.stable.name, o.spec.workloads?.canary.name]).toEqual(['app-green', 'app-blue', 'green', 'blue']);
    expect(orient(o)).toBe(o);
  });

  it('leaves an explicit-pair Canary alone', () => {
    const c = canary({ workloads: { live: 'app-green' } });
    delete c.spec.workloads;
    expect(orient(c)).toBe(c);
  });
});

describe('planSlots', () => {
  it('adopts a new Canary without a rollout: what the idle slot runs counts as released', () => {
    const p = plan(canary(), seen());
    expect(p.kind).toBe('adopt');
    const r = rolloutRevision('app-green', 'g1', undefined);
    expect(p.kind === 'adopt' && p.status).toMatchObject({ phase: 'Succeeded', revision: r, lastCompletedRevision: r, workloads: { live: 'app-blue', liveRevision: 'b1' } });
  });

  it('adopting keeps a rollout in flight as it is (only records the slots)', () => {
    const p = plan(canary({ phase: 'Progressing', revision: 'pair', canaryWeight: 25 }), seen());
    expect(p.kind === 'adopt' && p.status).toEqual({ phase: 'Progressing', revision: 'pair', canaryWeight: 25, workloads: { live: 'app-blue', liveRevision: 'b1' } });
  });

  it('proceeds on the same revision while nothing changed', () => {
    const r = rolloutRevision('app-green', 'g1', undefined);
    expect(plan(canary(atRest(r)), seen())).toEqual({ kind: 'proceed', revision: r });
  });

  it('a new idle template that has rolled out is a new revision for the phase machine', () => {
    const p = plan(canary(atRest(rolloutRevision('app-green', 'g1', undefined))), seen('g2', true));
    expect(p).toEqual({ kind: 'proceed', revision: rolloutRevision('app-green', 'g2', undefined) });
  });

  it('waits while the idle Deployment rolls out, keeping the first time it was seen', () => {
    const c = canary(atRest(rolloutRevision('app-green', 'g1', undefined)));
    const first = plan(c, seen('g2', false));
    expect(first).toMatchObject({ kind: 'wait', since: NOW });
    const later = plan({ ...c, status: first.kind === 'wait' ? first.status : {} }, seen('g2', false), '2026-12-07T10:00:30.000Z');
    expect(later).toMatchObject({ kind: 'wait', since: NOW });
  });

  it('a second new template while waiting restarts the wait', () => {
    const since = '2026-12-07T09:59:00.000Z';
    const c = canary(atRest('r1', { workloads: { live: 'app-blue', liveRevision: 'b1', waiting: { revision: rolloutRevision('app-green', 'g2', undefined), since } } }));
    expect(plan(c, seen('g3', false))).toMatchObject({ kind: 'wait', since: NOW });
  });

  it('fails the revision once the wait passes readyDeadline, with no traffic moved', () => {
    const target = rolloutRevision('app-green', 'g2', undefined);
    const since = '2026-12-07T09:58:00.000Z';
    const p = plan(canary(atRest('r1', { workloads: { live: 'app-blue', liveRevision: 'b1', waiting: { revision: target, since } } })), seen('g2', false));
    expect(p.kind).toBe('expire');
    expect(p.kind === 'expire' && p.status).toMatchObject({ phase: 'Failed', revision: target, lastCompletedRevision: target, canaryWeight: 0, workloads: { live: 'app-blue' } });
    expect(p.kind === 'expire' && p.status.workloads?.waiting).toBeUndefined();
  });

  it('clears the waiting mark once the Deployment has rolled out', () => {
    const target = rolloutRevision('app-green', 'g2', undefined);
    const p = plan(canary(atRest('r1', { workloads: { live: 'app-blue', liveRevision: 'b1', waiting: { revision: target, since: NOW } } })), seen('g2', true));
    expect(p.kind === 'proceed' && p.revision).toBe(target);
    expect(p.kind === 'proceed' && p.status?.workloads).toEqual({ live: 'app-blue', liveRevision: 'b1' });
  });

  it('swaps the roles after a promotion: the promoted slot is live, the other is idle at its current template', () => {
    const p = plan(canary(atRest(rolloutRevision('app-green', 'g2', undefined), { canaryWeight: 100, stepIndex: 3 })), seen('g2'));
    expect(p.kind).toBe('swap');
    if (p.kind !== 'swap') return;
    expect([p.newLive, p.newIdle]).toEqual(['app-green', 'app-blue']);
    const r = rolloutRevision('app-blue', 'b1', undefined);
    expect(p.status).toMatchObject({ phase: 'Succeeded', canaryWeight: 0, stepIndex: -1, revision: r, lastCompletedRevision: r, workloads: { live: 'app-green', liveRevision: 'g2' } });
    // After the swap the old live slot is idle: its unchanged template starts nothing.
    const next = plan(canary(p.status), { live: { service: 'app-green', revision: 'g2' }, idle: { service: 'app-blue', revision: 'b1', ready: true } });
    expect(next).toEqual({ kind: 'proceed', revision: r });
  });

  it('after a rollback the failed template stays remembered until it changes or a retry', () => {
    const failed = rolloutRevision('app-green', 'bad', undefined);
    const c = canary(atRest(failed, { phase: 'Failed' }));
    expect(plan(c, seen('bad'))).toEqual({ kind: 'proceed', revision: failed });
    expect(plan(c, seen('fixed')).kind === 'proceed' && plan(c, seen('fixed'))).toMatchObject({ revision: rolloutRevision('app-green', 'fixed', undefined) });
    const retried = canary(atRest(failed, { phase: 'Failed' }), { 'routeshift.io/retry': 'once more' });
    const p = plan(retried, seen('bad'));
    expect(p.kind === 'proceed' && p.revision).toBe(rolloutRevision('app-green', 'bad', 'once more'));
    expect(p.kind === 'proceed' && p.revision).not.toBe(failed);
  });

  it('a change during a rollout goes to the phase machine at once (it restarts the analysis)', () => {
    const c = canary({ ...atRest('r1'), phase: 'Progressing', canaryWeight: 25 });
    expect(plan(c, seen('g9', false))).toEqual({ kind: 'proceed', revision: rolloutRevision('app-green', 'g9', undefined) });
  });
});

describe('liveChanged', () => {
  it('is true only when the live slot recorded earlier runs another revision', () => {
    const s = atRest('r');
    expect(liveChanged(s, seen('g1', true, 'b1'))).toBe(false);
    expect(liveChanged(s, seen('g1', true, 'b2'))).toBe(true);
    expect(liveChanged({}, seen('g1', true, 'b2'))).toBe(false);
    expect(liveChanged({ ...s, workloads: { live: 'app-green', liveRevision: 'x' } }, seen('g1', true, 'b2'))).toBe(false);
  });
});
