import type { Logger } from 'pino';
import { API_VERSION, CANARY_KIND, canaryKey, type Canary, type CanaryStatus, type ServiceRef, type WorkloadRef } from '../api/canary.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { KubeApiError } from '../kube/errors.js';
import { Reason } from '../events/reasons.js';
import type { Recorder } from '../events/recorder.js';
import { writeStatus, type CanaryStore } from './canary-store.js';
import type { ControllerMetrics } from './metrics.js';
import { configRefsOf, podTemplateRevision } from './pod-template-revision.js';
import { rolledOut, UNREADABLE, type WorkloadReader, type WorkloadState } from './workload-reader.js';
import { liveChanged, orient, planSlots, type SlotPlan, type SlotsSeen } from './workload-slots.js';

export interface WorkloadReleaseDeps {
  reader: WorkloadReader;
  store: CanaryStore;
  recorder: Recorder;
  clock: Clock;
  logger: Logger;
  metrics?: ControllerMetrics;
}

/** What the phase machine gets: the oriented Canary and the revision to work on, or a delay. */
export type Prepared = { kind: 'proceed'; canary: Canary; revision: string; pollMs: number } | { kind: 'wait'; ms: number };

const DEFAULT_READY_DEADLINE_MS = 10 * 60_000;
/** While a Deployment rolls out, how often to look again. */
const WAIT_POLL_MS = 2_000;

/**
 * Runs before each tick of a Canary with spec.workloads: reads both slots' Deployments (and what their
 * templates reference), records the slots in status, swaps them after a promotion, warns about changes
 * to the live slot, and holds a new revision until its Deployment has rolled out.
 */
export class WorkloadRelease {
  /** Secrets already reported as unreadable, so the log says it once per Secret, not once per poll. */
  private readonly unreadable = new Set<string>();

  constructor(private readonly deps: WorkloadReleaseDeps) {}

  async prepare(original: Canary, signal: AbortSignal): Promise<Prepared> {
    let c = orient(original);
    const pollMs = pollOf(c);
    const read = await this.read(c, signal).catch((err: unknown) => {
      // A refused read (403 without the grant, a bad name) is said in an Event; a transient one is retried.
      if (err instanceof KubeApiError && !err.transient) return { missing: `${errorMessage(err)}; nothing starts until it can be read` };
      throw err;
    });
    if ('missing' in read) {
      await this.event(c, Reason.WorkloadNotReady, read.missing, signal);
      return { kind: 'wait', ms: pollMs };
    }
    const { slots } = read;
    if (liveChanged(c.status, seenFor(c, slots))) {
      const seen = seenFor(c, slots);
      await this.liveWarning(c, seen, signal);
      c = await this.write(c, (s, fresh) => (fresh.status?.workloads?.live === seen.live.service ? { ...s, workloads: { ...s.workloads, live: seen.live.service, liveRevision: seen.live.revision } } : undefined), signal);
    }
    const nowIso = new Date(this.deps.clock.now()).toISOString();
    const plan = (x: Canary): SlotPlan => planSlots({ canary: x, seen: seenFor(x, slots), nowIso, readyDeadlineMs: readyDeadlineOf(x) });
    for (let pass = 0; pass < 3; pass++) {
      const p = plan(c);
      if (p.kind === 'proceed' && !p.status) return { kind: 'proceed', canary: c, revision: p.revision, pollMs };
      if (p.kind === 'wait' && c.status?.workloads?.waiting?.since === p.since) return this.waiting(c, read.states, p.since, pollMs, signal);
      // Each write plans again on the fresh copy (a stale one must not swap twice) and is made only if the plan holds.
      let done: SlotPlan | undefined;
      c = await this.write(
        c,
        (s, fresh) => {
          const q = plan(orient({ ...fresh, status: s }));
          done = q.kind === p.kind && 'status' in q ? q : undefined;
          return done && 'status' in done ? done.status : undefined;
        },
        signal,
      );
      const applied = done as SlotPlan | undefined;
      if (!applied) continue;
      switch (applied.kind) {
        case 'swap': {
          const message = `${applied.newLive} holds all the traffic and is now the live slot; ${applied.newIdle} is idle, and a new revision of its workload starts the next rollout`;
          await this.event(c, Reason.SlotsSwapped, message, signal, `${c.metadata.name}.${applied.status.revision ?? ''}.swapped`);
          continue;
        }
        case 'wait':
          return this.waiting(c, read.states, applied.since, pollMs, signal);
        case 'expire':
          await this.event(c, Reason.WorkloadDeadlineExceeded, applied.message, signal, `${c.metadata.name}.${applied.status.revision ?? ''}.deadline`);
          return { kind: 'wait', ms: pollMs };
        default:
          continue; // adopt, or a waiting mark cleared: plan again on what was written
      }
    }
    // Only a Canary changing under every write gets here; look again soon rather than loop.
    return { kind: 'wait', ms: Math.min(pollMs, WAIT_POLL_MS) };
  }

  private async waiting(c: Canary, states: Map<string, WorkloadState>, since: string, pollMs: number, signal: AbortSignal): Promise<Prepared> {
    await this.event(c, Reason.WorkloadNotReady, notReadyMessage(c, states.get(c.spec.canary.name), since), signal);
    return { kind: 'wait', ms: Math.min(pollMs, WAIT_POLL_MS) };
  }

