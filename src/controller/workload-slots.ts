import { createHash } from 'node:crypto';
import type { CanaryStore } from './canary-store.js';
import { setCondition } from './conditions.js';
import { ANNOTATIONS, type Canary, type CanaryStatus, type Phase, type WorkloadsStatus } from '../api/canary.js';

/**
 * The two slots of a Canary with spec.workloads (issue 17): each a Service and the Deployment behind
 * it. The live slot holds the traffic, the idle slot holds 0 and receives the next release. Which is
 * live is kept in status.workloads.live, so a promotion swaps the roles without editing the spec.
 * Pure: the reads and writes are in workload-release.ts.
 */

const ACTIVE: ReadonlySet<Phase> = new Set<Phase>(['Initializing', 'Progressing', 'Waiting', 'Paused', 'Promoting', 'RollingBack']);

/** Service name of the live slot: status.workloads.live, else the one spec.stable names. */
export function liveService(c: Canary): string {
  return c.status?.workloads?.live ?? c.spec.stable.name;
}

/**
 * The Canary as the phase machine must see it: spec.stable is the live slot and spec.canary the idle
 * one. Idempotent, so it may be applied to a Canary already oriented; spec is never written back (status
 * writes go to the status subresource, which ignores spec).
 */
export function orient(c: Canary): Canary {
  const w = c.spec.workloads;
  if (!w || liveService(c) !== c.spec.canary.name || c.spec.canary.name === c.spec.stable.name) return c;
  return {
    ...c,
    spec: { ...c.spec, stable: c.spec.canary, canary: c.spec.stable, workloads: { ...w, stable: w.canary, canary: w.stable } },
  };
}

/**
 * What a rollout is of: the idle slot and its revision, plus the retry annotation so that
 * `routeshift retry` reruns a revision that was rolled back.
 */
export function rolloutRevision(idleService: string, idleRevision: string, retry: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify(['workload', idleService, idleRevision, retry ?? '']))
    .digest('hex')
    .slice(0, 10);
}

/** What was read of the two slots this tick (already oriented: live is spec.stable). */
export interface SlotsSeen {
  live: { service: string; revision: string };
  idle: { service: string; revision: string; ready: boolean };
}

export type SlotPlan =
  /** First sight: record the slots; an idle Canary takes the idle slot's template as already released. */
  | { kind: 'adopt'; status: CanaryStatus }
  /** A promotion ended: the slot at 100 is now live. */
  | { kind: 'swap'; status: CanaryStatus; newLive: string; newIdle: string }
  /** The idle Deployment has a new revision but has not rolled it out yet. */
  | { kind: 'wait'; status: CanaryStatus; since: string }
  /** It did not roll out within readyDeadline: the revision ends as failed, with no traffic sent to it. */
  | { kind: 'expire'; status: CanaryStatus; message: string }
  /** Run the phase machine on this revision. */
  | { kind: 'proceed'; revision: string; status?: CanaryStatus };

export interface PlanInput {
  canary: Canary; // oriented
  seen: SlotsSeen;
  nowIso: string;
  readyDeadlineMs: number;
}

/** The one slot decision of a tick. A live-slot change is reported separately (liveChanged). */
export function planSlots({ canary, seen, nowIso, readyDeadlineMs }: PlanInput): SlotPlan {
  const s = canary.status ?? {};
  const retry = canary.metadata.annotations?.[ANNOTATIONS.retry];
  const phase = s.phase;
  const active = phase !== undefined && ACTIVE.has(phase);
  const target = rolloutRevision(seen.idle.service, seen.idle.revision, retry);
  const w: WorkloadsStatus = s.workloads ?? { live: seen.live.service, liveRevision: seen.live.revision };

  if (!s.workloads) {
    // An explicit-pair Canary gaining spec.workloads keeps its rollout; one at rest adopts what runs.
    const adopted: CanaryStatus = { ...s, workloads: w };
    if (!active) Object.assign(adopted, { revision: target, lastCompletedRevision: target, phase: phase ?? 'Succeeded', message: atRest(seen) });
    return { kind: 'adopt', status: adopted };
  }
  if (phase === 'Succeeded' && s.canaryWeight === 100) {
    // The idle slot was promoted: it becomes live, and what the old live slot runs is the new baseline.
    const rev = rolloutRevision(seen.live.service, seen.live.revision, retry);
    const swapped = { live: seen.idle.service, idle: seen.live.service };
    return {
      kind: 'swap',
      newLive: swapped.live,
      newIdle: swapped.idle,
      status: {
        ...s,
        canaryWeight: 0,
        stepIndex: -1,
        revision: rev,
        lastCompletedRevision: rev,
        workloads: { live: swapped.live, liveRevision: seen.idle.revision },
        message: `${swapped.live} is live; a new revision of ${swapped.idle}'s workload starts the next rollout`,
      },
    };
  }
  if (target === s.revision || active || seen.idle.ready) {
    const { waiting: _done, ...rest } = w;
    return { kind: 'proceed', revision: target, ...(w.waiting ? { status: { ...s, workloads: rest } } : {}) };
  }
  const since = w.waiting?.revision === target ? w.waiting.since : nowIso;
  if (Date.parse(nowIso) - Date.parse(since) > readyDeadlineMs) {
    const { waiting: _gone, ...rest } = w;
    const message = `The workload behind ${seen.idle.service} did not roll out revision ${seen.idle.revision} within readyDeadline; no traffic was sent to it`;
    const conditions = setCondition(s.conditions, 'Ready', 'False', 'WorkloadNotReady', message, nowIso, canary.metadata.generation);
    return { kind: 'expire', message, status: { ...s, revision: target, lastCompletedRevision: target, phase: 'Failed', message, conditions, workloads: rest } };
  }
  return { kind: 'wait', since, status: { ...s, workloads: { ...w, waiting: { revision: target, since } } } };
}

/** The live slot's revision differs from the one last seen: it reached every client without analysis. */
export function liveChanged(status: CanaryStatus | undefined, seen: SlotsSeen): boolean {
  const before = status?.workloads?.liveRevision;
  return before !== undefined && status?.workloads?.live === seen.live.service && before !== seen.live.revision;
}

function atRest(seen: SlotsSeen): string {
  return `${seen.live.service} is live; a new revision of ${seen.idle.service}'s workload starts a rollout`;
}

/** The store the phase machine writes through: every Canary it returns is oriented (see orient). */
export function orientedStore(store: CanaryStore): CanaryStore {
  return {
    get: async (namespace, name, signal) => orient(await store.get(namespace, name, signal)),
    list: (signal, namespace) => store.list(signal, namespace),
    replaceStatus: async (canary, signal) => orient(await store.replaceStatus(canary, signal)),
    patch: async (namespace, name, body, signal) => orient(await store.patch(namespace, name, body, signal)),
  };
}
