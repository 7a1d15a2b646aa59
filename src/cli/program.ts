import { readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { Command, Option } from 'commander';
import { createLogger } from '../core/logger.js';
import { errorMessage, InvalidSpecError } from '../core/errors.js';
import { fromRoot } from '../core/paths.js';
import { register as registerReplay } from './commands/replay.js';

const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string };

/** Ends the process on SIGINT/SIGTERM through an AbortSignal, so every part shuts down in order. */
/** `routeshift dashboard`'s default port. */
const DASHBOARD_PORT = 8642;

export function shutdownSignal(): AbortSignal {
  const ac = new AbortController();
  // Shared by every request and sleep of every part of the process, by design.
  setMaxListeners(0, ac.signal);
  const stop = (): void => {
    if (ac.signal.aborted) process.exit(130); // second signal: give up waiting
    ac.abort();
  };
  // One listener per signal: a second listener would run `stop` twice on the first signal and exit at once.
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return ac.signal;
}

export function buildProgram(): Command {
  const program = new Command('routeshift')
    .description('Progressive delivery for Gateway API meshes: shifts HTTPRoute weights from Prometheus analysis')
    .version(pkg.version)
    .showHelpAfterError();

  program
    .command('controller')
    .description('run the controller (in-cluster, or against --kubeconfig)')
    .option('--config <file>', 'controller configuration (YAML)')
    .option('--kubeconfig <file>', 'kubeconfig to use instead of the in-cluster service account')
    .option('--prometheus <url>', 'Prometheus address (overrides the config file)')
    .option('--metrics-port <port>', 'port for /metrics, /healthz, /readyz', (v) => Number(v))
    .option('--namespace <ns...>', 'watch only these namespaces')
    .option('--no-leader-elect', 'act without a Lease (single replica)')
    .option('--identity <id>', 'leader-election identity (default: hostname-pid)')
    .option('--shards <n>', 'hash canaries over n shard Leases spread over the replicas (0: one leader; overrides sharding.shards)', (v) => Number(v))
    .option('--allow-outbound <list>', 'hosts, addresses or CIDRs (comma-separated) webhooks and alerts may reach despite the deny list; adds to outbound.allow')
    .option('--load-max-rps <rps>', 'requests per second the native load source may send in all (load.maxRps, default 200)', (v) => Number(v))
    .option('--load-max-rps-per-canary <rps>', 'requests per second the load hooks of one Canary may send together (load.maxRpsPerCanary, default 50)', (v) => Number(v))
    .option('--event-advance-window <duration>', 'one WeightAdvanced Event covers the steps a faster canary takes within it (events.advanceWindow, default 60s; 0s: one Event per step)')
    .addOption(new Option('--log-level <level>').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .action(async (o: { config?: string; kubeconfig?: string; prometheus?: string; metricsPort?: number; namespace?: string[]; leaderElect: boolean; identity?: string; shards?: number; logLevel?: string; allowOutbound?: string; loadMaxRps?: number; loadMaxRpsPerCanary?: number; eventAdvanceWindow?: string }) => {
      const { advanceWindowMs, loadConfig, loadProblems, splitList } = await import('../controller/config.js');
      const { runController } = await import('../controller/run.js');
      let config;
      try {
        const flags = o.shards !== undefined ? { ROUTESHIFT_SHARDS: String(o.shards) } : {};
        config = loadConfig(o.config, { ...process.env, ...flags }, {}, o.allowOutbound ? splitList(o.allowOutbound) : []);
        if (o.loadMaxRps !== undefined || o.loadMaxRpsPerCanary !== undefined) {
          config.load = { maxRps: o.loadMaxRps ?? config.load.maxRps, maxRpsPerCanary: o.loadMaxRpsPerCanary ?? config.load.maxRpsPerCanary };
          const problems = loadProblems(config.load);
          if (problems.length) throw new InvalidSpecError(problems);
        }
        if (o.eventAdvanceWindow !== undefined) config.events = { advanceWindow: checkedWindow(o.eventAdvanceWindow, advanceWindowMs) };
      } catch (err) {
        if (err instanceof InvalidSpecError) {
          process.stderr.write(`error: invalid controller configuration:\n${err.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}\n`);
          process.exit(2);
        }
        throw err;
      }
      if (o.prometheus) config.prometheus.address = o.prometheus;
      if (o.metricsPort !== undefined) config.server.port = o.metricsPort;
      if (o.namespace) config.watch.namespaces = o.namespace;
      if (!o.leaderElect) config.leaderElection.enabled = false;
      if (o.logLevel) config.logLevel = o.logLevel as typeof config.logLevel;
      const logger = createLogger(config.logLevel);
      const signal = shutdownSignal();
      await runController({ config, logger, signal, ...(o.kubeconfig ? { kubeconfigPath: o.kubeconfig } : {}), ...(o.identity ? { identity: o.identity } : {}) });
      process.exit(0);
    });

  program
    .command('dashboard')
    .description('a local, read-only web view of the Canaries: weights, metrics against thresholds, decisions, Events, hooks')
    .option('--kubeconfig <file>', 'kubeconfig (default: KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--prometheus <url>', "Prometheus that scrapes routeshift's /metrics (for history from before the dashboard started)")
    .option('--port <port>', 'port to listen on (0: a free one)', (v) => Number(v), DASHBOARD_PORT)
    .option('--address <address>', 'address to listen on', '127.0.0.1')
    .option('--allow-remote', 'allow an --address other than loopback (the page has no login)')
    .option('--log-level <level>', 'log level', 'warn')
    .action(async (o: { kubeconfig?: string; context?: string; prometheus?: string; port: number; address: string; allowRemote?: boolean; logLevel: string }) => {
      const { resolveKube } = await import('./kube.js');
      const { startDashboard } = await import('../dashboard/index.js');
      const { checkBindAddress } = await import('../dashboard/server.js');
      const signal = shutdownSignal();
      try {
        checkBindAddress(o.address, o.allowRemote ?? false);
        const target = resolveKube({ ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}), ...(o.context ? { context: o.context } : {}) });
        const dash = await startDashboard({
          kubeConfig: target.kubeConfig,
          ...(o.prometheus ? { prometheusUrl: o.prometheus } : {}),
          host: o.address,
          port: o.port,
          allowRemote: o.allowRemote ?? false,
          logger: createLogger(o.logLevel as 'warn', process.stderr),
          signal,
        });
        process.stdout.write(`dashboard ${dash.url} (read-only; API server ${target.server}${o.prometheus ? `, Prometheus ${o.prometheus}` : ''}; Ctrl-C to stop)\n`);
        await dash.done;
        process.exit(0);
      } catch (err) {
        process.stderr.write(`error: ${errorMessage(err)}\n`);
        process.exit(2);
      }
    });

  program
    .command('validate')
    .description('check Canary and MetricTemplate files offline: schema, steps, templates, PromQL')
    .requiredOption('-f, --file <file...>', 'YAML files (multi-document allowed)')
    .option('--templates <dir...>', 'extra template directories')
    .option('--prometheus <url>', "also warn when a sequential metric cannot reach a decision before the time-out at the last hour's traffic")
    .action(async (o: { file: string[]; templates?: string[]; prometheus?: string }) => {
      const { runValidate } = await import('./validate.js');
      process.exit(await runValidate(o.file, o.templates ?? [], process.stdout, o.prometheus));
    });

  registerReplay(program, () => ({ out: process.stdout, err: process.stderr, signal: shutdownSignal(), now: Date.now() }));

  return program;
}

/** Parses and runs; any error not handled by a command is one `error:` line and exit code 1. */
export async function runProgram(program: Command, argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    process.exit(1);
  }
}

/** The --event-advance-window value, checked as events.advanceWindow is (an InvalidSpecError naming the flag). */
function checkedWindow(value: string, parse: (v: string) => number): string {
  try {
    parse(value);
    return value;
  } catch (err) {
    throw new InvalidSpecError([{ path: '--event-advance-window', message: (err as Error).message }]);
  }
}
