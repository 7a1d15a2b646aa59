import { setMaxListeners } from 'node:events';
import type { Canary, WebhookSpec } from '../api/canary.js';
import type { Clock } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { OutboundPolicy } from '../hooks/outbound.js';
import { LoadRun, type EndCause, type Outcome, type Send } from './generator.js';
import { parseHeyCommand, requestedRate, type HeySpec } from './hey.js';
import { createSender, type Sender } from './send.js';

/** The controller-wide limits (config `load`). */
export interface LoadCaps {
  /** Requests per second one Canary's load hooks may send together. */
  perCanary: number;
  /** Requests per second all load hooks of this controller may send together. */
  total: number;
}

export const DEFAULT_LOAD_CAPS: LoadCaps = { perCanary: 50, total: 200 };

/** How often running loads look at their Canary (is the rollout still analysing?). */
export const CHECK_INTERVAL_MS = 1_000;

export interface LoadEvent {
  canary: Canary;
  hook: string;
  kind: 'started' | 'stopped';
  message: string;
}

export interface LoadManagerOptions {
  clock: Clock;
  policy: OutboundPolicy;
  caps?: LoadCaps;
  logger?: Logger;
  /** Why the load of this Canary must stop now (its rollout ended, it is gone), or undefined while it may run. */
  stopReason: (namespace: string, name: string) => string | undefined;
  onEvent?: (e: LoadEvent) => void;
  onResult?: (namespace: string, name: string, outcome: Outcome) => void;
  /** Requests per second now sent for a Canary (0 when its load stops). */
  onRate?: (namespace: string, name: string, rps: number) => void;
  /** For tests: how requests are sent. Default: HTTP with the outbound policy (send.ts). */
  createSender?: (spec: HeySpec) => Sender;
}

/** What arming a hook did, for the hook's result. */
export interface ArmResult {
  ok: boolean;
  detail: string;
}

interface Running {
  canary: Canary;
  hook: string;
  cmd: string;
  spec: HeySpec;
  rps: number;
  run: LoadRun;
  abort: AbortController;
  /** Why it was stopped from outside, for the LoadStopped Event. */
  stoppedFor?: string;
  done: Promise<void>;
}

const keyOf = (ns: string, name: string, hook: string): string => `${ns}/${name}/${hook}`;
const ns = (c: Canary): string => c.metadata.namespace ?? 'default';
const sameCanary = (c: Canary) => (r: Running): boolean => ns(r.canary) === ns(c) && r.canary.metadata.name === c.metadata.name;

/**
 * The native load source: `type: rollout` hooks with `metadata.cmd` (a hey command) and no url. Every
 * analysis tick arms each such hook, as Flagger calls its loadtester every interval: a command not
 * running starts, a command already running (the loadtester's dedupe) is kept going for another -z. The
 * load stops when the Canary's rollout stops analysing (stopReason, looked at every second), when -z
 * passes without a tick, on stopAll, and when the command is edited (the new one starts).
 */
export class LoadManager {
  private readonly running = new Map<string, Running>();
  private readonly caps: LoadCaps;
  private readonly logger: Logger;
  private watching: Promise<void> | undefined;
  private readonly stopped = new AbortController();

  constructor(private readonly o: LoadManagerOptions) {
    this.caps = o.caps ?? DEFAULT_LOAD_CAPS;
    this.logger = o.logger ?? silentLogger();
    // Every run and its sleeps listen on it.
    setMaxListeners(0, this.stopped.signal);
  }

  /** Starts or keeps going the load of one hook; never throws. */
  arm(canary: Canary, hook: WebhookSpec): ArmResult {
    const cmd = hook.metadata?.cmd ?? '';
    let spec: HeySpec;
    try {
      spec = parseHeyCommand(cmd);
    } catch (err) {
      return { ok: false, detail: errorMessage(err) };
    }
    const key = keyOf(ns(canary), canary.metadata.name, hook.name);
    const why = this.o.stopReason(ns(canary), canary.metadata.name);
    if (why !== undefined) return { ok: true, detail: `load not started: ${why}` };
    if (this.stopped.signal.aborted) return { ok: true, detail: 'load not started: the controller is stopping' };
    const now = this.o.clock.now();
    const current = this.running.get(key);
    if (current && current.cmd === cmd) {
      current.canary = canary;
      if (spec.durationMs !== undefined) current.run.extendTo(now + spec.durationMs);
      return { ok: true, detail: `load running: ${this.describe(current)}` };
    }
    if (current) this.stop(current, 'its command was edited');
    return this.start(key, canary, hook.name, cmd, spec, now);
  }

