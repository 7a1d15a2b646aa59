import type { Logger } from 'pino';
import { ANNOTATIONS, API_VERSION, CANARY_KIND, canaryKey, type Canary, type CanaryStatus, type HookType, type Phase } from '../api/canary.js';
import { handedOver } from '../analysis/policy.js';
import type { DecisionInput, DecisionResult, GateResult, Measurement } from '../analysis/types.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { errorCode, errorMessage, InvalidSpecError, RouteshiftError } from '../core/errors.js';
import { Reason } from '../events/reasons.js';
import type { Recorder } from '../events/recorder.js';
import {
  describeRouteKey,
  locateOwnedBackends,
  readWeights,
  routeKeyFor,
  routeProgrammed,
  setWeights,
  type RouteClient,
  type RouteKey,
  type SetWeightsResult,
} from '../routing/index.js';
import { writeStatus, type CanaryStore } from './canary-store.js';
import { setCondition } from './conditions.js';
import type { ControllerMetrics } from './metrics.js';
import { REFERENCE_RECHECK_MS, type RefNotPermittedError } from './reference-grants.js';
import { revisionOf } from './revision.js';
import type { Prepared } from './workload-release.js';

/** Everything a tick needs, injected so the phase machine runs against fakes and a fake clock in tests. */
export interface ReconcilerDeps {
  clock: Clock;
  logger: Logger;
  recorder: Recorder;
  metrics?: ControllerMetrics;
  store: CanaryStore;
  routes: RouteClient;
  /** Offline checks of the spec (steps, templates, PromQL); every problem with its path. */
  validate: (canary: Canary) => Array<{ path: string; message: string }>;
  /** The measuring half: run this tick's queries. Throws InvalidSpecError for spec problems. */
  measure: (canary: Canary, signal: AbortSignal) => Promise<Measurement[]>;
  /** The assessing half (pure). */
  decide: (input: DecisionInput) => DecisionResult;
  stepsOf: (canary: Canary) => number[];
  /** Runs the canary's hooks of one type; [] when it has none. */
  gates: (canary: Canary, type: HookType, weight: number, approved: boolean, signal: AbortSignal) => Promise<GateResult[]>;
  /** Only this mesh controller's route status counts when set. */
  controllerName?: string;
  /** Releases from the workload (spec.workloads): orients the slots and holds a revision until it has rolled out. */
  workloads?: { prepare(canary: Canary, signal: AbortSignal): Promise<Prepared> };
  /** Refuses references to other namespaces without a ReferenceGrant (reference-grants.ts); unset: no check. */
  references?: (canary: Canary, signal: AbortSignal) => Promise<RefNotPermittedError | undefined>;
}

const ACTIVE: ReadonlySet<Phase> = new Set<Phase>(['Initializing', 'Progressing', 'Waiting', 'Paused', 'Promoting', 'RollingBack']);
/** After a final weight change, how soon to look again for the mesh to confirm it. */
const CONFIRM_DELAY_MS = 1_000;
/** How soon an Event that failed to write is tried again. */
const PENDING_EVENT_RETRY_MS = 2_000;
/** Older owed Events kept in status at most (status.owedEvents). */
const MAX_OWED_EVENTS = 20;
/** How long the mesh may take to confirm a final weight before we say we are waiting. */
const QUIET_WAIT_MS = 10_000;
/** When the route changed under us (a failed `test` op), re-read soon. */
const ROUTE_RETRY_MS = 1_000;

type Tick = {
  canary: Canary;
  status: CanaryStatus;
  now: number;
  nowIso: string;
  signal: AbortSignal;
  log: Logger;
  resuming?: boolean;
  /** Owed transition Events (pendingEvent, owedEvents) this tick has written, so a write may drop them. */
  written?: Set<string>;
  /** Older owed Events (owedEvents) this tick has tried to write: each is tried once per tick. */
  tried?: Set<string>;
  /** The revision spec.workloads gives (the idle slot's); else revisionOf(). */
  revision?: string;
};

