import { readFileSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { Command, Option } from 'commander';
import { createLogger } from '../core/logger.js';
import { errorMessage, InvalidSpecError } from '../core/errors.js';
import { fromRoot } from '../core/paths.js';
import { registerOperatorCommands } from './commands/index.js';

const pkg = JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version: string };

/** Ends the process on SIGINT/SIGTERM through an AbortSignal, so every part shuts down in order. */
function shutdownSignal(): AbortSignal {
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
    .addOption(new Option('--log-level <level>').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .action(async (o: { config?: string; kubeconfig?: string; prometheus?: string; metricsPort?: number; namespace?: string[]; leaderElect: boolean; identity?: string; logLevel?: string }) => {
      const { loadConfig } = await import('../controller/config.js');
      const { runController } = await import('../controller/run.js');
      let config;
      try {
        config = loadConfig(o.config);
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
    .command('sandbox')
    .description('start a local API server, mesh, workloads, Prometheus and load (and the controller) on loopback')
    .option('--kubeconfig <file>', 'where to write the kubeconfig', '.routeshift/sandbox/kubeconfig')
    .option('--no-controller', 'do not run the controller in-process')
    .option('--load <rps>', 'requests per second of the built-in load', (v) => Number(v), 20)
    .option('--persist', 'keep API objects in .routeshift/sandbox/state.json across restarts')
    .option('--api-port <port>', 'API server port (default: free)', (v) => Number(v))
    .option('--mesh-port <port>', 'mesh proxy port (default: free)', (v) => Number(v))
    .option('--prometheus-port <port>', 'Prometheus port (default: free)', (v) => Number(v))
    .option('--log-level <level>', 'log level', 'warn')
    .action(async (o: { kubeconfig: string; controller: boolean; load: number; persist?: boolean; apiPort?: number; meshPort?: number; prometheusPort?: number; logLevel: string }) => {
      const { runSandbox } = await import('../sandbox/run.js');
      const signal = shutdownSignal();
      const code = await runSandbox({ ...o, logger: createLogger(o.logLevel as 'warn'), signal });
      process.exit(code);
    });

  program
    .command('demo')
    .description("run the seed's GAMMA walkthrough on the sandbox: a canary promoted, then a broken release rolled back")
    .option('--log-level <level>', 'log level of the sandbox parts', 'error')
    .action(async (o: { logLevel: string }) => {
      const { runDemo } = await import('../sandbox/demo.js');
      const signal = shutdownSignal();
      const code = await runDemo({ logger: createLogger(o.logLevel as 'error'), signal, out: process.stdout });
      process.exit(code);
    });

  program
    .command('validate')
    .description('check Canary and MetricTemplate files offline: schema, steps, templates, PromQL')
    .requiredOption('-f, --file <file...>', 'YAML files (multi-document allowed)')
    .option('--templates <dir...>', 'extra template directories')
    .option('--prometheus <url>', 'also warn when a sequential metric cannot reach a decision before the time-out at the last hour\'s traffic')
    .action(async (o: { file: string[]; templates?: string[]; prometheus?: string }) => {
      const { runValidate } = await import('./validate.js');
      process.exit(await runValidate(o.file, o.templates ?? [], process.stdout, o.prometheus));
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    const program = buildProgram();
    registerOperatorCommands(program);
    await program.parseAsync(argv);
  } catch (err) {
    process.stderr.write(`error: ${errorMessage(err)}\n`);
    process.exit(1);
  }
}

await main(process.argv);