  private start(key: string, canary: Canary, hook: string, cmd: string, spec: HeySpec, now: number): ArmResult {
    const asked = requestedRate(spec);
    const ofCanary = this.rateOf(sameCanary(canary));
    const ofAll = this.rateOf(() => true);
    const rps = Math.min(asked, this.caps.perCanary - ofCanary, this.caps.total - ofAll);
    const capNote = rps < asked ? ` (asked for ${Number.isFinite(asked) ? `${asked} rps` : 'no limit'}; capped by ${this.caps.perCanary - ofCanary <= this.caps.total - ofAll ? `load.maxRpsPerCanary (${this.caps.perCanary})` : `load.maxRps (${this.caps.total})`})` : '';
    if (!(rps > 0)) {
      this.logger.warn({ canary: `${ns(canary)}/${canary.metadata.name}`, hook }, `load not started: no rate left${capNote}`);
      return { ok: true, detail: `load not started: no rate left${capNote}` };
    }
    let sender: Sender;
    try {
      sender = this.o.createSender ? this.o.createSender(spec) : createSender(spec, this.o.policy, this.o.clock);
    } catch (err) {
      // The outbound policy refuses the target: like a webhook it may not call, a failed check.
      return { ok: false, detail: errorMessage(err) };
    }
    const abort = new AbortController();
    const signal = AbortSignal.any([abort.signal, this.stopped.signal]);
    setMaxListeners(0, signal);
    const send: Send = sender.send;
    const run = new LoadRun({
      clock: this.o.clock,
      send,
      rps,
      workers: spec.workers,
      ...(spec.durationMs === undefined ? { requests: spec.requests } : { until: now + spec.durationMs }),
      signal,
      onResult: (r) => {
        this.o.onResult?.(ns(canary), canary.metadata.name, r.outcome);
        if (r.outcome === 'error') this.logger.debug({ canary: `${ns(canary)}/${canary.metadata.name}`, hook, err: r.error?.message }, 'load request failed');
      },
    });
    const entry: Running = { canary, hook, cmd, spec, rps, run, abort, done: Promise.resolve() };
    this.running.set(key, entry);
    this.o.onRate?.(ns(canary), canary.metadata.name, this.rateOf(sameCanary(canary)));
    const detail = `load started: ${this.describe(entry)}${capNote}`;
    this.o.onEvent?.({ canary, hook, kind: 'started', message: `${hook}: ${detail}` });
    entry.done = run.run().then((cause) => this.ended(key, entry, cause, sender));
    this.watch();
    return { ok: true, detail };
  }

  private ended(key: string, entry: Running, cause: EndCause, sender: Sender): void {
    sender.close();
    if (this.running.get(key) === entry) this.running.delete(key);
    const c = entry.canary;
    this.o.onRate?.(ns(c), c.metadata.name, this.rateOf(sameCanary(c)));
    const why =
      entry.stoppedFor ??
      (cause === 'deadline' ? `-z ${formatMs(entry.spec.durationMs ?? 0)} passed without an analysis tick to keep it going` : cause === 'requests' ? `its ${entry.spec.requests} requests (-n) were sent` : 'the controller is stopping');
    const message = `${entry.hook}: load stopped after ${entry.run.sent} requests: ${why}`;
    this.logger.info({ canary: `${ns(c)}/${c.metadata.name}`, hook: entry.hook, sent: entry.run.sent }, message);
    // A stopping controller writes no Event: its API calls are being cancelled.
    if (!this.stopped.signal.aborted) this.o.onEvent?.({ canary: c, hook: entry.hook, kind: 'stopped', message });
  }

  private stop(entry: Running, why: string): void {
    entry.stoppedFor ??= why;
    entry.abort.abort();
  }

  /** Stops the loads of one Canary (e.g. it was deleted); resolves when their requests have ended. */
  async stopCanary(namespace: string, name: string, why: string): Promise<void> {
    const mine = [...this.running.values()].filter((r) => ns(r.canary) === namespace && r.canary.metadata.name === name);
    for (const r of mine) this.stop(r, why);
    await Promise.all(mine.map((r) => r.done));
  }

  /** Stops every load, for good (the controller stops or loses the lease). */
  async stopAll(): Promise<void> {
    this.stopped.abort();
    await Promise.all([...this.running.values()].map((r) => r.done));
    await this.watching;
  }

  /** Loads running now, for tests and the log. */
  get active(): Array<{ namespace: string; name: string; hook: string; rps: number; sent: number }> {
    return [...this.running.values()].map((r) => ({ namespace: ns(r.canary), name: r.canary.metadata.name, hook: r.hook, rps: r.rps, sent: r.run.sent }));
  }

  private rateOf(pred: (r: Running) => boolean): number {
    let sum = 0;
    for (const r of this.running.values()) if (pred(r)) sum += r.rps;
    return sum;
  }

  private describe(r: Running): string {
    const target = r.spec.host ? `${r.spec.url} (Host ${r.spec.host})` : r.spec.url;
    const until = r.run.deadline === undefined ? `for ${r.spec.requests} requests` : `until ${new Date(r.run.deadline).toISOString()} unless re-armed`;
    return `${+r.rps.toFixed(3)} rps over ${r.spec.workers} workers, ${r.spec.method} ${target}, ${until}`;
  }

  /** One loop for all loads: stop those whose rollout no longer analyses. */
  private watch(): void {
    if (this.watching) return;
    this.watching = (async () => {
      while (this.running.size > 0 && !this.stopped.signal.aborted) {
        try {
          await this.o.clock.sleep(CHECK_INTERVAL_MS, this.stopped.signal);
        } catch {
          break;
        }
        for (const r of this.running.values()) {
          const why = this.o.stopReason(ns(r.canary), r.canary.metadata.name);
          if (why !== undefined) this.stop(r, why);
        }
      }
      this.watching = undefined;
    })();
  }
}

function formatMs(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
