import type { Canary } from '../api/canary.js';
import { summarizeEvent } from '../cli/kube.js';
import type { EventSummary } from '../cli/render.js';
import { canaryDetail, type CanaryDetail } from './detail.js';
import { CanaryHistory, type WeightPoint } from './history.js';
import { canaryKey, canaryRow, type CanaryRow } from './model.js';

export type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** Problems shown as banners at the top of the page; absent when that source is fine. */
export interface Banners {
  api?: string;
  prometheus?: string;
}

export interface Snapshot {
  banners: Banners;
  /** Where the data comes from, shown in the page's footer. */
  sources: { api: string; prometheus: string | null };
  rows: CanaryRow[];
  /** The Canary asked for; null when it does not exist (any more). */
  detail: CanaryDetail | null;
  /** Seconds since the epoch when this was computed. */
  now: number;
}

/** Events that have no Canary yet are kept (a watch can deliver them first), but not forever. */
const MAX_EVENTS_PER_CANARY = 500;

interface RawEvent {
  involvedObject?: { namespace?: string; name?: string; kind?: string };
  metadata?: { namespace?: string };
}

/** Everything the dashboard knows, fed by the watches and the Prometheus poll; pure apart from the change listeners. */
export class DashboardState {
  private readonly canaries = new Map<string, Canary>();
  private readonly events = new Map<string, Map<string, EventSummary>>();
  private readonly histories = new Map<string, CanaryHistory>();
  private readonly listeners = new Set<() => void>();
  banners: Banners = {};

  constructor(
    readonly sources: { api: string; prometheus: string | null },
    private readonly nowMs: () => number,
  ) {}

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }

  private history(key: string): CanaryHistory {
    let h = this.histories.get(key);
    if (!h) {
      h = new CanaryHistory();
      this.histories.set(key, h);
    }
    return h;
  }

  resetCanaries(items: Canary[]): void {
    this.canaries.clear();
    for (const c of items) this.putCanary(c);
    this.changed();
  }

  canaryEvent(type: WatchType, c: Canary): void {
    const key = canaryKey(c.metadata.namespace ?? 'default', c.metadata.name);
    if (type === 'DELETED') {
      this.canaries.delete(key);
      this.histories.delete(key);
    } else this.putCanary(c);
    this.changed();
  }

  private putCanary(c: Canary): void {
    const key = canaryKey(c.metadata.namespace ?? 'default', c.metadata.name);
    this.canaries.set(key, c);
    this.history(key).observe(c, this.nowMs() / 1000);
  }

  resetEvents(items: object[]): void {
    this.events.clear();
    for (const e of items) this.putEvent('ADDED', e);
    this.changed();
  }

  kubeEvent(type: WatchType, e: object): void {
    this.putEvent(type, e);
    this.changed();
  }

  private putEvent(type: WatchType, raw: object): void {
    const io = (raw as RawEvent).involvedObject;
    if (io?.kind !== undefined && io.kind !== 'Canary') return;
    const key = canaryKey(io?.namespace ?? (raw as RawEvent).metadata?.namespace ?? 'default', io?.name ?? '');
    const e = summarizeEvent(raw as Record<string, unknown>);
    let m = this.events.get(key);
    if (!m) {
      m = new Map();
      this.events.set(key, m);
    }
    if (type === 'DELETED') m.delete(e.name);
    else m.set(e.name, e);
    if (m.size > MAX_EVENTS_PER_CANARY) m.delete(m.keys().next().value as string);
  }

  setBanner(source: keyof Banners, message: string | undefined): void {
    if (this.banners[source] === message) return;
    const next = { ...this.banners };
    if (message === undefined) delete next[source];
    else next[source] = message;
    this.banners = next;
    this.changed();
  }

  /** Past weights and metric values per Canary key, as read from Prometheus. */
  setPrometheusHistory(weights: Map<string, WeightPoint[]>, metrics: Map<string, Map<string, WeightPoint[]>>): void {
    for (const key of this.canaries.keys()) this.history(key).setPrometheus(weights.get(key) ?? [], metrics.get(key) ?? new Map());
    this.changed();
  }

  list(): Canary[] {
    return [...this.canaries.values()];
  }

  snapshot(selected: string | undefined): Snapshot {
    const now = this.nowMs();
    const rows = [...this.canaries.values()].map((c) => canaryRow(c, now)).sort((a, b) => a.key.localeCompare(b.key));
    const c = selected ? this.canaries.get(selected) : undefined;
    const detail = c && selected ? canaryDetail(c, this.history(selected), [...(this.events.get(selected)?.values() ?? [])], now) : null;
    return { banners: this.banners, sources: this.sources, rows, detail, now: now / 1000 };
  }
}
