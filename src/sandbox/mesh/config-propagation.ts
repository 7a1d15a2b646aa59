import type { MeshSnapshot } from './mesh-config.js';

/**
 * Delays config the way a mesh control plane does between an API change and the proxies having
 * it: every change captures a snapshot of the caches, and that snapshot goes live `delayMs` later,
 * in order. A burst of events within one event-loop turn becomes one snapshot.
 */
export class ConfigPropagation {
  private captureQueued = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly capture: () => MeshSnapshot,
    private readonly apply: (snapshot: MeshSnapshot) => void,
    private readonly delayMs: number,
  ) {}

  /** Something in the caches changed. */
  changed(): void {
    if (this.captureQueued || this.stopped) return;
    this.captureQueued = true;
    setImmediate(() => {
      this.captureQueued = false;
      if (this.stopped) return;
      const snapshot = this.capture();
      if (this.delayMs <= 0) return this.apply(snapshot);
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.stopped) this.apply(snapshot);
      }, this.delayMs);
      this.timers.add(timer);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
