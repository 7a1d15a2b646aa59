import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { freeLoopbackPort } from '../core/net.js';
import { fromRoot } from '../core/paths.js';
import { parse as parseYaml } from 'yaml';

/**
 * NODE_OPTIONS as deploy/base/deployment.yaml gives the controller container (its V8 heap limit), so
 * the benchmark measures the memory of what is deployed. Undefined when the manifest sets none.
 */
export function deployedNodeOptions(manifest = fromRoot('deploy/base/deployment.yaml')): string | undefined {
  const doc = parseYaml(readFileSync(manifest, 'utf8')) as {
    spec?: { template?: { spec?: { containers?: Array<{ name?: string; env?: Array<{ name?: string; value?: string }> }> } } };
  };
  const containers = doc.spec?.template?.spec?.containers ?? [];
  const controller = containers.find((c) => c.name === 'controller') ?? containers[0];
  return controller?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
}

/**
 * `routeshift controller` as a child process, so its resident memory and CPU time can be read from
 * /proc without the harness (API server, Prometheus target) mixed in.
 */

export interface ControllerChildOptions {
  kubeconfigPath: string;
  prometheusUrl: string;
  workDir: string;
  namespace: string;
  concurrency?: number;
  logLevel?: string;
  /** prometheus.batchWindow (query batching), e.g. "50ms"; unset: off. */
  batchWindow?: string;
  /** Extra top-level config fields (merged into the YAML). */
  config?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  /** Node flags before the script (e.g. --cpu-prof, which NODE_OPTIONS does not take). */
  nodeArgs?: string[];
  /** Arguments after `controller` in place of `--no-leader-elect` (e.g. sharding: `--shards 32 --identity a`). */
  leaderArgs?: string[];
}

export interface ControllerChild {
  child: ChildProcess;
  pid: number;
  metricsPort: number;
  logFile: string;
  startedAt: number;
  /** GET on the health/metrics port; undefined when it does not answer. */
  get(path: string, timeoutMs?: number): Promise<{ status: number; body: string } | undefined>;
  stop(): Promise<void>;
}

function nodeOptionsEnv(): NodeJS.ProcessEnv {
  const deployed = deployedNodeOptions();
  return deployed ? { NODE_OPTIONS: [process.env.NODE_OPTIONS, deployed].filter(Boolean).join(' ') } : {};
}

export async function startControllerChild(o: ControllerChildOptions): Promise<ControllerChild> {
  const metricsPort = await freeLoopbackPort();
  // Replicas of one run each get their own file (their metrics ports differ).
  const suffix = o.leaderArgs ? `-${metricsPort}` : '';
  const configFile = join(o.workDir, `controller${suffix}.yaml`);
  // JSON is YAML.
  writeFileSync(
    configFile,
    JSON.stringify({
      prometheus: { address: o.prometheusUrl, timeout: '5s', retries: 2, ...(o.batchWindow ? { batchWindow: o.batchWindow } : {}) },
      watch: { namespaces: [o.namespace] },
      leaderElection: { enabled: o.leaderArgs !== undefined },
      server: { host: '127.0.0.1', port: metricsPort },
      logLevel: o.logLevel ?? 'info',
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.config ?? {}),
    }),
  );
  const logFile = join(o.workDir, `controller${suffix}.log`);
  const fd = openSync(logFile, 'a');
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), fromRoot('dist/cli/main.js'), 'controller', '--config', configFile, '--kubeconfig', o.kubeconfigPath, ...(o.leaderArgs ?? ['--no-leader-elect'])], {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...nodeOptionsEnv(), ...(o.env ?? {}) },
  });
  closeSync(fd);
  const get = (path: string, timeoutMs = 10_000): Promise<{ status: number; body: string } | undefined> =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: metricsPort, path, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve(undefined));
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(undefined));
    });
  return {
    child,
    pid: child.pid as number,
    metricsPort,
    logFile,
    startedAt,
    get,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Polls /readyz until 200; returns when it answered, or undefined on timeout or exit. */
export async function waitReady(c: ControllerChild, timeoutMs: number): Promise<number | undefined> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (c.child.exitCode !== null || c.child.signalCode !== null) return undefined;
    const r = await c.get('/readyz', 1000);
    if (r?.status === 200) return Date.now();
    await new Promise((res) => setTimeout(res, 50));
  }
  return undefined;
}
