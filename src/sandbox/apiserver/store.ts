import { isObject, type JsonObject } from './json.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: EventType;
  rv: number;
  /** Storage form, frozen by convention: never mutated after it is recorded. */
  object: JsonObject;
  /** The object before the change (for selector transitions in filtered watches). */
  previous?: JsonObject;
}

export interface StoreListener {
  storageKey: string;
  namespace?: string;
  onEvent(ev: StoredEvent): void;
}

interface History {
  events: StoredEvent[];
  /** A watch from an RV below this has lost events: 410 Gone. */
  oldestValidRv: number;
}

export function objectKey(obj: JsonObject): string {
  const m = isObject(obj['metadata']) ? obj['metadata'] : {};
  return `${typeof m['namespace'] === 'string' ? m['namespace'] : ''}/${typeof m['name'] === 'string' ? m['name'] : ''}`;
}

export class TooOldResourceVersionError extends Error {
  constructor(readonly requested: number, readonly oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

/**
 * In-memory etcd stand-in: one global revision counter, objects per storage key, and a bounded
 * event history per storage key from which watches resume.
 */
export class Store {
  private rv: number;
  private readonly buckets = new Map<string, Map<string, JsonObject>>();
  private readonly histories = new Map<string, History>();
  private readonly listeners = new Set<StoreListener>();
  private readonly changeHooks: Array<() => void> = [];

  constructor(private readonly historyLimit: number, startRv = 1) {
    this.rv = startRv;
  }

  currentRv(): number {
    return this.rv;
  }

  onChange(hook: () => void): void {
    this.changeHooks.push(hook);
  }

  private bucket(storageKey: string): Map<string, JsonObject> {
    let b = this.buckets.get(storageKey);
    if (!b) {
      b = new Map();
      this.buckets.set(storageKey, b);
    }
    return b;
  }

  private history(storageKey: string): History {
    let h = this.histories.get(storageKey);
    if (!h) {
      h = { events: [], oldestValidRv: 0 };
      this.histories.set(storageKey, h);
    }
    return h;
  }

  get(storageKey: string, namespace: string, name: string): JsonObject | undefined {
    return this.buckets.get(storageKey)?.get(`${namespace}/${name}`);
  }

  /** Objects in etcd key order (namespace, then name). */
  list(storageKey: string, namespace?: string): JsonObject[] {
    const b = this.buckets.get(storageKey);
    if (!b) return [];
    const keys = [...b.keys()].sort();
    const out: JsonObject[] = [];
    for (const k of keys) {
      if (namespace !== undefined && !k.startsWith(`${namespace}/`)) continue;
      out.push(b.get(k) as JsonObject);
    }
    return out;
  }

  storageKeys(): string[] {
    return [...this.buckets.keys()];
  }

  /** Stamps the next resourceVersion on `obj` and records it as ADDED or MODIFIED. */
  put(storageKey: string, obj: JsonObject): StoredEvent {
    const key = objectKey(obj);
    const b = this.bucket(storageKey);
    const previous = b.get(key);
    this.rv++;
    (obj['metadata'] as JsonObject)['resourceVersion'] = String(this.rv);
    b.set(key, obj);
    const ev: StoredEvent = { type: previous ? 'MODIFIED' : 'ADDED', rv: this.rv, object: obj };
    if (previous) ev.previous = previous;
    this.record(storageKey, ev);
    return ev;
  }

  /** Removes the object; the DELETED event carries it with the deletion's resourceVersion, as etcd does. */
  remove(storageKey: string, namespace: string, name: string): StoredEvent | undefined {
    const b = this.buckets.get(storageKey);
    const key = `${namespace}/${name}`;
    const existing = b?.get(key);
    if (!b || !existing) return undefined;
    b.delete(key);
    this.rv++;
    const gone: JsonObject = { ...existing, metadata: { ...(existing['metadata'] as JsonObject), resourceVersion: String(this.rv) } };
    const ev: StoredEvent = { type: 'DELETED', rv: this.rv, object: gone, previous: existing };
    this.record(storageKey, ev);
    return ev;
  }

  private record(storageKey: string, ev: StoredEvent): void {
    const h = this.history(storageKey);
    h.events.push(ev);
    while (h.events.length > this.historyLimit) {
      const dropped = h.events.shift() as StoredEvent;
      h.oldestValidRv = dropped.rv;
    }
    for (const l of [...this.listeners]) {
      if (l.storageKey !== storageKey) continue;
      if (l.namespace !== undefined && objectKey(ev.object).split('/')[0] !== l.namespace) continue;
      l.onEvent(ev);
    }
    for (const hook of this.changeHooks) hook();
  }

  /**
   * Events after `rv` for a storage key, or TooOldResourceVersionError when some were compacted away.
   * An RV ahead of the store is treated as "now" (the real server would wait; nothing useful comes of it here).
   */
  eventsSince(storageKey: string, rv: number): StoredEvent[] {
    const h = this.history(storageKey);
    if (rv < h.oldestValidRv) throw new TooOldResourceVersionError(rv, h.oldestValidRv + 1);
    return h.events.filter((e) => e.rv > rv);
  }

  subscribe(l: StoreListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /**
   * Forgets all history and moves the revision on, so every resourceVersion handed out so far is
   * too old to watch from (410 Gone), as after an etcd compaction.
   */
  compact(): void {
    this.rv++;
    for (const key of new Set([...this.histories.keys(), ...this.buckets.keys()])) {
      const h = this.history(key);
      h.events = [];
      h.oldestValidRv = this.rv;
    }
  }

  /** Every object, for persistence. */
  snapshot(): { resourceVersion: number; objects: Array<{ storageKey: string; object: JsonObject }> } {
    const objects: Array<{ storageKey: string; object: JsonObject }> = [];
    for (const [storageKey, b] of this.buckets) for (const obj of b.values()) objects.push({ storageKey, object: obj });
    return { resourceVersion: this.rv, objects };
  }

  /** Loads objects without events (startup only). */
  load(resourceVersion: number, objects: Array<{ storageKey: string; object: JsonObject }>): void {
    this.rv = Math.max(this.rv, resourceVersion);
    for (const { storageKey, object } of objects) this.bucket(storageKey).set(objectKey(object), object);
    for (const key of this.buckets.keys()) this.history(key).oldestValidRv = this.rv;
  }
}
