import type { Logger } from 'pino';
import { API_VERSION, CANARY_KIND, canaryKey, type Canary, type CanaryStatus, type OwedEvent } from '../api/canary.js';
import { Reason } from '../events/reasons.js';
import type { RecordedEvent, Recorder } from '../events/recorder.js';
import type { Clock } from '../core/clock.js';
import { LruMap } from '../core/lru.js';
import { parseDuration } from '../core/duration.js';
import { writeStatus, type CanaryStore } from './canary-store.js';
import { extendFold, foldDue, foldDueIn, foldRecord, foldSize, isFold, startFold, type AdvanceStep } from './advance-fold.js';

/** Older owed Events kept in status at most (status.owedEvents). */
export const MAX_OWED_EVENTS = 20;
/** Canaries whose last written transition Event the ledger remembers (one name each). */
const MAX_REMEMBERED = 100_000;
/**
 * Phases that another status write follows for sure (the next analysis, or the end of the promotion or
 * rollback): a transition into one leaves its paid debt in status for that write to drop, instead of a
 * second status write of its own. A final phase drops it at once (no write follows).
 */
const WRITES_FOLLOW: ReadonlySet<string> = new Set(['Progressing', 'Promoting', 'RollingBack']);
/** Longest analysis interval for which a paid debt waits for the next write. */
const DEFER_WITHIN_MS = 10 * 60_000;

/** What the ledger reads and updates of one tick: the Canary as last written, and the Events this tick has paid. */
export interface LedgerTick {
  canary: Canary;
  status: CanaryStatus;
  signal: AbortSignal;
  log: Logger;
  /** When the tick started (the clock's time when unset). */
  now?: number;
  /** Set once an owed transition was re-announced: the route may lag it, so finishing it is not drift. */
  resuming?: boolean;
  /** Owed transition Events (pendingEvent, owedEvents) this tick has written, so a write may drop them. */
  written?: Set<string>;
  /** Older owed Events (owedEvents) this tick has tried to write: each is tried once per tick. */
  tried?: Set<string>;
}

/**
 * Status writes and the Events they owe. A transition is written to status together with the Event it owes
 * (status.pendingEvent) before the Event itself, so a controller killed in between announces it on its next
 * tick; Events that could not be written wait in status.owedEvents. This is bookkeeping, not policy.
 */
export class EventLedger {
  /** Canary -> the last transition Event this process wrote for it, so its debt in status is known paid. */
  private readonly paid = new LruMap<string, string>(MAX_REMEMBERED);
  /**
   * Canary -> the folded WeightAdvanced debt this process deferred, as it last wrote it to status, while no
   * write of its Event has been tried. Only such a debt waits or takes more steps: one this process does not
   * know (a restart, a shard or lease taken over) may already be in the API, so it is written at once as is.
   */
  private readonly deferred = new LruMap<string, OwedEvent>(MAX_REMEMBERED);

  constructor(private readonly deps: { store: CanaryStore; recorder: Recorder; clock: Clock; advanceWindowMs?: number }) {}

  private key(t: Pick<LedgerTick, 'canary'>): string {
    return `${t.canary.metadata.namespace ?? 'default'}/${t.canary.metadata.name}`;
  }

  /**
   * Forgets the fold deferred for a canary that comes back from another owner: that owner may have written its
   * Event (without dropping the debt), so it is written again as status holds it, never extended.
   */
  forget(canary: Canary): void {
    this.deferred.delete(this.key({ canary }));
  }

  private now(t: LedgerTick): number {
    return t.now ?? this.deps.clock.now();
  }

  /** Steps one WeightAdvanced Event of this canary may cover (1: no folding). */
  private foldSize(t: LedgerTick): number {
    try {
      return foldSize(this.deps.advanceWindowMs ?? 0, parseDuration(t.canary.spec.analysis.interval, 'spec.analysis.interval'));
    } catch {
      return 1;
    }
  }

  /** The debt `p` as this process deferred it (its latest content), if it did. */
  private deferredAs(t: LedgerTick, p: OwedEvent | undefined): OwedEvent | undefined {
    const mine = this.deferred.get(this.key(t));
    return p && mine?.name === p.name ? mine : undefined;
  }

  /** A debt this process deferred and that is not due yet: no write, no retry soon. */
  private waiting(t: LedgerTick, p: OwedEvent | undefined): boolean {
    const mine = this.deferredAs(t, p);
    return mine !== undefined && !foldDue(mine, this.foldSize(t), this.deps.advanceWindowMs ?? 0, this.now(t));
  }

