import type { Logger } from 'pino';
import { ANNOTATIONS, type Canary, type CanaryStatus, type HookType, type Phase } from '../api/canary.js';
import { planTick } from '../analysis/plan.js';
import { handedOver } from '../analysis/policy.js';
import { describePlan, describeTarget, stagesOf, trafficFor } from '../analysis/shapes.js';
import { weightStepsOf } from '../analysis/steps.js';
import type { DecisionInput, DecisionResult, GateResult, HoldReason, Measurement } from '../analysis/types.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { errorCode, errorMessage, InvalidSpecError, RouteshiftError } from '../core/errors.js';
import { Reason } from '../events/reasons.js';
import type { Recorder } from '../events/recorder.js';
import {
  describeRouteKey,
  locateShape,
  readWeights,
  routeKeyFor,
  routeProgrammed,
  setTraffic,
  type RouteClient,
  type RouteKey,
  type SetWeightsResult,
} from '../routing/index.js';
import type { CanaryStore } from './canary-store.js';
import { setCondition } from './conditions.js';
import type { ControllerMetrics } from './metrics.js';
import { REFERENCE_RECHECK_MS, type RefNotPermittedError } from './reference-grants.js';
import { EventLedger, type LedgerTick } from './event-ledger.js';
import { revisionOf } from './revision.js';
import type { Prepared } from './workload-release.js';

export { transitionEventName } from './event-ledger.js';

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
  /**
   * How long before its interval an analysis may run: the scheduler's tick grid rounds a next tick down by up to
   * a grid step, from the tick's start (this tick read the clock a little later); twice the grid covers both.
   */
  analysisSlackMs?: number;
  /** Refuses references to other namespaces without a ReferenceGrant (reference-grants.ts); unset: no check. */
  references?: (canary: Canary, signal: AbortSignal) => Promise<RefNotPermittedError | undefined>;
  /** events.advanceWindow in ms: WeightAdvanced Events of faster canaries are folded (advance-fold.ts); 0 or unset: none. */
  advanceWindowMs?: number;
}

const ACTIVE: ReadonlySet<Phase> = new Set<Phase>(['Initializing', 'Progressing', 'Waiting', 'Paused', 'Promoting', 'RollingBack']);
/** After a final weight change, how soon to look again for the mesh to confirm it. */
const CONFIRM_DELAY_MS = 1_000;
/** How soon an Event that failed to write is tried again. */
const PENDING_EVENT_RETRY_MS = 2_000;
/** How long the mesh may take to confirm a final weight before we say we are waiting. */
const QUIET_WAIT_MS = 10_000;
/** When the route changed under us (a failed `test` op), re-read soon. */
const ROUTE_RETRY_MS = 1_000;

type Tick = LedgerTick & {
  now: number;
  nowIso: string;
  /** The revision spec.workloads gives (the idle slot's); else revisionOf(). */
  revision?: string;
};

/** Operator requests not yet acted on: the annotation's value when it differs from the last one handled. */
interface Requests {
  abort: string | undefined;
  promote: string | undefined;
  approve: string | undefined;
}

/** ensureRoute's answer: the route as patched, or when to try again (the problem is already reported). */
export type RouteOutcome = { ok: true; result: SetWeightsResult } | { ok: false; retryInMs: number };

/**
 * The phase machine. Status is the record of intent: each move is written to status (with its Event)
 * before the route is patched, and every tick first brings the route to the weight status names. So a
 * controller killed between the two finishes the move on restart, and no step is skipped or repeated.
 */
export class Reconciler {
  private readonly ledger: EventLedger;

  constructor(private readonly deps: ReconcilerDeps) {
    this.ledger = new EventLedger({ store: deps.store, recorder: deps.recorder, clock: deps.clock, advanceWindowMs: deps.advanceWindowMs ?? 0 });
  }

  /** The canary comes from another owner: what this process deferred for it before is not to be trusted. */
  takenOver(canary: Canary): void {
    this.ledger.forget(canary);
  }

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
      // A deferred WeightAdvanced fold is written by the tick at which it falls due, even a Canary's at rest.
      const again = this.ledger.owes(t) ? PENDING_EVENT_RETRY_MS : this.ledger.foldDueIn(t);
      return again === undefined ? next : Math.min(next ?? again, again);
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
    if (problems.length > 0) {
      // A deferred WeightAdvanced fold falls due while the spec is broken too: announced here, as owed Events are.
      await this.ledger.announcePending(t);
      return this.invalid(t, new InvalidSpecError(problems));
    }

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
    await this.ledger.announcePending(t);

    const phase = t.status.phase ?? 'Initializing';
    if (!ACTIVE.has(phase)) return undefined; // Succeeded / Failed / Invalid: idle until the spec or a retry changes the revision