/**
 * The phase machine. Status is the record of intent: each move is written to status (with its Event)
 * before the route is patched, and every tick first brings the route to the weight status names. So a
 * controller killed between the two finishes the move on restart, and no step is skipped or repeated.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  /** One tick for one Canary; returns ms until the next, or undefined to wait for a change. */
  async reconcile(canary: Canary, signal: AbortSignal): Promise<number | undefined> {
    const now = this.deps.clock.now();
    const t: Tick = {
      canary,
      status: structuredClone(canary.status ?? {}),
      now,
      nowIso: new Date(now).toISOString(),
      signal,
      log: this.deps.logger.child({ namespace: canary.metadata.namespace, name: canary.metadata.name }),
    };
    if ((canary.metadata as { deletionTimestamp?: string }).deletionTimestamp) return undefined;
    try {
      const slots = canary.spec?.workloads && this.deps.workloads ? await this.deps.workloads.prepare(canary, signal) : undefined;
      if (slots?.kind === 'wait') return slots.ms;
      if (slots) Object.assign(t, { canary: slots.canary, status: structuredClone(slots.canary.status ?? {}), revision: slots.revision });
      // A Canary at rest still looks at its workloads once per poll.
      const next = slots ? Math.min((await this.step(t)) ?? slots.pollMs, slots.pollMs) : await this.step(t);
      // An owed transition Event (its write failed) is retried soon, even by an idle Canary.
      const owes = t.status.pendingEvent || (t.status.owedEvents?.length ?? 0) > 0;
      return owes ? Math.min(next ?? PENDING_EVENT_RETRY_MS, PENDING_EVENT_RETRY_MS) : next;
    } finally {
      const s = t.canary.status ?? {};
      const ns = canary.metadata.namespace ?? 'default';
      this.deps.metrics?.setCanary(ns, canary.metadata.name, s.phase, s.canaryWeight, s.failedChecks);
      // t.canary: with spec.workloads, the slots as they are now (the live one is stable).
      const spec = t.canary.spec;
      if (spec?.stable && spec.canary && spec.routeRef) this.deps.metrics?.setInfo(ns, canary.metadata.name, spec.stable.name, spec.canary.name, spec.routeRef.name);
    }
  }

  private async step(t: Tick): Promise<number | undefined> {
    const problems = this.deps.validate(t.canary);
    if (problems.length > 0) return this.invalid(t, new InvalidSpecError(problems));

    const revision = t.revision ?? revisionOf(t.canary);
    // A Canary whose revision is done reads and patches nothing, so it needs no grant until its spec changes.
    const idle = t.status.revision === revision && !ACTIVE.has(t.status.phase ?? 'Initializing');
    const refused = idle ? undefined : await this.deps.references?.(t.canary, t.signal);
    if (refused) {
      // Checked again later: a ReferenceGrant created afterwards lets the rollout go on without an edit.
      if (t.status.conditions?.find((c) => c.type === 'Ready')?.message !== refused.message) await this.invalid(t, refused);
      return REFERENCE_RECHECK_MS;
    }
    if (t.status.conditions?.find((c) => c.type === 'Ready')?.reason === Reason.RefNotPermitted && ACTIVE.has(t.status.phase ?? 'Initializing')) {
      await this.commit(t, (s) => ({ ...s, conditions: setCondition(s.conditions, 'Ready', 'True', 'Progressing', 'References permitted again', t.nowIso, t.canary.metadata.generation) }));
    }
    if (t.status.revision !== revision) return this.startRollout(t, revision);
    await this.announcePending(t);

    const phase = t.status.phase ?? 'Initializing';
    if (!ACTIVE.has(phase)) return undefined; // Succeeded / Failed / Invalid: idle until the spec or a retry changes the revision

    const abort = this.newRequest(t, ANNOTATIONS.abort);
    if (abort !== undefined && phase !== 'RollingBack') {
      return this.beginRollback(t, `Rollback requested by an operator (${ANNOTATIONS.abort}=${abort})`, 'Aborted', { [ANNOTATIONS.abort]: abort });
    }
    switch (phase) {
      case 'Promoting':
        return this.finish(t, 100, 'Succeeded');
      case 'RollingBack':
        return this.finish(t, 0, 'Failed');
      case 'Paused':
        if (t.canary.spec.suspend) return undefined;
        // A rollout paused before its first step goes back to initialising (gates, first weight).
        await this.commit(t, (s) => ({ ...s, phase: (s.stepIndex ?? -1) < 0 ? 'Initializing' : 'Progressing', message: 'Resumed' }));
        await this.event(t, Reason.Resumed, `Rollout resumed at canary weight ${t.status.canaryWeight ?? 0}`);
        return 0;
      case 'Initializing':
        return this.initialize(t);
      case 'Waiting':
        return (t.status.stepIndex ?? -1) < 0 ? this.initialize(t) : this.progress(t);
      default:
        return this.progress(t);
    }
  }

  private interval(t: Tick): number {
    return parseDuration(t.canary.spec.analysis.interval, 'spec.analysis.interval');
  }

  // --- rollout start ------------------------------------------------------------------------------

  private async startRollout(t: Tick, revision: string): Promise<number | undefined> {
    const ref = this.routeKey(t);
    let current = 0;
    try {
      const route = await this.deps.routes.get(ref, t.signal);
      current = readWeights(route, locateOwnedBackends(route, this.locateInput(t))).canaryPercent;
    } catch (err) {
      return this.routeProblem(t, err);
    }
    const steps = this.deps.stepsOf(t.canary);
    const previous = t.status.revision;
    // Requests made before this rollout existed (e.g. an abort left on an idle Canary) must not act on it.
    const stale: Record<string, string> = {};
    for (const a of [ANNOTATIONS.promote, ANNOTATIONS.abort, ANNOTATIONS.approve]) {
      const v = t.canary.metadata.annotations?.[a];
      if (v) stale[a] = v;
    }
    const { stable, canary } = t.canary.spec;
    const announce =
      `Rollout started${previous ? ' (new revision)' : ''}: stable ${stable.name}:${stable.port}, canary ${canary.name}:${canary.port}, ` +
      `canary weight now ${current}, steps ${steps.join(', ')} then 100`;
    await this.transition(t, Reason.RolloutStarted, announce, (s) => ({
      ...s,
      phase: 'Initializing',
      revision,
      canaryWeight: current,
      stepIndex: -1,
      failedChecks: 0,
      inconclusiveChecks: 0,
      errorStreaks: {},
      evidence: [],
      lastAnalysis: [],
      rolloutStartTime: t.nowIso,
      stepStartTime: t.nowIso,
      handledAnnotations: { ...s.handledAnnotations, ...stale },
      lastTransitionTime: t.nowIso,
      observedGeneration: t.canary.metadata.generation,
      conditions: setCondition(s.conditions, 'Ready', 'True', 'Progressing', 'Rollout started', t.nowIso, t.canary.metadata.generation),
      message: `Rollout of ${t.canary.spec.canary.name} started`,
    }));
    return 0;
  }

  private async initialize(t: Tick): Promise<number | undefined> {
    if (t.canary.spec.suspend) {
      // A suspended Canary holds a new rollout before anything moves: no gates, no first step.
      await this.commit(t, (s) => ({ ...s, phase: 'Paused', message: 'Paused (spec.suspend) before the first step' }));
      await this.event(t, Reason.Paused, `Rollout paused before its first step at canary weight ${t.status.canaryWeight ?? 0}`);
      return undefined;
    }
    const approve = this.newRequest(t, ANNOTATIONS.approve);
    const confirm = await this.deps.gates(t.canary, 'confirm-rollout', t.status.canaryWeight ?? 0, approve !== undefined, t.signal);
    const closed = confirm.filter((g) => !g.passed);
    if (closed.length > 0) {
      const msg = `Waiting for confirm-rollout: ${closed.map((g) => g.message).join('; ')}`;
      if (t.status.message !== msg) await this.commit(t, (s) => ({ ...s, phase: 'Waiting', message: msg }));
      await this.event(t, Reason.WaitingForGate, msg);
      return Math.min(this.interval(t), 10_000);
    }
    if (approve !== undefined && confirm.length > 0) await this.commit(t, (s) => ({ ...s, handledAnnotations: { ...s.handledAnnotations, [ANNOTATIONS.approve]: approve } }));
    const gates = await this.deps.gates(t.canary, 'pre-rollout', t.status.canaryWeight ?? 0, false, t.signal);
    const failed = gates.filter((g) => !g.passed);
    if (failed.length > 0) {
      const failedChecks = (t.status.failedChecks ?? 0) + 1;
      const threshold = t.canary.spec.analysis.threshold;
      const msg = failed.map((g) => g.message).join('; ');
      if (failedChecks >= threshold) return this.beginRollback(t, `Pre-rollout checks failed ${failedChecks}/${threshold}: ${msg}`, 'ThresholdReached');
      await this.commit(t, (s) => ({ ...s, failedChecks, message: msg }));
      await this.event(t, Reason.HookFailed, `Pre-rollout check failed (${failedChecks}/${threshold}): ${msg}`);
      return this.interval(t);
    }
    const steps = this.deps.stepsOf(t.canary);
    const first = t.canary.spec.skipAnalysis ? 100 : (steps[0] ?? 100);
    if (first >= 100) return this.beginPromotion(t, `Promoting without analysis (skipAnalysis): canary weight ${t.status.canaryWeight ?? 0} -> 100`);
    const from = t.status.canaryWeight ?? 0;
    const msg = from === first ? `Canary weight is at the first step, ${first} (step 1/${steps.length})` : `Shifted canary weight ${from} -> ${first} (step 1/${steps.length})`;
    return this.moveTo(t, 0, first, msg);
  }

  // --- progressing --------------------------------------------------------------------------------

  private async progress(t: Tick): Promise<number | undefined> {
    const target = t.status.canaryWeight ?? 0;
    const applied = await this.ensureRoute(t, target);
    if (typeof applied === 'number' || applied === undefined) return applied;

    const interval = this.interval(t);
    const deadline = this.deadline(t);
    const stepStart = Date.parse(t.status.stepStartTime ?? t.nowIso);

    if (t.canary.spec.suspend) {
      await this.commit(t, (s) => ({ ...s, phase: 'Paused', message: 'Paused (spec.suspend)' }));
      await this.event(t, Reason.Paused, `Rollout paused at canary weight ${target}`);
      return undefined;
    }

    // The analysis window at this weight must be full before it is judged.
    const lastAnalysis = Math.max(stepStart, Date.parse(t.status.lastAnalysisTime ?? '') || 0);
    const due = lastAnalysis + interval;
    if (t.now < due) return due - t.now;

    // Judge only what the mesh has actually programmed.
    const readiness = routeProgrammed(applied.route, this.deps.controllerName ? { controllerName: this.deps.controllerName } : {});
    if (!readiness.ready) {
      if (deadline !== undefined && t.now - stepStart > deadline) {
        return this.beginRollback(t, `Route not programmed within progressDeadline: ${readiness.message}`, 'ProgressDeadline');
      }
      await this.event(t, Reason.WaitingForRoute, `Waiting for the mesh to program canary weight ${target}: ${readiness.message}`);
      return Math.min(interval, 2_000);
    }

    let measurements: Measurement[] = [];
    if (!t.canary.spec.skipAnalysis) {
      try {
        measurements = await this.deps.measure(t.canary, t.signal);
      } catch (err) {
        if (err instanceof InvalidSpecError) return this.invalid(t, err);
        throw err;
      }
    }
    const steps = this.deps.stepsOf(t.canary);
    const atLast = (t.status.stepIndex ?? -1) >= steps.length - 1;
    const approve = this.newRequest(t, ANNOTATIONS.approve);
    const gates = [
      ...(await this.deps.gates(t.canary, 'rollout', target, false, t.signal)),
      ...(await this.deps.gates(t.canary, atLast ? 'confirm-promotion' : 'confirm-traffic-increase', target, approve !== undefined, t.signal)),
    ];
    const promoteReq = this.newRequest(t, ANNOTATIONS.promote);
    const result = this.deps.decide({
      spec: t.canary.spec,
      status: t.status,
      measurements,
      gates,
      now: t.now,
      requests: { promote: promoteReq !== undefined, resume: approve !== undefined },
    });
    const d = result.decision;
    this.deps.metrics?.decisions.inc({ action: d.action, reason: 'reason' in d ? d.reason : d.action });
    for (const r of result.reports) {
      if (r.value !== undefined) this.deps.metrics?.metricValue.set({ namespace: t.canary.metadata.namespace ?? 'default', name: t.canary.metadata.name, metric: r.name }, r.value);
    }
    const handled: Record<string, string> = {};
    if (promoteReq !== undefined) handled[ANNOTATIONS.promote] = promoteReq;
    // An approval is used up by the move it let through, or by ending a hand-over (decide() starts a new round).
    const wasHandedOver = handedOver(t.canary.spec.analysis, t.status);
    if (approve !== undefined && (d.action === 'advance' || d.action === 'promote' || wasHandedOver)) handled[ANNOTATIONS.approve] = approve;
    const analysed = (s: CanaryStatus): CanaryStatus => ({
      ...s,
      ...result.status,
      lastAnalysis: result.reports,
      lastAnalysisTime: t.nowIso,
      handledAnnotations: { ...s.handledAnnotations, ...handled },
    });

    switch (d.action) {
      case 'advance':
        return this.moveTo(t, d.stepIndex, d.toWeight, d.message, analysed);
      case 'promote':
        return this.beginPromotion(t, d.message, analysed);
      case 'rollback':
        return this.beginRollback(t, d.message, d.reason, handled, analysed);
      case 'hold': {
        // A closed gate and a time-out handed to a person both wait for someone: phase Waiting.
        const waiting = d.reason === 'GateClosed' || d.reason === 'AwaitingDecision';
        await this.commit(t, (s) => ({ ...analysed(s), phase: waiting ? 'Waiting' : 'Progressing', message: d.message }));
        // Every query failing (Prometheus down or unreachable) is its own signal, not an ordinary hold.
        const unavailable = measurements.length > 0 && measurements.every((m) => m.canary.kind === 'error' && m.canary.transient);
        const reason =
          d.reason === 'AwaitingDecision'
            ? Reason.AwaitingDecision
            : waiting
              ? Reason.WaitingForGate
              : d.reason === 'CheckFailed'
                ? Reason.CheckFailed
                : unavailable
                  ? Reason.MetricsUnavailable
                  : Reason.AnalysisHeld;
        await this.event(t, reason, d.message, { weight: target, reports: result.reports });
        return interval;
      }
    }
  }

  /** Records the move to `weight` (status + Event), then patches the route. */
  private async moveTo(
    t: Tick,
    stepIndex: number,
    weight: number,
    message: string,
    extra: (s: CanaryStatus) => CanaryStatus = (s) => s,
  ): Promise<number | undefined> {
    const from = t.status.canaryWeight ?? 0;
    await this.transition(
      t,
      Reason.WeightAdvanced,
      message,
      (s) => ({ ...extra(s), phase: 'Progressing', stepIndex, canaryWeight: weight, stepStartTime: t.nowIso, lastTransitionTime: t.nowIso, message }),
      { from, to: weight, stepIndex },
    );
    const applied = await this.ensureRoute(t, weight, true);
    if (typeof applied === 'number' || applied === undefined) return applied;
    return this.interval(t);
  }

  private async beginPromotion(t: Tick, message: string, extra: (s: CanaryStatus) => CanaryStatus = (s) => s): Promise<number | undefined> {
    await this.transition(t, Reason.PromotionStarted, message, (s) => ({ ...extra(s), phase: 'Promoting', canaryWeight: 100, lastTransitionTime: t.nowIso, message }));
    const applied = await this.ensureRoute(t, 100, true);
    if (typeof applied === 'number' || applied === undefined) return applied;
    return CONFIRM_DELAY_MS;
  }

  private async beginRollback(
    t: Tick,
    message: string,
    why: string,
    handled: Record<string, string> = {},
    extra: (s: CanaryStatus) => CanaryStatus = (s) => s,
  ): Promise<number | undefined> {
    await this.transition(
      t,
      Reason.RollbackStarted,
      message,
      (s) => ({
        ...extra(s),
        phase: 'RollingBack',
        canaryWeight: 0,
        lastTransitionTime: t.nowIso,
        message,
        handledAnnotations: { ...s.handledAnnotations, ...handled },
        conditions: setCondition(s.conditions, 'Ready', 'False', why, message, t.nowIso, t.canary.metadata.generation),
      }),
      { why },
    );
    const applied = await this.ensureRoute(t, 0, true);
    if (typeof applied === 'number' || applied === undefined) return applied;
    return CONFIRM_DELAY_MS;
  }

  /** Promoting/RollingBack: keep the final weight in place until the mesh confirms it, then end the rollout. */
  private async finish(t: Tick, weight: number, phase: 'Succeeded' | 'Failed'): Promise<number | undefined> {
    const applied = await this.ensureRoute(t, weight);
    if (typeof applied === 'number' || applied === undefined) return applied;
    const readiness = routeProgrammed(applied.route, this.deps.controllerName ? { controllerName: this.deps.controllerName } : {});
    if (!readiness.ready) {
      // A mesh takes a moment to program a change; only a wait that lasts is worth an Event.
      const waited = t.now - (Date.parse(t.status.lastTransitionTime ?? '') || t.now);
      if (waited >= QUIET_WAIT_MS) await this.event(t, Reason.WaitingForRoute, `Waiting for the mesh to program canary weight ${weight}: ${readiness.message}`);
      return waited >= QUIET_WAIT_MS ? 2_000 : CONFIRM_DELAY_MS;
    }
    const started = Date.parse(t.status.rolloutStartTime ?? t.nowIso);
    const ok = phase === 'Succeeded';
    const message = ok
      ? `Promoted: ${t.canary.spec.canary.name} holds all the traffic (canary 100, stable 0)`
      : `Rolled back: ${t.canary.spec.stable.name} holds all the traffic (stable 100, canary 0). ${t.status.message ?? ''}`.trim();
    this.deps.metrics?.rolloutDuration.observe({ outcome: ok ? 'promoted' : 'rolled_back' }, Math.max(0, (t.now - started) / 1000));
    await this.transition(t, ok ? Reason.Promoted : Reason.RolledBack, message, (s) => ({
      ...s,
      phase,
      canaryWeight: weight,
      lastCompletedRevision: s.revision,
      lastTransitionTime: t.nowIso,
      message,
      conditions: setCondition(s.conditions, 'Ready', ok ? 'True' : 'False', ok ? 'Succeeded' : 'RolledBack', message, t.nowIso, t.canary.metadata.generation),
    }));
    if (!ok) await this.deps.gates(t.canary, 'rollback', 0, false, t.signal);
    await this.deps.gates(t.canary, 'post-rollout', weight, false, t.signal);
    return undefined;
  }

  // --- route --------------------------------------------------------------------------------------

  private routeKey(t: Tick): RouteKey {
    return routeKeyFor(t.canary.spec.routeRef, t.canary.metadata.namespace ?? 'default');
  }

  private locateInput(t: Tick) {
    return {
      routeRef: t.canary.spec.routeRef,
      stable: t.canary.spec.stable,
      canary: t.canary.spec.canary,
      canaryNamespace: t.canary.metadata.namespace ?? 'default',
    };
  }

  /**
   * Brings the owned weights to `weight`. Returns the result, or a delay (number) / undefined when
   * the route cannot be used this tick (the problem is already in status and an Event).
   * `planned`: the move was just recorded, so a change is expected and not drift.
   */
  private async ensureRoute(t: Tick, weight: number, planned = false): Promise<SetWeightsResult | number | undefined> {
    try {
      const res = await setWeights(this.deps.routes, this.routeKey(t), this.locateInput(t), weight, t.signal);
      if (res.changed && !planned && !t.resuming) {
        await this.event(
          t,
          Reason.WeightRestored,
          `${describeRouteKey(this.routeKey(t))} had stable=${res.before.stable} canary=${res.before.canary}; restored the weights this rollout is at (canary ${weight})`,
        );
      }
      if (t.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'RouteMismatch')) {
        await this.commit(t, (s) => ({ ...s, conditions: setCondition(s.conditions, 'Ready', 'True', 'Progressing', 'Route matches again', t.nowIso) }));
      }
      return res;
    } catch (err) {
      return this.routeProblem(t, err);
    }
  }

  private async routeProblem(t: Tick, err: unknown): Promise<number> {
    const code = errorCode(err);
    const message = errorMessage(err);
    if (code === 'RouteChanged') {
      t.log.info({ code }, message);
      return ROUTE_RETRY_MS;
    }
    if (err instanceof RouteshiftError && (err as { transient?: boolean }).transient) {
      t.log.warn({ code }, message);
      return 5_000;
    }
    if (code === 'Aborted') throw err;
    await this.commit(t, (s) => ({
      ...s,
      ...(s.phase ? {} : { phase: 'Invalid' as Phase }),
      message,
      conditions: setCondition(s.conditions, 'Ready', 'False', 'RouteMismatch', message, t.nowIso, t.canary.metadata.generation),
    }));
    await this.event(t, Reason.RouteMismatch, `${message} (weights left untouched)`, { code });
    return this.interval(t);
  }

  // --- helpers ------------------------------------------------------------------------------------

  private async invalid(t: Tick, err: InvalidSpecError | RefNotPermittedError): Promise<number | undefined> {
    const message = err.message;
    const active = t.status.phase !== undefined && ACTIVE.has(t.status.phase);
    const refs = err.code === Reason.RefNotPermitted;
    const what = refs ? 'Reference not permitted' : 'Invalid spec';
    await this.commit(t, (s) => ({
      ...s,
      phase: active ? s.phase : 'Invalid',
      message: `${what}: ${message}`,
      observedGeneration: t.canary.metadata.generation,
      conditions: setCondition(s.conditions, 'Ready', 'False', err.code, message, t.nowIso, t.canary.metadata.generation),
    }));
    await this.event(t, refs ? Reason.RefNotPermitted : Reason.InvalidSpec, `${what}${active ? ' (weights held where they are)' : ''}: ${message}`);
    return undefined; // wait for the user to edit the Canary
  }

  private deadline(t: Tick): number | undefined {
    const d = t.canary.spec.analysis.progressDeadline;
    return d ? parseDuration(d, 'spec.analysis.progressDeadline') : undefined;
  }

  /** An operator request not yet acted on: the annotation's value when it differs from the last one handled. */
  private newRequest(t: Tick, annotation: string): string | undefined {
    const value = t.canary.metadata.annotations?.[annotation];
    if (value === undefined || value === '') return undefined;
    return t.status.handledAnnotations?.[annotation] === value ? undefined : value;
  }

  /**
   * Writes status. An owed transition Event is dropped only once this tick has written it: a tick that
   * started from a stale copy (an informer behind, a watch just dropped) may find, on a conflict, a debt
   * it never saw. Such a debt is kept; one displaced by a new transition moves to status.owedEvents in the
   * same write and is announced right after it (found by faults-api: announcing it only after the write lost
   * it when that Event write failed too).
   */
  private async commit(t: Tick, mutate: (s: CanaryStatus) => CanaryStatus): Promise<void> {
    t.canary = await writeStatus(
      this.deps.store,
      t.canary,
      (s) => {
        const { pendingEvent: owed, owedEvents: older, ...rest } = s;
        const next = mutate(rest);
        let list = (older ?? []).filter((e) => !t.written?.has(e.name));
        if (owed && !t.written?.has(owed.name)) {
          if (!next.pendingEvent) next.pendingEvent = owed;
          else if (next.pendingEvent.name !== owed.name && !list.some((e) => e.name === owed.name)) list = [...list, owed];
        }
        // Bounded: a status must not grow without end while the Events API is down.
        if (list.length > MAX_OWED_EVENTS) list = list.slice(-MAX_OWED_EVENTS);
        return list.length > 0 ? { ...next, owedEvents: list } : next;
      },
      t.signal,
    );
    t.status = structuredClone(t.canary.status ?? {});
    // Each owed Event is tried once per tick; one that fails waits for the next tick (PENDING_EVENT_RETRY_MS).
    if ((t.status.owedEvents ?? []).some((e) => !t.tried?.has(e.name))) await this.payOwed(t);
  }

  /** Writes the older owed Events (status.owedEvents) and drops those written from status. */
  private async payOwed(t: Tick): Promise<void> {
    let paid = false;
    for (const e of t.status.owedEvents ?? []) {
      if (t.tried?.has(e.name)) continue;
      (t.tried ??= new Set()).add(e.name);
      if (await this.event(t, e.reason as Reason, e.message, {}, e.name)) {
        (t.written ??= new Set()).add(e.name);
        paid = true;
      } else {
        t.log.warn({ reason: e.reason, event: e.name }, 'an owed transition Event could not be written; kept in status.owedEvents for the next tick');
      }
    }
    if (paid) await this.commit(t, (s) => s);
  }

  /**
   * A rollout transition: status (with the Event it owes) first, then the Event under a name fixed by
   * revision, step and reason. If the process dies in between, the next tick announces it.
   */
  private async transition(t: Tick, reason: Reason, message: string, mutate: (s: CanaryStatus) => CanaryStatus, fields: Record<string, unknown> = {}): Promise<void> {
    let name = '';
    await this.commit(t, (s) => {
      const next = mutate(s);
      name = transitionEventName(t.canary.metadata.name, next.revision ?? '', next.stepIndex ?? -1, next.phase ?? '', reason);
      return { ...next, pendingEvent: { name, reason, message } };
    });
    // Announced: drop the debt (commit strips it once announced). A failed Event write keeps it for the next tick.
    if (await this.event(t, reason, message, fields, name)) {
      (t.written ??= new Set()).add(name);
      await this.commit(t, (s) => s);
    }
  }

  /** Re-announces a transition whose Event may not have been written (see transition). */
  private async announcePending(t: Tick): Promise<void> {
    if ((t.status.owedEvents?.length ?? 0) > 0) await this.payOwed(t);
    const p = t.status.pendingEvent;
    if (!p) return;
    t.resuming = true; // the route may lag the transition: finishing it is not drift
    if (await this.event(t, p.reason as Reason, p.message, {}, p.name)) {
      (t.written ??= new Set()).add(p.name);
      await this.commit(t, (s) => s);
    }
  }

  /** True once the Event is in the API. */
  private async event(t: Tick, reason: Reason, message: string, fields: Record<string, unknown> = {}, name?: string): Promise<boolean> {
    return this.deps.recorder.record(
      {
        object: { apiVersion: API_VERSION, kind: CANARY_KIND, metadata: t.canary.metadata },
        reason,
        message,
        fields: { canary: canaryKey(t.canary), phase: t.status.phase, weight: t.status.canaryWeight, revision: t.status.revision, ...fields },
        ...(name ? { name } : {}),
      },
      t.signal,
    );
  }
}

/** A DNS-subdomain Event name unique to one transition of one rollout. */
export function transitionEventName(canary: string, revision: string, stepIndex: number, phase: string, reason: string): string {
  const step = stepIndex >= 0 ? `s${stepIndex}` : 'init';
  return `${canary}.${revision}.${step}.${phase}.${reason}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253);
}
