import type { Command } from 'commander';
import type { Canary, Phase } from '../../api/canary.js';
import type { Clock } from '../../core/clock.js';
import { DurationError, parseDuration } from '../../core/duration.js';
import { errorMessage } from '../../core/errors.js';
import { KubeApiError } from '../../kube/errors.js';
import type { WatchEventType } from '../kube.js';
import { renderWatchFrame, statusView, visibleWidth, watchLine, type EventSummary, type StatusView } from '../render.js';
import { execute, fetchCanary, prepare, processRuntime, type CliIO, type CliRuntime, type CommandContext } from './context.js';
import { CanaryNotFoundError, EXIT, InterruptedError, UsageError, WatchTimeoutError } from './errors.js';
import { rolloutPending } from './requests.js';
import { eventsFor } from './status.js';

export interface WatchOptions {
  /** Give up after this long (a duration such as 30m); exit code 2. */
  timeout?: string;
}

export const DEFAULT_WATCH_TIMEOUT = '30m';
/** Events kept in the live view. */
const FRAME_EVENTS = 8;
/** Stream errors in a row (network, 5xx) before watch gives up. */
const MAX_STREAM_FAILURES = 5;

/** How watch ends: the exit code and a closing line. */
export interface Outcome {
  code: number;
  message: string;
}

/** The exit code a final phase means; undefined while the rollout is still running. */
export function exitCodeForPhase(phase: Phase | undefined): number | undefined {
  switch (phase) {
    case 'Succeeded':
      return EXIT.ok;
    case 'Failed':
    case 'TimedOut':
      return EXIT.rolledBack;
    case 'Invalid':
      return EXIT.invalid;
    default:
      return undefined;
  }
}

/**
 * Whether the rollout has ended, judged so that a stale status cannot end the watch early: a
 * Succeeded/Failed left from the previous revision does not count while the spec names a revision
 * the controller has not started (e.g. watch right after `kubectl apply` or `routeshift retry`),
 * and an Invalid verdict counts only for the generation the controller judged.
 */
export function rolloutOutcome(canary: Canary): Outcome | undefined {
  const s = canary.status ?? {};
  const generation = canary.metadata.generation;
  const seen = (observed: number | undefined): boolean => generation === undefined || observed === undefined || observed >= generation;
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  const why = s.message ?? ready?.message ?? '';
  if (s.phase === 'Invalid' && seen(s.observedGeneration)) {
    return { code: EXIT.invalid, message: `canary is invalid and needs an edit: ${why}` };
  }
  // Invalid while a rollout is under way: the controller holds the weights until the spec is fixed.
  if (ready?.status === 'False' && ready.reason === 'InvalidSpec' && seen(ready.observedGeneration)) {
    return { code: EXIT.invalid, message: `canary spec is invalid (rollout held at canary weight ${s.canaryWeight ?? 0}): ${ready.message}` };
  }
  if (rolloutPending(canary)) return undefined;
  const code = exitCodeForPhase(s.phase);
  if (code === EXIT.ok) return { code, message: `rollout succeeded: ${why}` };
  if (code === EXIT.rolledBack && s.phase === 'TimedOut') return { code, message: `rolled back without evidence of harm (time-out): ${why}` };
  if (code === EXIT.rolledBack) return { code, message: `rollout failed: ${why}` };
  return undefined;
}

/** Lines a frame takes on a terminal `columns` wide (long lines wrap). */
export function rowsOf(frame: string, columns: number | undefined): number {
  const lines = frame.endsWith('\n') ? frame.slice(0, -1).split('\n') : frame.split('\n');
  const width = columns && columns > 0 ? columns : Infinity;
  return lines.reduce((n, line) => n + Math.max(1, Math.ceil(visibleWidth(line) / width)), 0);
}

/**
 * Shows the rollout as it changes: on a terminal a view redrawn in place; elsewhere (CI logs) one
 * line per visible change and one per new Event.
 */
export class WatchPrinter {
  private readonly tty: boolean;
  private view: StatusView | undefined;
  private events: EventSummary[] = [];
  private readonly seen = new Map<string, number>();
  private lastLine = '';
  private frameRows = 0;

