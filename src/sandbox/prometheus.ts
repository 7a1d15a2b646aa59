import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import axios from 'axios';
import { AbortedError, RouteshiftError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { freeLoopbackPort } from '../core/net.js';

/**
 * Runs Debian's real Prometheus as a child process (no systemd), for tests, the sandbox and CI.
 * Every instance gets its own config file and TSDB under a temp dir and listens on loopback only:
 * the Debian package would otherwise default to 0.0.0.0:9090 and /var/lib/prometheus.
 */

export interface ScrapeTarget {
  job: string;
  /** host:port */
  address: string;
  metricsPath?: string;
}

export interface PrometheusOptions {
  /** 0 (default) = a free loopback port. */
  port?: number;
  /** Default 1000. Target discovery still applies on Prometheus' fixed ~5 s cycle. */
  scrapeIntervalMs?: number;
  targets?: ScrapeTarget[];
  /** TSDB directory; default a temp dir removed on stop. A given dir is left in place. */
  dataDir?: string;
  binary?: string;
  logger?: Logger;
  /** How long to wait for /-/ready. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** Rewrites the scrape config and hot-reloads it (POST /-/reload). */
  setTargets(targets: ScrapeTarget[]): Promise<void>;
  /** Resolves once `up == 1` for `job`. Default timeout 30 s. */
  waitForTarget(job: string, signal?: AbortSignal, timeoutMs?: number): Promise<void>;
}

export class PrometheusMissingError extends RouteshiftError {
  constructor(searched: string[]) {
    super(
      'PrometheusMissing',
      `Prometheus binary not found (looked in ${searched.join(', ')}). Install the Debian package \`prometheus\`: ` +
        '`apt-get install -y --no-install-recommends prometheus`, or set ROUTESHIFT_PROMETHEUS_BINARY.',
    );
  }
}

export class PrometheusStartError extends RouteshiftError {
  constructor(message: string, cause?: unknown) {
    super('PrometheusStartFailed', message, cause === undefined ? undefined : { cause });
  }
}

const ENV_BINARY = 'ROUTESHIFT_PROMETHEUS_BINARY';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function candidatePaths(): string[] {
  const fromEnv = process.env[ENV_BINARY];
  const fromPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'prometheus'));
  return [...(fromEnv ? [fromEnv] : []), ...fromPath, '/usr/bin/prometheus', '/usr/local/bin/prometheus'];
}

/** $ROUTESHIFT_PROMETHEUS_BINARY, then `prometheus` on PATH, then the Debian location. */
export function findPrometheusBinary(): string | undefined {
  return candidatePaths().find(isExecutable);
}


function promDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.max(1, Math.round(ms))}ms`;
}

/** The scrape config as YAML; JSON is valid YAML, and it spares us quoting rules. */
export function renderPrometheusConfig(scrapeIntervalMs: number, targets: ScrapeTarget[]): string {
  // scrape_timeout defaults to 10s and must not exceed the interval, so tie it to the interval.
  const interval = promDuration(scrapeIntervalMs);
  const timeout = promDuration(Math.min(scrapeIntervalMs, 10_000));
  const config = {
    global: { scrape_interval: interval, scrape_timeout: timeout, evaluation_interval: interval },
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      metrics_path: t.metricsPath ?? '/metrics',
      static_configs: [{ targets: [t.address] }],
    })),
  };
  return JSON.stringify(config, null, 2) + '\n';
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError('wait'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new AbortedError('wait'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Live children, so one process-exit hook can kill them all if the parent ends without stop(). */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;
function killAll(): void {
  for (const [c, dir] of live) {
    c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
function trackChild(child: ChildProcess, workDir: string): void {
  live.set(child, workDir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  // A signal ends Node without 'exit'. Kill the children, then, if nobody else handles the signal,
  // re-raise it so the default action (terminate) still happens. A SIGKILLed parent cannot be helped.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.once(sig, onSignal);
  }
}

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = opts.binary ?? findPrometheusBinary();
  if (!binary || !isExecutable(binary)) throw new PrometheusMissingError(opts.binary ? [opts.binary] : candidatePaths());
  const scrapeIntervalMs = opts.scrapeIntervalMs ?? 1000;
  const log = opts.logger;
  const workDir = mkdtempSync(join(tmpdir(), 'routeshift-prometheus-'));
  const dataDir = opts.dataDir ?? join(workDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const configFile = join(workDir, 'prometheus.yml');
  let targets = opts.targets ?? [];
  writeFileSync(configFile, renderPrometheusConfig(scrapeIntervalMs, targets));

  // A port picked by binding :0 can be taken before Prometheus binds it: retry a few times.
  const attempts = opts.port ? 1 : 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = opts.port || (await freeLoopbackPort());
    try {
      const started = await launch(binary, port, workDir, configFile, dataDir, log, opts.readyTimeoutMs ?? 30_000);
      return makeServer(started, port);
    } catch (err) {
      lastError = err;
      log?.warn({ err, port, attempt }, 'prometheus did not start');
    }
  }
  rmSync(workDir, { recursive: true, force: true });
  throw lastError instanceof RouteshiftError ? lastError : new PrometheusStartError('Prometheus did not start', lastError);

  function makeServer(child: ChildProcess, port: number): PrometheusServer {
    const url = `http://127.0.0.1:${port}`;
    let stopped: Promise<void> | undefined;
    return {
      url,
      pid: child.pid as number,
      stop() {
        stopped ??= (async () => {
          await terminate(child);
          live.delete(child);
          rmSync(workDir, { recursive: true, force: true });
        })();
        return stopped;
      },
      async setTargets(next) {
        targets = next;
        writeFileSync(configFile, renderPrometheusConfig(scrapeIntervalMs, targets));
        const res = await axios.post(`${url}/-/reload`, undefined, { validateStatus: () => true, timeout: 10_000 });
        if (res.status !== 200) throw new PrometheusStartError(`reload failed: HTTP ${res.status} ${String(res.data).trim()}`);
      },
      async waitForTarget(job, signal, timeoutMs = 30_000) {
        const deadline = Date.now() + timeoutMs;
        const query = `up{job="${job.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"}`;
        for (;;) {
          if (signal?.aborted) throw new AbortedError(`waiting for target ${job}`);
          try {
            const res = await axios.get(`${url}/api/v1/query`, { params: { query }, timeout: 5000, signal });
            const result = res.data?.data?.result as Array<{ value: [number, string] }> | undefined;
            if (result?.some((s) => s.value[1] === '1')) return;
          } catch (err) {
            if (signal?.aborted) throw new AbortedError(`waiting for target ${job}`);
            log?.debug({ err }, 'prometheus query while waiting for target failed');
          }
          if (Date.now() > deadline) {
            throw new PrometheusStartError(`target ${job} not up after ${timeoutMs} ms (targets: ${JSON.stringify(targets)})`);
          }
          await sleep(200, signal);
        }
      },
    };
  }
}

async function launch(
  binary: string,
  port: number,
  workDir: string,
  configFile: string,
  dataDir: string,
  log: Logger | undefined,
  readyTimeoutMs: number,
): Promise<ChildProcess> {
  const args = [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-lifecycle',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child, workDir);
  const tail: string[] = [];
  const onOutput = (chunk: Buffer): void => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      log?.debug({ prometheus: line }, 'prometheus');
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  let exited: string | undefined;
  child.once('exit', (code, sig) => {
    exited = `exited with ${sig ?? `code ${code}`}`;
    live.delete(child);
  });
  child.once('error', (err) => {
    exited = `could not be spawned: ${err.message}`;
  });

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (exited) {
      throw new PrometheusStartError(`Prometheus ${exited} on port ${port}: ${tail.slice(-5).join(' | ')}`);
    }
    try {
      const res = await axios.get(`http://127.0.0.1:${port}/-/ready`, { timeout: 2000, validateStatus: () => true });
      if (res.status === 200) {
        log?.debug({ port, pid: child.pid }, 'prometheus ready');
        return child;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await terminate(child);
      throw new PrometheusStartError(`Prometheus not ready after ${readyTimeoutMs} ms: ${tail.slice(-5).join(' | ')}`);
    }
    await sleep(50);
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await done;
  clearTimeout(timer);
}