  /** Both slots' revisions by Service name, so they read the same whichever slot is live. */
  private async read(c: Canary, signal: AbortSignal): Promise<{ slots: SlotRevisions; states: Map<string, WorkloadState> } | { missing: string }> {
    const w = c.spec.workloads;
    if (!w) throw new Error('read() needs spec.workloads');
    if (w.stable.name === w.canary.name && (c.spec.stable.namespace ?? '') === (c.spec.canary.namespace ?? '')) {
      return { missing: `spec.workloads names Deployment ${w.stable.name} for both slots; each Service needs its own` };
    }
    const slots: SlotRevisions = new Map();
    const states = new Map<string, WorkloadState>();
    for (const [svc, ref] of [
      [c.spec.stable, w.stable],
      [c.spec.canary, w.canary],
    ] as const) {
      const r = await this.revisionOf(c, svc, ref, signal);
      if ('missing' in r) return r;
      slots.set(svc.name, { revision: r.revision, ready: rolledOut(r.state) });
      states.set(svc.name, r.state);
    }
    return { slots, states };
  }

  private async revisionOf(c: Canary, svc: ServiceRef, ref: WorkloadRef, signal: AbortSignal): Promise<{ revision: string; state: WorkloadState } | { missing: string }> {
    const ns = svc.namespace ?? c.spec.routeRef.namespace ?? c.metadata.namespace ?? 'default';
    const state = await this.deps.reader.deployment(ns, ref.name, signal);
    if (!state) return { missing: `Deployment ${ns}/${ref.name} (behind Service ${svc.name}) does not exist; nothing starts until it does` };
    const refs = configRefsOf(state.template);
    const digests = new Map<string, string>();
    for (const name of refs.configMaps) digests.set(`configmap/${name}`, await this.deps.reader.digest('configmap', ns, name, signal));
    for (const name of refs.secrets) {
      const digest = await this.deps.reader.digest('secret', ns, name, signal);
      if (digest === UNREADABLE && !this.unreadable.has(`${ns}/${name}`)) {
        this.unreadable.add(`${ns}/${name}`);
        this.deps.logger.warn(
          { canary: canaryKey(c), secret: `${ns}/${name}` },
          'cannot read a Secret the pod template names (403): changes to it will not start a rollout until the namespace grants routeshift get on it (docs/install.md)',
        );
      }
      digests.set(`secret/${name}`, digest);
    }
    return { revision: podTemplateRevision(state.template, digests), state };
  }

  private async liveWarning(c: Canary, seen: SlotsSeen, signal: AbortSignal): Promise<void> {
    const ns = c.metadata.namespace ?? 'default';
    this.deps.metrics?.liveWorkloadChanges.inc({ namespace: ns, name: c.metadata.name });
    const message =
      `The workload behind the live slot ${seen.live.service} changed (revision ${c.status?.workloads?.liveRevision} -> ${seen.live.revision}): ` +
      `the change reached every client without analysis. Release through the idle slot ${seen.idle.service} instead`;
    await this.event(c, Reason.LiveWorkloadChanged, message, signal, `${c.metadata.name}.live.${c.status?.workloads?.liveRevision}.${seen.live.revision}`);
  }

  private async write(c: Canary, mutate: (s: CanaryStatus, fresh: Canary) => CanaryStatus | undefined, signal: AbortSignal): Promise<Canary> {
    return orient(await writeStatus(this.deps.store, c, mutate, signal));
  }

  private async event(c: Canary, reason: Reason, message: string, signal: AbortSignal, name?: string): Promise<boolean> {
    return this.deps.recorder.record(
      {
        object: { apiVersion: API_VERSION, kind: CANARY_KIND, metadata: c.metadata },
        reason,
        message,
        fields: { canary: canaryKey(c), phase: c.status?.phase, live: c.status?.workloads?.live },
        ...(name ? { name: name.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253) } : {}),
      },
      signal,
    );
  }
}

type SlotRevisions = Map<string, { revision: string; ready: boolean }>;

/** The slots as planSlots sees them on an oriented Canary: live is spec.stable. */
function seenFor(c: Canary, slots: SlotRevisions): SlotsSeen {
  const live = slots.get(c.spec.stable.name) ?? { revision: '', ready: false };
  const idle = slots.get(c.spec.canary.name) ?? { revision: '', ready: false };
  return { live: { service: c.spec.stable.name, revision: live.revision }, idle: { service: c.spec.canary.name, revision: idle.revision, ready: idle.ready } };
}

function notReadyMessage(c: Canary, d: WorkloadState | undefined, since: string): string {
  if (!d) return `Waiting since ${since} for the idle slot ${c.spec.canary.name}'s workload to roll out`;
  const name = c.spec.workloads?.canary.name ?? '';
  return (
    `Waiting since ${since} for Deployment ${name} (idle slot ${c.spec.canary.name}) to roll out its new revision before the rollout starts: ` +
    `${d.status.updated}/${d.desired} updated, ${d.status.available}/${d.desired} available, observed generation ${d.status.observedGeneration}/${d.generation}`
  );
}

function pollOf(c: Canary): number {
  try {
    return Math.min(Math.max(parseDuration(c.spec.analysis.interval), 1_000), 60_000);
  } catch {
    return 10_000;
  }
}

function readyDeadlineOf(c: Canary): number {
  const d = c.spec.workloads?.readyDeadline;
  try {
    return d ? parseDuration(d, 'spec.workloads.readyDeadline') : DEFAULT_READY_DEADLINE_MS;
  } catch {
    return DEFAULT_READY_DEADLINE_MS;
  }
}
