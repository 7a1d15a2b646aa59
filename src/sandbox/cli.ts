// The developer CLI: everything `routeshift` does (src/cli/program.ts) plus the tools that run a local
// cluster on loopback. Not in the controller image; `npm run sandbox` / `npm run demo` and bin/routeshift.js
// run it.
import type { Command } from 'commander';
import { registerOperatorCommands } from '../cli/commands/index.js';
import { buildProgram, runProgram, shutdownSignal } from '../cli/program.js';
import { createLogger } from '../core/logger.js';

function registerToolCommands(program: Command): void {
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
    .option('--kubernetes <kind>', "'embedded' (the sandbox's own API server) or 'real' (kube-apiserver, etcd, kube-controller-manager from scripts/controlplane/build.sh)", 'embedded')
    .option('--log-level <level>', 'log level', 'warn')
    .action(async (o: { kubeconfig: string; controller: boolean; load: number; persist?: boolean; apiPort?: number; meshPort?: number; prometheusPort?: number; kubernetes: string; logLevel: string }) => {
      if (o.kubernetes !== 'embedded' && o.kubernetes !== 'real') {
        process.stderr.write(`error: --kubernetes must be embedded or real, not ${JSON.stringify(o.kubernetes)}\n`);
        process.exit(2);
      }
      const { runSandbox } = await import('./run.js');
      const signal = shutdownSignal();
      const code = await runSandbox({ ...o, kubernetes: o.kubernetes, logger: createLogger(o.logLevel as 'warn'), signal });
      process.exit(code);
    });

  program
    .command('demo')
    .description("run the seed's GAMMA walkthrough on the sandbox: a canary promoted, then a broken release rolled back")
    .option('--log-level <level>', 'log level of the sandbox parts', 'error')
    .action(async (o: { logLevel: string }) => {
      const { runDemo } = await import('./demo.js');
      const signal = shutdownSignal();
      const code = await runDemo({ logger: createLogger(o.logLevel as 'error'), signal, out: process.stdout });
      process.exit(code);
    });

}

const program = buildProgram();
registerOperatorCommands(program);
registerToolCommands(program);
await runProgram(program, process.argv);
