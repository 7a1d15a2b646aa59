import { ANNOTATIONS, API_VERSION, CANARY_KIND, type Canary, type CanaryStatus } from '../api/canary.js';
import { FakeClock } from '../core/clock.js';
import type { ListResult } from '../controller/reflector.js';
import { revisionOf } from '../controller/revision.js';
import { KubeApiError } from '../kube/errors.js';
import type { CanaryClient, CliIO, CommandContext, Output } from './commands/context.js';
import type { EventReader, WatchEventType, WatchSource } from './kube.js';
import { makeStyle, type EventSummary } from './render.js';

/** Shared fakes for the CLI tests: no server, no process streams. */

export class Capture implements Output {
  text = '';
  constructor(
    public isTTY = false,
    public columns?: number,
  ) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  get lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

export function fakeIO(opts: { tty?: boolean; color?: boolean; columns?: number } = {}): { io: CliIO; out: Capture; err: Capture } {
  const out = new Capture(opts.tty ?? false, opts.columns);
  const err = new Capture(false);
  return { io: { out, err, style: makeStyle(opts.color ?? false) }, out, err };
}

/** RFC 7386 JSON merge patch, as the API server applies it to a custom resource. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export class FakeCanaryStore implements CanaryClient {
  readonly canaries = new Map<string, Canary>();
  readonly patches: Array<{ namespace: string; name: string; body: object }> = [];
  readonly lists: Array<string | undefined> = [];
  /** Every call fails with this when set. */
  failWith: Error | undefined;
  private rv = 100;

  constructor(...canaries: Canary[]) {
    for (const c of canaries) this.put(c);
  }

  put(c: Canary): Canary {
    const stored = structuredClone(c);
    stored.metadata.resourceVersion = String(++this.rv);
    this.canaries.set(`${c.metadata.namespace ?? 'default'}/${c.metadata.name}`, stored);
    return stored;
  }

  async get(namespace: string, name: string): Promise<Canary> {
    if (this.failWith) throw this.failWith;
    const c = this.canaries.get(`${namespace}/${name}`);
    if (!c) throw new KubeApiError(404, `get Canary ${namespace}/${name}: HTTP 404: canaries.routeshift.io "${name}" not found`, 'NotFound');
    return structuredClone(c);
  }

  async list(_signal: AbortSignal, namespace?: string): Promise<ListResult<Canary>> {
    if (this.failWith) throw this.failWith;
    this.lists.push(namespace);
    const items = [...this.canaries.values()].filter((c) => namespace === undefined || c.metadata.namespace === namespace);
    return { items: structuredClone(items), metadata: { resourceVersion: String(this.rv) } };
  }

  async patch(namespace: string, name: string, body: object): Promise<Canary> {
    if (this.failWith) throw this.failWith;
    const c = await this.get(namespace, name);
    this.patches.push({ namespace, name, body: structuredClone(body) });
    return this.put(mergePatch(c, body) as Canary);
  }

  stored(namespace: string, name: string): Canary {
    const c = this.canaries.get(`${namespace}/${name}`);
    if (!c) throw new Error(`no ${namespace}/${name}`);
    return c;
  }
}

export class FakeEvents implements EventReader {
  failWith: Error | undefined;
  constructor(public items: EventSummary[] = []) {}
  async list(): Promise<{ items: EventSummary[]; resourceVersion: string }> {
    if (this.failWith) throw this.failWith;
    return { items: structuredClone(this.items), resourceVersion: '7' };
  }
}

type Listener<T> = { onEvent: (type: WatchEventType, obj: T) => void; resolve: () => void; reject: (e: unknown) => void; rv: string };

/** A WatchSource the test drives: streams stay open until the test ends them or the watch aborts. */
export class ScriptedWatch implements WatchSource {
  canaryStreams: Array<Listener<Canary>> = [];
  eventStreams: Array<Listener<EventSummary>> = [];

  get opened(): number {
    return this.canaryStreams.length + this.eventStreams.length;
  }

  canary(_ns: string, _name: string, rv: string, onEvent: (type: WatchEventType, c: Canary) => void, signal: AbortSignal): Promise<void> {
    return this.open(this.canaryStreams, rv, onEvent, signal);
  }

