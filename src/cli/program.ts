import { readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { Command, Option } from 'commander';
import { createLogger } from '../core/logger.js';
import { errorMessage, InvalidSpecError } from '../core/errors.js';
import { fromRoot } from '../core/paths.js';
import { register as registerReplay } from './commands/replay.js';

const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string };

/** Ends the process on SIGINT/SIGTERM through an AbortSignal, so every part shuts down in order. */
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
    .option('--allow-outbound <list>', 'hosts, addresses or CIDRs (comma-separated) webhooks and alerts may reach despite the deny list; adds to outbound.allow')
    .addOption(new Option('--log-level <level>').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .action(async (o: { config?: string; kubeconfig?: string; prometheus?: string; metricsPort?: number; namespace?: string[]; leaderElect: boolean; identity?: string; logLevel?: string; allowOutbound?: string }) => {
      const { loadConfig, splitList } = await import('../controller/config.js');
      const { runController } = await import('../controller/run.js');
      let config;
      try {
        config = loadConfig(o.config, process.env, {}, o.allowOutbound ? splitList(o.allowOutbound) : []);
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
    .command('validate')
    .description('check Canary and MetricTemplate files offline: schema, steps, templates, PromQL')
    .requiredOption('-f, --file <file...>', 'YAML files (multi-document allowed)')
    .option('--templates <dir...>', 'extra template directories')
    .action(async (o: { file: string[]; templates?: string[] }) => {
      const { runValidate } = await import('./validate.js');
      process.exit(await runValidate(o.file, o.templates ?? [], process.stdout));
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