  constructor(
    private readonly io: CliIO,
    private readonly clock: Clock,
  ) {
    this.tty = io.out.isTTY === true;
  }

  /** Events that happened before the watch began: shown in the live view, not logged again. */
  seed(events: EventSummary[]): void {
    for (const e of events) this.seen.set(keyOf(e), e.count);
    this.events = [...events];
  }

  canary(canary: Canary): void {
    this.view = statusView(canary);
    if (this.tty) return this.draw();
    const line = watchLine(this.view);
    if (line === this.lastLine) return; // a status write that changed nothing we show
    this.lastLine = line;
    this.io.out.write(`${this.stamp()} ${line}\n`);
  }

  event(e: EventSummary): void {
    const key = keyOf(e);
    const count = this.seen.get(key);
    if (count !== undefined && e.count <= count) return;
    this.seen.set(key, e.count);
    this.events = [...this.events.filter((x) => keyOf(x) !== key), e].slice(-FRAME_EVENTS * 4);
    if (this.tty) return this.draw();
    const repeat = e.count > 1 ? ` (x${e.count})` : '';
    this.io.out.write(`${e.lastTimestamp ?? this.stamp()} event ${e.type} ${e.reason}: ${e.message}${repeat}\n`);
  }

  note(message: string): void {
    this.io.err.write(`warning: ${message}\n`);
    if (this.tty) this.frameRows = 0; // the warning moved the cursor; start a fresh frame below it
  }

  finish(outcome: Outcome): number {
    const text = outcome.code === EXIT.ok ? this.io.style.green(outcome.message) : this.io.style.red(outcome.message);
    this.io.out.write(`${this.tty ? '' : `${this.stamp()} `}${text}\n`);
    return outcome.code;
  }

  private draw(): void {
    if (!this.view) return;
    const frame = renderWatchFrame(this.view, this.events, this.clock.now(), this.io.style, FRAME_EVENTS);
    // Cursor up over the previous frame, then clear to the end of the screen.
    const clear = this.frameRows > 0 ? `\x1b[${this.frameRows}A\r\x1b[J` : '';
    this.io.out.write(clear + frame);
    this.frameRows = rowsOf(frame, this.io.out.columns);
  }

  private stamp(): string {
    return new Date(this.clock.now()).toISOString();
  }
}

function keyOf(e: EventSummary): string {
  return e.name || `${e.reason}|${e.message}|${e.firstTimestamp ?? ''}`;
}

/**
 * Keeps a watch stream open: reopens from the last resourceVersion when the server ends it, relists
 * on 410 Gone, retries network and server errors a few times, and gives up on refusals (401/403/404).
 */
async function follow(
  open: (resourceVersion: string, onActivity: () => void) => Promise<void>,
  resourceVersion: () => string,
  relist: () => Promise<void>,
  clock: Clock,
  signal: AbortSignal,
): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    let active = false;
    try {
      await open(resourceVersion(), () => (active = true));
      if (signal.aborted) return;
      failures = 0;
      if (!active) await clock.sleep(1_000, signal); // a server that ends streams at once must not make us spin
    } catch (err) {
      if (signal.aborted) return;
      const status = err instanceof KubeApiError ? err.status : 0;
      if (status === 410) {
        await relist();
        continue;
      }
      if (status === 401 || status === 403 || status === 404) throw err;
      if (++failures > MAX_STREAM_FAILURES) throw err;
      try {
        await clock.sleep(Math.min(500 * 2 ** (failures - 1), 8_000), signal);
      } catch {
        return;
      }
    }
  }
}

function parseTimeout(value: string): number {
  try {
    return parseDuration(value, '--timeout');
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`--timeout: ${err.message}`);
    throw err;
  }
}

