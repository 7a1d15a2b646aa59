import type { Command } from 'commander';
import type { Canary } from '../../api/canary.js';
import { systemClock, type Clock } from '../../core/clock.js';
import type { CanaryStore } from '../../controller/canary-store.js';
import { kubeCanaryStore } from '../../controller/canary-store.js';
import { isNotFound } from '../../kube/errors.js';
import { kubeEventReader, kubeWatchSource, resolveKube, type EventReader, type KubeFlags, type WatchSource } from '../kube.js';
import { makeStyle, useColor, type Style } from '../render.js';
import { ApiUnreachableError, CanaryNotFoundError, EXIT, InterruptedError, toCliError, type ErrorTarget } from './errors.js';

/** Where a command writes: process.stdout/stderr in production, a buffer in tests. */
export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIO {
  out: Output;
  err: Output;
  /** Colour for `out`: only on a terminal and without NO_COLOR. */
  style: Style;
}

/** The Canary calls the CLI makes (the controller's store; a fake in tests). */
export type CanaryClient = Pick<CanaryStore, 'get' | 'list' | 'patch'>;

/** What a command runs against once the cluster is resolved. */
export interface CommandContext {
  namespace: string;
  store: CanaryClient;
  events: EventReader;
  watch: WatchSource;
  clock: Clock;
  io: CliIO;
  signal: AbortSignal;
}

/** Resolved cluster plus its clients. */
export interface Connection {
  namespace: string;
  server: string;
  store: CanaryClient;
  events: EventReader;
  watch: WatchSource;
}

/**
 * Everything `register` needs from the process, injected so commander wiring is tested without a
 * cluster and without touching process.exitCode.
 */
export interface CliRuntime {
  io: CliIO;
  clock: Clock;
  connect(flags: KubeFlags): Connection;
  /** Records the exit code (process.exitCode in production; main.ts exits with it). */
  exit(code: number): void;
  /** Aborts on Ctrl-C (SIGINT) for the life of one command; call the returned function to stop listening. */
  interrupts(controller: AbortController): () => void;
  /**
   * Ends the process now, for commander's own exits (help, unknown option, bad choice, missing
   * argument), which cannot return. Tests throw instead.
   */
  exitNow(code: number, err: Error): never;
}

export function processRuntime(): CliRuntime {
  return {
    io: { out: process.stdout, err: process.stderr, style: makeStyle(useColor(process.stdout, process.env)) },
    clock: systemClock,
    connect(flags) {
      const target = resolveKube(flags);
      const kc = target.kubeConfig;
      return { namespace: target.namespace, server: target.server, store: kubeCanaryStore(kc), events: kubeEventReader(kc), watch: kubeWatchSource(kc) };
    },
    exit(code) {
      process.exitCode = code;
    },
    interrupts(controller) {
      const onSigint = (): void => controller.abort(new InterruptedError());
      process.once('SIGINT', onSigint);
      return () => process.off('SIGINT', onSigint);
    },
    exitNow(code) {
      process.exit(code);
    },
  };
}

/**
 * Kube flags, plus exit codes for commander's own errors: a mistyped flag must not exit 1, which
 * `watch` uses for "rolled back" (a CI job would read a typo as a failed release). Usage errors exit
 * 2 like every other usage error here; --help still exits 0.
 */
export function prepare(cmd: Command, runtime: CliRuntime): Command {
  addKubeOptions(cmd);
  return cmd.exitOverride((err) => runtime.exitNow(err.exitCode === 0 ? EXIT.ok : EXIT.error, err));
}

/** -n/--namespace, --context, --kubeconfig on a subcommand (they also work when main.ts puts them on the program). */
export function addKubeOptions(cmd: Command): Command {
  return cmd
    .option('-n, --namespace <namespace>', "namespace (default: the context's namespace, else \"default\")")
    .option('--context <context>', 'kubeconfig context to use (default: the current context)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config, else in-cluster)');
}

export function kubeFlagsOf(cmd: Command): KubeFlags {
  const o = cmd.optsWithGlobals<{ namespace?: string; context?: string; kubeconfig?: string }>();
  return {
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(o.context ? { context: o.context } : {}),
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
  };
}

/** Runs a command body and turns whatever it throws into `error: ...` on stderr and an exit code. */
export async function runCommand(io: CliIO, target: ErrorTarget, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    const e = toCliError(err, target);
    io.err.write(`error: ${e.message}\n`);
    return e.exitCode;
  }
}

/** One-shot commands give up on a silent API server after this long. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The shared body of every subcommand's action: resolve the cluster from the flags, build the
 * context, run, report errors, record the exit code. `timeoutMs` bounds one-shot commands; watch
 * brings its own timeout.
 */
export async function execute(
  runtime: CliRuntime,
  cmd: Command,
  name: string | undefined,
  body: (ctx: CommandContext) => Promise<number>,
  timeoutMs: number | undefined = REQUEST_TIMEOUT_MS,
): Promise<number> {
  const flags = kubeFlagsOf(cmd);
  const interrupt = new AbortController();
  const stopListening = runtime.interrupts(interrupt);
  const signal = timeoutMs === undefined ? interrupt.signal : AbortSignal.any([interrupt.signal, AbortSignal.timeout(timeoutMs)]);
  // Filled in once the kubeconfig is resolved; runCommand reads it when wording an error.
  const target: ErrorTarget = { namespace: flags.namespace ?? 'default', ...(name ? { name } : {}) };
  const code = await runCommand(runtime.io, target, async () => {
    const conn = runtime.connect(flags);
    Object.assign(target, { namespace: conn.namespace, server: conn.server });
    try {
      return await body({ namespace: conn.namespace, store: conn.store, events: conn.events, watch: conn.watch, clock: runtime.clock, io: runtime.io, signal });
    } catch (err) {
      // An abort surfaces as whatever the HTTP layer made of it; say what actually happened.
      if (interrupt.signal.reason instanceof InterruptedError) throw interrupt.signal.reason;
      if (signal.aborted && timeoutMs !== undefined) {
        throw new ApiUnreachableError(`no answer from the Kubernetes API at ${conn.server} within ${timeoutMs / 1000}s`, err);
      }
      throw err;
    }
  }).finally(() => {
    stopListening();
  });
  runtime.exit(code);
  return code;
}

/** GET that reports a missing Canary as `canary "x" not found in namespace "y"`. */
export async function fetchCanary(ctx: CommandContext, name: string): Promise<Canary> {
  try {
    return await ctx.store.get(ctx.namespace, name, ctx.signal);
  } catch (err) {
    if (isNotFound(err)) throw new CanaryNotFoundError(name, ctx.namespace, err);
    throw err;
  }
}

export { EXIT };
