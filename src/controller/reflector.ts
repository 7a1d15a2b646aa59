import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { KubeApiError } from '../kube/errors.js';
import { watchOnce } from '../kube/watch.js';

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; managedFields?: unknown; annotations?: Record<string, string> };
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * What the cache keeps of an object: all but managedFields and kubectl's last-applied copy, which nothing here
 * reads and which are often most of an object's size on a real API server (client-go's informers offer the same
 * trim). Writes never send a cached object's metadata back (status PUTs ignore it, route patches name their paths).
 */
export function trimForCache<T extends KubeObject>(obj: T): T {
  const m = obj.metadata;
  if (!m || (m.managedFields === undefined && m.annotations?.[LAST_APPLIED] === undefined)) return obj;
  const { managedFields: _dropped, ...meta } = m;
  if (meta.annotations?.[LAST_APPLIED] !== undefined) {
    const { [LAST_APPLIED]: _applied, ...rest } = meta.annotations;
    meta.annotations = rest;
  }
  return { ...obj, metadata: meta };
}

import type { ListResult } from '../kube/list.js';

export type { ListResult };

export type ReflectorEvent = 'add' | 'update' | 'delete';

export interface ReflectorOptions<T extends KubeObject> {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. /apis/routeshift.io/v1alpha1/canaries */
  path: string;
  list: (signal: AbortSignal) => Promise<ListResult<T>>;
  labelSelector?: string;
  clock: Clock;
  logger: Logger;
  onEvent: (type: ReflectorEvent, obj: T, old?: T) => void;
  /** Server-side watch timeout; the watch is re-opened from the last resourceVersion afterwards. */
  watchTimeoutSeconds?: number;
}

const keyOf = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/**
 * List-then-watch cache of one resource type, like client-go's reflector. We keep our own instead of
 * client-node's ListWatch because that one never asks for bookmarks (so every reconnect after a
 * quiet period risks a 410 and a full relist) and stops for good on the first non-410 error; this
 * one backs off and resumes from the last resourceVersion it saw, relisting only on 410 Gone.
 */
export class Reflector<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private resourceVersion = '';
  private synced = false;
  private readonly watch: Watch;
  /** Counters for tests and /metrics. */
  readonly stats = { lists: 0, watches: 0, gone: 0, errors: 0 };

  constructor(private readonly opts: ReflectorOptions<T>) {
    this.watch = new Watch(opts.kubeConfig);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Runs until `signal` aborts. Resolves once stopped; the first list completes before `synced`. */
  async run(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist(signal);
        const outcome = await this.watchOnce(signal);
        if (outcome === 'gone') {
          this.stats.gone++;
          this.resourceVersion = '';
        }
        backoff = 500;
      } catch (err) {
        if (signal.aborted) break;
        this.stats.errors++;
        this.opts.logger.warn({ path: this.opts.path, err: errorMessage(err), retryInMs: backoff }, 'list/watch failed');
        try {
          await this.opts.clock.sleep(backoff, signal);
        } catch {
          break;
        }
        backoff = Math.min(backoff * 2, 30_000);
      }
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const list = await this.opts.list(signal);
    this.stats.lists++;
    const fresh = new Map<string, T>();
    for (const item of list.items) fresh.set(keyOf(item), trimForCache(item));
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.opts.onEvent('delete', old);
      }
    }
    for (const [key, obj] of fresh) {
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.opts.onEvent('add', obj);
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.opts.onEvent('update', obj, old);
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.synced = true;
  }

  /** One watch from the last resourceVersion; 'gone' when the server no longer has it (410: relist). */
  private async watchOnce(signal: AbortSignal): Promise<'closed' | 'gone'> {
    this.stats.watches++;
    const params: Record<string, string | number | boolean> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.opts.watchTimeoutSeconds ?? 240 + Math.floor(Math.random() * 60),
    };
    if (this.opts.labelSelector) params.labelSelector = this.opts.labelSelector;
    try {
      await watchOnce(this.watch, this.opts.path, params, `watch ${this.opts.path}`, (type, obj) => this.apply(type, obj as T), signal);
      return 'closed';
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 410) return 'gone';
      throw err;
    }
  }

  private apply(type: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const key = keyOf(obj);
    const old = this.cache.get(key);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.opts.onEvent('delete', obj);
    } else {
      const kept = trimForCache(obj);
      this.cache.set(key, kept);
      this.opts.onEvent(old ? 'update' : 'add', kept, old);
    }
    if (rv) this.resourceVersion = rv;
  }
}