  /** Milliseconds until this canary's deferred fold falls due, if it has one: the tick must come back by then. */
  foldDueIn(t: LedgerTick): number | undefined {
    const mine = this.deferredAs(t, t.status.pendingEvent);
    return mine ? foldDueIn(mine, this.deps.advanceWindowMs ?? 0, this.now(t)) : undefined;
  }

  /**
   * Whether this tick or this process has written the owed Event `name`. A restarted controller knows
   * nothing and writes it again under its fixed name (AlreadyExists counts as written).
   */
  private paidFor(t: LedgerTick, name: string): boolean {
    if (t.written?.has(name)) return true;
    const ns = t.canary.metadata.namespace ?? 'default';
    const known = this.paid.get(`${ns}/${t.canary.metadata.name}`) === name || this.deps.recorder.written(ns, name);
    if (known) (t.written ??= new Set()).add(name);
    return known;
  }

  /** True while status owes a transition Event not yet written (the tick then comes back soon to retry). */
  owes(t: LedgerTick): boolean {
    const p = t.status.pendingEvent;
    return (p !== undefined && !this.paidFor(t, p.name) && !this.waiting(t, p)) || (t.status.owedEvents ?? []).some((e) => !this.paidFor(t, e.name));
  }

  /**
   * Writes status. An owed transition Event is dropped only once this tick has written it: a tick that
   * started from a stale copy (an informer behind, a watch just dropped) may find, on a conflict, a debt
   * it never saw. Such a debt is kept; one displaced by a new transition moves to status.owedEvents in the
   * same write and is announced right after it (found by faults-api: announcing it only after the write lost
   * it when that Event write failed too).
   */
  async commit(t: LedgerTick, mutate: (s: CanaryStatus, owed?: OwedEvent) => CanaryStatus): Promise<void> {
    t.canary = await writeStatus(
      this.deps.store,
      t.canary,
      (s) => {
        const { pendingEvent: owed, owedEvents: older, ...rest } = s;
        const next = mutate(rest, owed);
        let list = (older ?? []).filter((e) => !this.paidFor(t, e.name));
        if (owed && !this.paidFor(t, owed.name)) {
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
    // Each owed Event is tried once per tick; one that fails waits for the next tick.
    if ((t.status.owedEvents ?? []).some((e) => !t.tried?.has(e.name))) await this.payOwed(t);
  }

  /** Writes the older owed Events (status.owedEvents) and drops those written from status. */
  async payOwed(t: LedgerTick): Promise<void> {
    let paid = false;
    for (const e of t.status.owedEvents ?? []) {
      if (t.tried?.has(e.name) || this.paidFor(t, e.name)) continue;
      (t.tried ??= new Set()).add(e.name);
      // A fold displaced by a newer transition is written now, before the newer one's Event.
      const mine = this.deferredAs(t, e);
      if (mine) this.deferred.delete(this.key(t));
      if (await this.writeDebt(t, mine ?? e)) {
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
   * revision, step and reason. If the process dies in between, the next tick announces it. A weight
   * `step` (not a mirror or A/B iteration) of a canary that folds (advance-fold.ts) extends the fold this process deferred, or starts one,
   * and its Event waits until the fold is due.
   */
  async transition(
    t: LedgerTick,
    reason: Reason,
    message: string,
    mutate: (s: CanaryStatus) => CanaryStatus,
    fields: Record<string, unknown> = {},
    step?: { from: number; to: number },
  ): Promise<void> {
    const k = reason === Reason.WeightAdvanced && step ? this.foldSize(t) : 1;
    let debt: OwedEvent = { name: '', reason, message };
    await this.commit(t, (s, owed) => {
      const next = mutate(s);
      const name = transitionEventName(t.canary.metadata.name, next.revision ?? '', next.stepIndex ?? -1, next.phase ?? '', reason);
      debt = step && k > 1 ? this.fold(t, owed, { name, message, ...step, at: new Date(this.now(t)).toISOString() }, k) : { name, reason, message };
      return { ...next, pendingEvent: debt };
    });
    if (isFold(debt)) {
      this.deps.recorder.note(this.recorded(t, reason, message, fields));
      if (!foldDue(debt, k, this.deps.advanceWindowMs ?? 0, this.now(t))) return void this.deferred.set(this.key(t), debt);
    }
    this.deferred.delete(this.key(t));
    // Announced: the debt is dropped by the next status write (commit strips paid debts), this tick's own
    // when the phase is final. A failed Event write keeps it for the next tick.
    if (await this.writeDebt(t, debt, fields)) {
      this.paidNow(t, debt.name);
      if (!WRITES_FOLLOW.has(t.status.phase ?? '') || !nextWriteSoon(t.canary)) await this.commit(t, (s) => s);
    }
  }

  /** The step's debt: the fold this process deferred, one step further, or a new fold from this step. */
  private fold(t: LedgerTick, owed: OwedEvent | undefined, step: AdvanceStep, k: number): OwedEvent {
    const mine = this.deferredAs(t, owed);
    // Equal counts: status holds the fold as this process left it, so no other writer took it further or wrote it.
    const ours = mine !== undefined && owed !== undefined && mine.count === owed.count;
    return ours && !foldDue(mine, k, this.deps.advanceWindowMs ?? 0, this.now(t)) ? extendFold(mine, step) : startFold(step);
  }

  /**
   * Re-announces a transition whose Event may not have been written (see transition), and older owed Events.
   * A fold this process deferred is written once due, with no status write of its own (the next drops it).
   */
  async announcePending(t: LedgerTick): Promise<void> {
    if ((t.status.owedEvents ?? []).some((e) => !this.paidFor(t, e.name))) await this.payOwed(t);
    const p = t.status.pendingEvent;
    // Written by this process: the debt rides on this tick's status write, if it makes one.
    if (!p || this.paidFor(t, p.name) || this.waiting(t, p)) return;
    if (this.deferredAs(t, p)) return this.flushDeferred(t);
    t.resuming = true;
    if (await this.writeDebt(t, p)) {
      (t.written ??= new Set()).add(p.name);
      await this.commit(t, (s) => s);
    }
  }

  /** Writes the Event a debt in status names (a fold with its count, times and steps); true once it is in the API. */
  private writeDebt(t: LedgerTick, d: OwedEvent, fields: Record<string, unknown> = {}): Promise<boolean> {
    const { fields: folded, ...fold } = foldRecord(d);
    return this.deps.recorder.record({ ...this.recorded(t, d.reason as Reason, d.message, { ...fields, ...folded }), ...fold, name: d.name }, t.signal);
  }

  /**
   * True once the Event is in the API. A fold this process deferred is written first: a hold, a failed check or a
   * gate after a step must not reach the Event stream before the step itself (found in the demo: "Holding at
   * weight 10" came before "Shifted canary weight 0 -> 10"). A DecisionForecast, which each step of a sequential
   * rollout has, describes the step just taken and does not: flushing on it would undo folding there.
   */
  async event(t: LedgerTick, reason: Reason, message: string, fields: Record<string, unknown> = {}, name?: string): Promise<boolean> {
    if (reason !== Reason.DecisionForecast) await this.flushDeferred(t);
    return this.deps.recorder.record({ ...this.recorded(t, reason, message, fields), ...(name ? { name } : {}) }, t.signal);
  }

  /** The transition Event `name` is in the API: this tick may drop its debt, and later ticks know it is paid. */
  private paidNow(t: LedgerTick, name: string): void {
    (t.written ??= new Set()).add(name);
    this.paid.set(this.key(t), name);
  }

  /** Writes the fold this process deferred for the canary, if any (its debt in status rides on the next write). */
  private async flushDeferred(t: LedgerTick): Promise<void> {
    const mine = this.deferredAs(t, t.status.pendingEvent);
    if (!mine) return;
    this.deferred.delete(this.key(t));
    if (await this.writeDebt(t, mine)) {
      this.paidNow(t, mine.name);
    }
  }

  private recorded(t: LedgerTick, reason: Reason, message: string, fields: Record<string, unknown>): RecordedEvent {
    return {
      object: { apiVersion: API_VERSION, kind: CANARY_KIND, metadata: t.canary.metadata },
      reason,
      message,
      fields: { canary: canaryKey(t.canary), phase: t.status.phase, weight: t.status.canaryWeight, revision: t.status.revision, ...fields },
    };
  }
}

/**
 * Whether the next status write comes well within the Events' time to live (kube-apiserver's --event-ttl,
 * 1 h by default): a controller restarted after the Event expired would announce the step again.
 */
function nextWriteSoon(canary: Canary): boolean {
  try {
    return parseDuration(canary.spec.analysis.interval, 'spec.analysis.interval') <= DEFER_WITHIN_MS;
  } catch {
    return false;
  }
}

/** A DNS-subdomain Event name unique to one transition of one rollout. */
export function transitionEventName(canary: string, revision: string, stepIndex: number, phase: string, reason: string): string {
  const step = stepIndex >= 0 ? `s${stepIndex}` : 'init';
  return `${canary}.${revision}.${step}.${phase}.${reason}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-').slice(0, 253);
}
