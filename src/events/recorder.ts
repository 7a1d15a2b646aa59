import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { isConflict } from '../kube/errors.js';
import { LruMap } from '../core/lru.js';
import type { ObjectMeta } from '../api/canary.js';
import { eventTypeOf, severityOf, type Reason } from './reasons.js';

/** Where Events go: the Kubernetes API in production, a list in tests. */
export interface EventSink {
  create(namespace: string, event: CoreEvent, signal: AbortSignal): Promise<void>;
  /** Bumps count/lastTimestamp of an existing Event; rejects (any error) when it is gone. */
  update(namespace: string, name: string, patch: { count: number; lastTimestamp: string }, signal: AbortSignal): Promise<void>;
}

export interface CoreEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string; resourceVersion?: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
}

export interface Involved {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
}

export interface RecordedEvent {
  object: Involved;
  reason: Reason;
  message: string;
  /** Extra structured fields for the log line and notifications (weights, phase, metrics). */
  fields?: Record<string, unknown>;
  /**
   * A fixed Event name makes recording idempotent: a second create of the same name is a no-op.
   * Used for rollout transitions, which may be re-announced after a crash.
   */
  name?: string;
  /** Several occurrences in one Event (a fold of rollout steps): count and the first and last time (ISO). */
  count?: number;
  firstTime?: string;
  lastTime?: string;
  annotations?: Record<string, string>;
  /** Each occurrence was logged when it happened (note()): tell listeners, log only at debug. */
  logged?: boolean;
}

/** Called for every recorded event, e.g. to send notifications; must not throw or block. */
export type EventListener = (e: RecordedEvent & { type: 'Normal' | 'Warning'; severity: 'info' | 'warn' | 'error' }) => void;

interface Seen {
  name: string;
  count: number;
  at: number;
}

const AGGREGATE_WINDOW_MS = 10 * 60_000;
const MAX_SEEN = 4096;

/**
 * One recorder for Events, logs and notifications, so the three never disagree. Identical events
 * (same object, reason and message) within ten minutes bump `count` on one Event instead of
 * creating another, as client-go's correlator does. Recording never throws: a lost Event must not
 * stop a rollout.
 */
export class Recorder {
  private readonly seen = new Map<string, Seen>();
  private readonly listeners: EventListener[] = [];
  /**
   * Named Events this recorder has announced (logged, told listeners), and whether they are written. A
   * transition may be recorded again (a tick on the informer's copy from before our own status write
   * re-announces it); it is logged and notified once, and only written again while not yet written.
   */
  private readonly named = new LruMap<string, 'announced' | 'written'>(MAX_SEEN);

  constructor(
    private readonly sink: EventSink,
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly component = 'routeshift',
    private readonly instance = process.env.HOSTNAME ?? 'routeshift',
  ) {}

  /** True when this process has written the named Event (a restart forgets: the next record() finds it in the API). */
  written(namespace: string, name: string): boolean {
    return this.named.get(`${namespace}/${name}`) === 'written';
  }

  onEvent(listener: EventListener): void {
    this.listeners.push(listener);
  }

  /** Resolves true once the Event is in the API (written now, or a named one found already there), false when the write failed. */
  async record(e: RecordedEvent, signal: AbortSignal): Promise<boolean> {
    const type = eventTypeOf(e.reason);
    const severity = severityOf(e.reason);
    const ns = e.object.metadata.namespace ?? 'default';
    const log = this.loggerFor(e);
    const id = e.name ? `${ns}/${e.name}` : undefined;
    const before = id ? this.named.get(id) : undefined;
    if (before === 'written') return true;
    if (before === undefined) this.announce(e, type, severity, log);
    try {
      await this.write(e, type, ns, signal);
      if (id) this.named.set(id, 'written');
      return true;
    } catch (err) {
      log.warn({ reason: e.reason, err: errorMessage(err) }, 'could not write Event');
      if (id) this.named.set(id, 'announced');
      return false;
    }
  }

  /** Logs an occurrence whose Event is written later, folded with others (record() with `logged`). */
  note(e: RecordedEvent): void {
    this.logLine(this.loggerFor(e), { ...e, logged: false }, eventTypeOf(e.reason));
  }

  private loggerFor(e: RecordedEvent): Logger {
    return this.logger.child({ namespace: e.object.metadata.namespace ?? 'default', name: e.object.metadata.name, kind: e.object.kind });
  }

  /** The log line of an occurrence; one already logged by note() goes to debug only. */
  private logLine(log: Logger, e: RecordedEvent, type: 'Normal' | 'Warning'): void {
    log[e.logged ? 'debug' : type === 'Warning' ? 'warn' : 'info']({ reason: e.reason, ...e.fields }, e.message);
  }

  private announce(e: RecordedEvent, type: 'Normal' | 'Warning', severity: 'info' | 'warn' | 'error', log: Logger): void {
    this.logLine(log, e, type);
    for (const l of this.listeners) {
      try {
        l({ ...e, type, severity });
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'event listener failed');
      }
    }
  }

  private async write(e: RecordedEvent, type: 'Normal' | 'Warning', ns: string, signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    if (e.name) {
      try {
        await this.sink.create(ns, this.build(e, type, ns, e.name, now), signal);
      } catch (err) {
        // Already recorded before a restart (AlreadyExists). A 409 Conflict is a failed write, not a duplicate.
        if (!isConflict(err) || (err as { reason?: string }).reason === 'Conflict') throw err;
      }
      return;
    }
    const key = `${e.object.metadata.uid ?? ns + '/' + e.object.metadata.name}|${e.reason}|${e.message}`;
    const prior = this.seen.get(key);
    const ts = new Date(now).toISOString();
    if (prior && now - prior.at < AGGREGATE_WINDOW_MS) {
      prior.count += 1;
      prior.at = now;
      try {
        await this.sink.update(ns, prior.name, { count: prior.count, lastTimestamp: ts }, signal);
        return;
      } catch {
        this.seen.delete(key); // gone (expired by the API server's TTL): create a fresh one
      }
    }
    const name = `${e.object.metadata.name}.${now.toString(16)}${randomBytes(3).toString('hex')}`;
    await this.sink.create(ns, this.build(e, type, ns, name, now), signal);
    if (this.seen.size >= MAX_SEEN) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(key, { name, count: 1, at: now });
  }

  private build(e: RecordedEvent, type: 'Normal' | 'Warning', ns: string, name: string, now: number): CoreEvent {
    const ts = new Date(now).toISOString();
    return {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns, ...(e.annotations ? { annotations: e.annotations } : {}) },
        involvedObject: {
          apiVersion: e.object.apiVersion,
          kind: e.object.kind,
          name: e.object.metadata.name,
          namespace: ns,
          ...(e.object.metadata.uid ? { uid: e.object.metadata.uid } : {}),
        },
        reason: e.reason,
        message: e.message.length > 1024 ? `${e.message.slice(0, 1021)}...` : e.message,
        type,
        count: e.count ?? 1,
        firstTimestamp: e.firstTime ?? ts,
        lastTimestamp: e.lastTime ?? ts,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
    };
  }
}