  events(_ns: string, _name: string, rv: string, onEvent: (type: WatchEventType, e: EventSummary) => void, signal: AbortSignal): Promise<void> {
    return this.open(this.eventStreams, rv, onEvent, signal);
  }

  private open<T>(streams: Array<Listener<T>>, rv: string, onEvent: (type: WatchEventType, obj: T) => void, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => resolve();
      const off = (): void => signal.removeEventListener('abort', onAbort);
      streams.push({ onEvent, resolve: () => (off(), resolve()), reject: (e) => (off(), reject(e)), rv });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  emitCanary(type: WatchEventType, c: Canary): void {
    const s = this.canaryStreams.at(-1);
    if (!s) throw new Error('no canary stream open');
    s.onEvent(type, structuredClone(c));
  }

  emitEvent(e: EventSummary, type: WatchEventType = 'ADDED'): void {
    const s = this.eventStreams.at(-1);
    if (!s) throw new Error('no event stream open');
    s.onEvent(type, structuredClone(e));
  }

  failCanaryStream(err: unknown): void {
    this.canaryStreams.at(-1)?.reject(err);
  }
}

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const iso = (offsetMs: number): string => new Date(T0 + offsetMs).toISOString();

export function canary(name = 'podinfo', namespace = 'shop', status?: CanaryStatus, extra: Partial<Canary['spec']> = {}): Canary {
  const c: Canary = {
    apiVersion: API_VERSION,
    kind: CANARY_KIND,
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1, creationTimestamp: iso(-3_600_000), annotations: {} },
    spec: {
      routeRef: { name: `${name}-route` },
      stable: { name: `${name}-v1`, port: 9898 },
      canary: { name: `${name}-v2`, port: 9898 },
      analysis: { interval: '1m', threshold: 5, stepWeights: [10, 20, 40, 60, 80] },
      ...extra,
    },
  };
  if (status) c.status = status;
  return c;
}

/** A Canary whose status names its current revision (the controller has started it). */
export function started(c: Canary, status: CanaryStatus): Canary {
  return { ...c, status: { revision: revisionOf(c), observedGeneration: c.metadata.generation, ...status } };
}

export function progressing(name = 'podinfo', namespace = 'shop', status: CanaryStatus = {}): Canary {
  return started(canary(name, namespace), {
    phase: 'Progressing',
    canaryWeight: 20,
    stepIndex: 1,
    failedChecks: 1,
    rolloutStartTime: iso(-600_000),
    lastAnalysisTime: iso(-30_000),
    message: 'Advanced canary weight 10 -> 20: all checks passed',
    lastAnalysis: [
      { name: 'request-success-rate', value: 99.8734, threshold: '>= 99', verdict: 'pass', message: '', time: iso(-30_000) },
      { name: 'latency-p99', value: 612.4, threshold: '<= 500', verdict: 'fail', message: '612.4 above 500', time: iso(-30_000) },
    ],
    conditions: [{ type: 'Ready', status: 'True', reason: 'Progressing', message: 'Rollout started', lastTransitionTime: iso(-600_000) }],
    ...status,
  });
}

export function event(name: string, reason: string, message: string, lastOffsetMs: number, extra: Partial<EventSummary> = {}): EventSummary {
  return { name, type: 'Normal', reason, message, count: 1, firstTimestamp: iso(lastOffsetMs), lastTimestamp: iso(lastOffsetMs), ...extra };
}

export function context(store: FakeCanaryStore, opts: { events?: FakeEvents; watch?: ScriptedWatch; tty?: boolean; namespace?: string; clock?: FakeClock; signal?: AbortSignal } = {}) {
  const { io, out, err } = fakeIO({ tty: opts.tty ?? false });
  const clock = opts.clock ?? new FakeClock(T0);
  const ctx: CommandContext = {
    namespace: opts.namespace ?? 'shop',
    store,
    events: opts.events ?? new FakeEvents(),
    watch: opts.watch ?? new ScriptedWatch(),
    clock,
    io,
    signal: opts.signal ?? new AbortController().signal,
  };
  return { ctx, out, err, clock };
}

export { ANNOTATIONS };