/** `routeshift watch <canary>`: follow the rollout until it ends; the exit code says how. */
export async function watch(ctx: CommandContext, name: string, opts: WatchOptions = {}): Promise<number> {
  const timeout = opts.timeout ?? DEFAULT_WATCH_TIMEOUT;
  const timeoutMs = parseTimeout(timeout);
  const ns = ctx.namespace;
  const local = new AbortController();
  const signal = local.signal;
  const stop = (): void => local.abort();
  ctx.signal.addEventListener('abort', stop, { once: true });
  const printer = new WatchPrinter(ctx.io, ctx.clock);
  try {
    let canary = await fetchCanary(ctx, name);
    let canaryRv = canary.metadata.resourceVersion ?? '';
    let eventsRv = '';
    try {
      const listed = await ctx.events.list(ns, name, ctx.signal);
      eventsRv = listed.resourceVersion;
      printer.seed(eventsFor(canary, listed.items, FRAME_EVENTS));
    } catch (err) {
      printer.note(`cannot read Events (${errorMessage(err)}); showing the Canary only`);
      eventsRv = 'unavailable';
    }
    printer.canary(canary);
    const first = rolloutOutcome(canary);
    if (first) return printer.finish(first);

    return await new Promise<number>((resolve, reject) => {
      let settled = false;
      const settle = (end: () => void): void => {
        if (settled) return;
        settled = true;
        local.abort();
        end();
      };
      const onCanary = (type: WatchEventType, obj: Canary): void => {
        if (settled) return;
        if (obj.metadata?.resourceVersion) canaryRv = obj.metadata.resourceVersion;
        if (type === 'DELETED') return settle(() => reject(new CanaryNotFoundError(name, ns)));
        canary = obj;
        printer.canary(obj);
        const outcome = rolloutOutcome(obj);
        if (outcome) settle(() => resolve(printer.finish(outcome)));
      };

      follow(
        (rv, active) => ctx.watch.canary(ns, name, rv, (type, obj) => (active(), onCanary(type, obj)), signal),
        () => canaryRv,
        async () => {
          const fresh = await fetchCanary({ ...ctx, signal }, name);
          canaryRv = fresh.metadata.resourceVersion ?? '';
          onCanary('MODIFIED', fresh);
        },
        ctx.clock,
        signal,
      ).catch((err: unknown) => settle(() => reject(err)));

      if (eventsRv !== 'unavailable') {
        follow(
          (rv, active) =>
            ctx.watch.events(
              ns,
              name,
              rv,
              (type, e) => {
                active();
                if (settled || type === 'DELETED') return;
                if (!canary.metadata.uid || !e.involvedUid || e.involvedUid === canary.metadata.uid) printer.event(e);
              },
              signal,
            ),
          () => eventsRv,
          async () => {
            const listed = await ctx.events.list(ns, name, signal);
            eventsRv = listed.resourceVersion;
            for (const e of eventsFor(canary, listed.items, FRAME_EVENTS)) printer.event(e);
          },
          ctx.clock,
          signal,
        ).catch((err: unknown) => {
          if (!settled) printer.note(`stopped following Events: ${errorMessage(err)}`);
        });
      }

      ctx.clock.sleep(timeoutMs, signal).then(
        () => {
          const s = canary.status ?? {};
          const at = `phase ${s.phase ?? 'not started'}, canary weight ${s.canaryWeight ?? 0}`;
          settle(() => reject(new WatchTimeoutError(`timed out after ${timeout} waiting for canary "${name}" to finish (${at})`)));
        },
        () => undefined,
      );

      const onInterrupt = (): void => {
        const reason: unknown = ctx.signal.reason;
        settle(() => reject(reason instanceof Error ? reason : new InterruptedError()));
      };
      if (ctx.signal.aborted) onInterrupt();
      else ctx.signal.addEventListener('abort', onInterrupt, { once: true });
    });
  } finally {
    ctx.signal.removeEventListener('abort', stop);
    local.abort();
  }
}

export function register(program: Command, runtime: CliRuntime = processRuntime()): Command {
  const cmd = program
    .command('watch')
    .description(
      'follow a rollout live until it ends; exit 0 promoted, 1 rolled back, 2 timeout or error, 3 invalid canary (see docs/cli.md)',
    )
    .argument('<canary>', 'Canary name')
    .option('--timeout <duration>', 'give up after this long (exit 2)', DEFAULT_WATCH_TIMEOUT);
  prepare(cmd, runtime);
  cmd.action(async (name: string, opts: WatchOptions, self: Command) => {
    await execute(runtime, self, name, (ctx) => watch(ctx, name, opts.timeout ? { timeout: opts.timeout } : {}), undefined);
  });
  return cmd;
}