    const requests = this.requests(t);
    if (phase === 'RollingBack') return this.finish(t, 0, t.status.rollbackEnd ?? 'Failed');
    if (phase === 'Promoting' && requests.abort === undefined) return this.finish(t, 100, 'Succeeded');
    if (phase === 'Paused' && !t.canary.spec.suspend && requests.abort === undefined) {
      // A rollout paused before its first step goes back to initialising (gates, first weight).
      await this.commit(t, (s) => ({ ...s, phase: (s.stepIndex ?? -1) < 0 ? 'Initializing' : 'Progressing', message: 'Resumed' }));
      await this.event(t, Reason.Resumed, `Rollout resumed at canary weight ${t.status.canaryWeight ?? 0}`);
      return 0;
    }
    return this.judge(t, requests);
  }

  private interval(t: Tick): number {
    return parseDuration(t.canary.spec.analysis.interval, 'spec.analysis.interval');
  }

  /** Operator requests not yet acted on, by annotation value. */
  private requests(t: Tick): Requests {
    return { abort: this.newRequest(t, ANNOTATIONS.abort), promote: this.newRequest(t, ANNOTATIONS.promote), approve: this.newRequest(t, ANNOTATIONS.approve) };
  }

  // --- rollout start ------------------------------------------------------------------------------

  private async startRollout(t: Tick, revision: string): Promise<number | undefined> {
    const ref = this.routeKey(t);
    let current = 0;
    try {
      const route = await this.deps.routes.get(ref, t.signal);
      // locateShape: a route missing what the Canary's traffic shape needs is reported before anything moves.
      current = readWeights(route, locateShape(route, this.locateInput(t)).main).canaryPercent;
    } catch (err) {
      return this.routeProblem(t, err);
    }
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
      `canary weight now ${current}, ${describePlan(t.canary.spec.analysis, weightStepsOf(t.canary.spec.analysis))}`;
    await this.ledger.transition(t, Reason.RolloutStarted, announce, ({ rollbackEnd: _ended, ...s }) => ({
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

  // --- one decision -------------------------------------------------------------------------------

  /**
   * Gathers what planTick() asks for (the route's state, gates, measurements), asks decide(), and carries the
   * decision out. Every choice of what happens is decide()'s (docs/analysis.md); this only reads, calls,
   * writes and patches.
   */
  private async judge(t: Tick, req: Requests): Promise<number | undefined> {
    const { spec } = t.canary;
    const requests = { abort: req.abort ?? false, promote: req.promote !== undefined, resume: req.approve !== undefined };
    const stepIndex = t.status.stepIndex ?? -1;
    const weight = t.status.canaryWeight ?? 0;
    let route: DecisionInput['route'];
    // At a step the route is kept at the weight status names (restoring drift) on every tick, and judged only
    // once programmed.
    if (stepIndex >= 0 && t.status.phase !== 'Paused' && t.status.phase !== 'Promoting') {
      const applied = await this.ensureRoute(t, weight);
      if (!applied.ok) return applied.retryInMs;
      const readiness = routeProgrammed(applied.result.route, this.deps.controllerName ? { controllerName: this.deps.controllerName } : {});
      route = { programmed: readiness.ready, message: readiness.message };
    }
    const plan = planTick(spec, t.status, requests, t.now, this.deps.analysisSlackMs);
    if (plan.dueInMs > 0) return plan.dueInMs;
    const gates = await this.runGates(t, plan.gates, weight, req.approve !== undefined);
    let measurements: Measurement[] = [];
    const measured = plan.measure && route?.programmed === true;
    if (measured) {
      try {
        measurements = await this.deps.measure(t.canary, t.signal);
      } catch (err) {
        if (err instanceof InvalidSpecError) return this.invalid(t, err);
        throw err;
      }
    }
    const input: DecisionInput = { spec, status: t.status, measurements, gates, now: t.now, requests };
    if (route) input.route = route;
    const result = this.deps.decide(input);
    this.record(t, result);
    return this.apply(t, req, result, measured ? measurements : undefined);
  }

  /** Runs the planned gate stages in order; a stage with a closed or failed gate stops the later ones. */
  private async runGates(t: Tick, stages: HookType[][], weight: number, approved: boolean): Promise<GateResult[]> {
    const results: GateResult[] = [];
    for (const stage of stages) {
      for (const type of stage) results.push(...(await this.deps.gates(t.canary, type, weight, approved && type.startsWith('confirm-'), t.signal)));
      if (results.some((g) => !g.passed)) break;
    }
    return results;
  }

  private record(t: Tick, result: DecisionResult): void {
    const d = result.decision;
    this.deps.metrics?.decisions.inc({ action: d.action, reason: 'reason' in d ? d.reason : d.action });
    for (const r of result.reports) {
      if (r.value !== undefined) this.deps.metrics?.metricValue.set({ namespace: t.canary.metadata.namespace ?? 'default', name: t.canary.metadata.name, metric: r.name }, r.value);
    }
  }

  /** Carries a decision out: status (with its Event), then the route. `measurements`: when this tick measured. */
  private async apply(t: Tick, req: Requests, result: DecisionResult, measurements: Measurement[] | undefined): Promise<number | undefined> {
    const d = result.decision;
    const handled: Record<string, string> = {};
    if (req.promote !== undefined) handled[ANNOTATIONS.promote] = req.promote;
    if (req.abort !== undefined && d.action === 'rollback') handled[ANNOTATIONS.abort] = req.abort;
    // An approval is used up by the move it let through, or by ending a hand-over (decide() starts a new round).
    const wasHandedOver = handedOver(t.canary.spec.analysis, t.status);
    if (req.approve !== undefined && (d.action === 'advance' || d.action === 'promote' || wasHandedOver)) handled[ANNOTATIONS.approve] = req.approve;
    const analysed = (s: CanaryStatus): CanaryStatus => ({
      ...s,
      ...result.status,
      ...(measurements ? { lastAnalysis: result.reports, lastAnalysisTime: t.nowIso } : {}),
      handledAnnotations: { ...s.handledAnnotations, ...handled },
    });
    const before = (t.status.stepIndex ?? -1) < 0;
    switch (d.action) {
      case 'advance': {
        const next = await this.moveTo(t, d.stepIndex, d.toWeight, d.message, analysed);
        // When the test may answer, in time at the traffic seen: at the rollout's start and at each step.
        if (result.forecast) await this.event(t, Reason.DecisionForecast, result.forecast, { weight: d.toWeight });
        return next;
      }
      case 'promote':
        return this.beginPromotion(t, d.message, analysed);
      case 'rollback': {
        const end = d.harm === false ? 'TimedOut' : 'Failed';
        return this.beginRollback(t, d.message, d.reason, (s) => ({ ...analysed(s), rollbackEnd: end }));
      }
      case 'hold':
        return this.hold(t, d.reason, d.message, analysed, measurements, before, result);
    }
  }

  private async hold(
    t: Tick,
    why: HoldReason,
    message: string,
    analysed: (s: CanaryStatus) => CanaryStatus,
    measurements: Measurement[] | undefined,
    before: boolean,
    result: DecisionResult,
  ): Promise<number | undefined> {
    const interval = this.interval(t);
    const weight = t.status.canaryWeight ?? 0;
    switch (why) {
      case 'Suspended':
        if (t.status.phase !== 'Paused') {
          await this.commit(t, (s) => ({ ...analysed(s), phase: 'Paused', message }));
          await this.event(t, Reason.Paused, message);
        }
        return undefined; // the spec edit that lifts it wakes the Canary
      case 'WaitingForRoute':
        await this.event(t, Reason.WaitingForRoute, message);
        return Math.min(interval, 2_000);
      case 'PreRolloutFailed':
        await this.commit(t, (s) => ({ ...analysed(s), message }));
        await this.event(t, Reason.HookFailed, message);
        return interval;
      default:
        break;
    }
    // A closed gate and a time-out handed to a person both wait for someone: phase Waiting.
    const waiting = why === 'GateClosed' || why === 'AwaitingDecision';
    const phase: Phase = waiting ? 'Waiting' : before ? 'Initializing' : 'Progressing';
    if (!(before && t.status.phase === phase && t.status.message === message)) {
      await this.commit(t, (s) => ({ ...analysed(s), phase, message }));
    }
    // Every query failing (Prometheus down or unreachable) is its own signal, not an ordinary hold.
    const ms = measurements ?? [];
    const unavailable = ms.length > 0 && ms.every((m) => m.canary.kind === 'error' && m.canary.transient);
    const reason =
      why === 'AwaitingDecision'
        ? Reason.AwaitingDecision
        : waiting
          ? Reason.WaitingForGate
          : why === 'CheckFailed'
            ? Reason.CheckFailed
            : unavailable
              ? Reason.MetricsUnavailable
              : Reason.AnalysisHeld;
    await this.event(t, reason, message, before ? {} : { weight, reports: result.reports });
    // A closed gate before the rollout is asked again soon (docs/webhooks.md): a person may be waiting on it.
    return before && why === 'GateClosed' ? Math.min(interval, 10_000) : interval;
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
    // Only weight steps fold into one Event (advance-fold.ts); a mirror or A/B iteration keeps its own.
    const stage = stagesOf(t.canary.spec.analysis, weightStepsOf(t.canary.spec.analysis))[stepIndex];
    await this.ledger.transition(
      t,
      Reason.WeightAdvanced,
      message,
      (s) => ({ ...extra(s), phase: 'Progressing', stepIndex, canaryWeight: weight, stepStartTime: t.nowIso, lastTransitionTime: t.nowIso, message }),
      { from, to: weight, stepIndex },
      stage?.kind === 'weight' ? { from, to: weight } : undefined,
    );
    const applied = await this.ensureRoute(t, weight, true);
    return applied.ok ? this.interval(t) : applied.retryInMs;
  }

  private async beginPromotion(t: Tick, message: string, extra: (s: CanaryStatus) => CanaryStatus = (s) => s): Promise<number | undefined> {
    await this.ledger.transition(t, Reason.PromotionStarted, message, (s) => ({ ...extra(s), phase: 'Promoting', canaryWeight: 100, lastTransitionTime: t.nowIso, message }));
    const applied = await this.ensureRoute(t, 100, true);
    return applied.ok ? CONFIRM_DELAY_MS : applied.retryInMs;
  }

  private async beginRollback(
    t: Tick,
    message: string,
    why: string,
    extra: (s: CanaryStatus) => CanaryStatus = (s) => s,
  ): Promise<number | undefined> {
    await this.ledger.transition(
      t,
      Reason.RollbackStarted,
      message,
      (s) => ({
        ...extra(s),
        phase: 'RollingBack',
        canaryWeight: 0,
        lastTransitionTime: t.nowIso,
        message,
        conditions: setCondition(s.conditions, 'Ready', 'False', why, message, t.nowIso, t.canary.metadata.generation),
      }),
      { why },
    );
    const applied = await this.ensureRoute(t, 0, true);
    return applied.ok ? CONFIRM_DELAY_MS : applied.retryInMs;
  }

  /** Promoting/RollingBack: keep the final weight in place until the mesh confirms it, then end the rollout. */
  private async finish(t: Tick, weight: number, phase: 'Succeeded' | 'Failed' | 'TimedOut'): Promise<number | undefined> {
    const applied = await this.ensureRoute(t, weight);
    if (!applied.ok) return applied.retryInMs;
    const readiness = routeProgrammed(applied.result.route, this.deps.controllerName ? { controllerName: this.deps.controllerName } : {});
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
    await this.ledger.transition(t, ok ? Reason.Promoted : Reason.RolledBack, message, (s) => ({
      ...s,
      phase,
      canaryWeight: weight,
      lastCompletedRevision: s.revision,
      lastTransitionTime: t.nowIso,
      message,
      conditions: setCondition(s.conditions, 'Ready', ok ? 'True' : 'False', ok ? 'Succeeded' : phase === 'TimedOut' ? 'TimedOut' : 'RolledBack', message, t.nowIso, t.canary.metadata.generation),
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
      shape: t.canary.spec.analysis,
    };
  }

  /**
   * Brings the owned weights to `weight`: the result, or when to try again when the route cannot be used this
   * tick (the problem is already in status and an Event). `planned`: the move was just recorded, so a change is
   * expected and not drift.
   */
  private async ensureRoute(t: Tick, weight: number, planned = false): Promise<RouteOutcome> {
    try {
      // The shapes' rules and mirror filter follow the weight and the stage status names (analysis/shapes.ts).
      const target = trafficFor(t.canary.spec, t.status, weight);
      const res = await setTraffic(this.deps.routes, this.routeKey(t), this.locateInput(t), target, t.signal);
      if (res.changed && !planned && !t.resuming) {
        await this.event(
          t,
          Reason.WeightRestored,
          res.before.canaryPercent === weight && res.before.stable + res.before.canary === 100
            ? `${describeRouteKey(this.routeKey(t))}: restored the traffic shape this rollout is at (${describeTarget(target)})`
            : `${describeRouteKey(this.routeKey(t))} had stable=${res.before.stable} canary=${res.before.canary}; restored the weights this rollout is at (canary ${weight})`,
        );
      }
      if (t.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.reason === 'RouteMismatch')) {
        await this.commit(t, (s) => ({ ...s, conditions: setCondition(s.conditions, 'Ready', 'True', 'Progressing', 'Route matches again', t.nowIso) }));
      }
      return { ok: true, result: res };
    } catch (err) {
      return { ok: false, retryInMs: await this.routeProblem(t, err) };
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

  /** An operator request not yet acted on: the annotation's value when it differs from the last one handled. */
  private newRequest(t: Tick, annotation: string): string | undefined {
    const value = t.canary.metadata.annotations?.[annotation];
    if (value === undefined || value === '') return undefined;
    return t.status.handledAnnotations?.[annotation] === value ? undefined : value;
  }

  private commit(t: Tick, mutate: (s: CanaryStatus) => CanaryStatus): Promise<void> {
    return this.ledger.commit(t, mutate);
  }

  private event(t: Tick, reason: Reason, message: string, fields: Record<string, unknown> = {}): Promise<boolean> {
    return this.ledger.event(t, reason, message, fields);
  }
}
