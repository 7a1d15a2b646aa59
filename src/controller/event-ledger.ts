import type { Logger } from 'pino';
import { API_VERSION, CANARY_KIND, canaryKey, type Canary, type CanaryStatus } from '../api/canary.js';
import type { Reason } from '../events/reasons.js';
import type { Recorder } from '../events/recorder.js';
import { LruMap } from '../core/lru.js';
import { parseDuration } from '../core/duration.js';
import { writeStatus, type CanaryStore } from './canary-store.js';

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

  constructor(private readonly deps: { store: CanaryStore; recorder: Recorder }) {}

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
    return (p !== undefined && !this.paidFor(t, p.name)) || (t.status.owedEvents ?? []).some((e) => !this.paidFor(t, e.name));
  }

  /**
   * Writes status. An owed transition Event is dropped only once this tick has written it: a tick that
   * started from a stale copy (an informer behind, a watch just dropped) may find, on a conflict, a debt
   * it never saw. Such a debt is kept; one displaced by a new transition moves to status.owedEvents in the
   * same write and is announced right after it (found by faults-api: announcing it only after the write lost
   * it when that Event write failed too).
   */
  async commit(t: LedgerTick, mutate: (s: CanaryStatus) => CanaryStatus): Promise<void> {
    t.canary = await writeStatus(
      this.deps.store,
      t.canary,
      (s) => {
        const { pendingEvent: owed, owedEvents: older, ...rest } = s;
        const next = mutate(rest);
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
  async transition(
    t: LedgerTick,
    reason: Reason,
    message: string,
    mutate: (s: CanaryStatus) => CanaryStatus,
    fields: Record<string, unknown> = {},
  ): Promise<void> {
    let name = '';
    await this.commit(t, (s) => {
      const next = mutate(s);
      name = transitionEventName(t.canary.metadata.name, next.revision ?? '', next.stepIndex ?? -1, next.phase ?? '', reason);
      return { ...next, pendingEvent: { name, reason, message } };
    });
    // Announced: the debt is dropped by the next status write (commit strips paid debts), this tick's own
    // when the phase is final. A failed Event write keeps it for the next tick.
    if (await this.event(t, reason, message, fields, name)) {
      (t.written ??= new Set()).add(name);
      this.paid.set(`${t.canary.metadata.namespace ?? 'default'}/${t.canary.metadata.name}`, name);
      if (!WRITES_FOLLOW.has(t.status.phase ?? '') || !nextWriteSoon(t.canary)) await this.commit(t, (s) => s);
    }
  }

  /** Re-announces a transition whose Event may not have been written (see transition), and older owed Events. */
  async announcePending(t: LedgerTick): Promise<void> {
    if ((t.status.owedEvents ?? []).some((e) => !this.paidFor(t, e.name))) await this.payOwed(t);
    const p = t.status.pendingEvent;
    // Written by this process: the debt rides on this tick's status write, if it makes one.
    if (!p || this.paidFor(t, p.name)) return;
    t.resuming = true;
    if (await this.event(t, p.reason as Reason, p.message, {}, p.name)) {
      (t.written ??= new Set()).add(p.name);
      await this.commit(t, (s) => s);
    }
  }

  /** True once the Event is in the API. */
  async event(t: LedgerTick, reason: Reason, message: string, fields: Record<string, unknown> = {}, name?: string): Promise<boolean> {
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
