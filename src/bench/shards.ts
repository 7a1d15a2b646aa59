/**
 * `node dist/bench/shards.js`: N canaries shared by R replicas through shard Leases (sharding.shards),
 * each replica a child process. Reports per replica the shards and canaries it holds and the ticks it
 * runs per second, on the sandbox's stand-in API server and/or the real kube-apiserver.
 *
 *   node dist/bench/shards.js                                       # 300 canaries, 1 then 3 replicas, 32 shards, both API servers
 *   node dist/bench/shards.js --count 1000 --replicas 1,4 --kubernetes real --duration 60s --no-write
 *
 * Results go between the bench:shards markers of docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
import { silentLogger } from '../core/logger.js';
import { startApiServer, type ApiServer } from '../sandbox/apiserver/index.js';
import { startRealApi, type RealApi } from '../sandbox/controlplane/real-api.js';
import { startPrometheus, type PrometheusServer } from '../sandbox/prometheus.js';
import { sandboxCrdFiles, type SandboxKubernetes } from '../sandbox/sandbox.js';
import { startControllerChild, waitReady, type ControllerChild } from './controller-process.js';
import { writeSection } from './doc-section.js';
import { startIstioTarget, type IstioTarget } from './istio-target.js';
import { forEachLimit, KubeHttp } from './kube-http.js';
import { loadAverage, machineDescription, sampleProc } from './proc.js';
import { histogramDelta, histogramOf, histogramQuantile, parseExposition, sumOf, type TextSample } from './prom-text.js';
import { startRouteStatusStub, type RouteStatusStub } from './route-status.js';
import { benchCanary, benchRoute, BENCH_NS } from './scale-run.js';

export const SHARDS_START = '<!-- bench:shards:start -->';
export const SHARDS_END = '<!-- bench:shards:end -->';
const LEASE_NS = 'routeshift-system';
const TOKEN = 'sandbox-controller';

export interface ShardBenchArgs {
  count: number;
  /** Each API server runs once per replica count. */
  replicas: number[];
  shards: number;
  durationMs: number;
  intervalSec: number;
  kubernetes: SandboxKubernetes[];
  write: boolean;
  out: string;
}

export interface ReplicaRow {
  id: string;
  shards: number;
  canaries: number;
  ticksPerSec: number;
  lateP99: number | undefined;
  /** The p99 is past the histogram's last finite bucket (10 s). */
  lateOpen: boolean;
  cpuCores: number;
  rssMiB: number;
}

export interface ShardBenchResult {
  kubernetes: SandboxKubernetes;
  count: number;
  replicas: number;
  shards: number;
  loadAverage: string;
  /** First replica spawned -> every canary at its first step. */
  allStartedMs: number | undefined;
  windowSec: number;
  rows: ReplicaRow[];
}

export function parseShardArgs(argv: string[]): ShardBenchArgs {
  const a: ShardBenchArgs = { count: 300, replicas: [1, 3], shards: 32, durationMs: 60_000, intervalSec: 10, kubernetes: ['embedded', 'real'], write: true, out: 'docs/benchmarks.md' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const need = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--count') a.count = Number(need());
    else if (flag === '--replicas') a.replicas = need().split(',').map(Number);
    else if (flag === '--shards') a.shards = Number(need());
    else if (flag === '--duration') a.durationMs = parseDuration(need(), '--duration');
    else if (flag === '--interval') a.intervalSec = parseDuration(need(), '--interval') / 1000;
    else if (flag === '--kubernetes') a.kubernetes = need().split(',').map((x) => x.trim()) as SandboxKubernetes[];
    else if (flag === '--out') a.out = need();
    else if (flag === '--no-write') a.write = false;
    else throw new Error(`unknown flag ${flag}`);
  }
  for (const n of [a.count, ...a.replicas, a.shards]) if (!Number.isInteger(n) || n < 1) throw new Error('--count, --replicas and --shards need positive whole numbers');
  return a;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function scrape(c: ControllerChild): Promise<TextSample[]> {
  const r = await c.get('/metrics', 30_000);
  return r?.status === 200 ? parseExposition(r.body) : [];
}

/** One run: a fresh API server, Prometheus and target, `replicas` controllers sharing `count` canaries. */
export async function runShardPoint(a: ShardBenchArgs, kubernetes: SandboxKubernetes, replicaCount: number, log: (s: string) => void): Promise<ShardBenchResult> {
  const workDir = mkdtempSync(join(tmpdir(), 'routeshift-bench-shards-'));
  let api: ApiServer | RealApi | undefined;
  let target: IstioTarget | undefined;
  let prom: PrometheusServer | undefined;
  let stub: RouteStatusStub | undefined;
  let client: KubeHttp | undefined;
  const replicas: Array<{ id: string; c: ControllerChild }> = [];
  try {
    const la = loadAverage();
    const kubeconfigPath = join(workDir, 'kubeconfig');
    if (kubernetes === 'real') {
      const real = await startRealApi({ dir: workDir, logger: silentLogger(), crdFiles: sandboxCrdFiles() });
      api = real;
      await real.writeControllerKubeconfig(kubeconfigPath, TOKEN.replace(/^sandbox-/, ''));
    } else {
      api = await startApiServer({ crdFiles: sandboxCrdFiles(), logger: silentLogger(), historyLimit: Math.max(1000, a.count * 4) });
      await api.writeKubeconfig(kubeconfigPath, { user: 'routeshift-controller', token: TOKEN });
    }
    client = new KubeHttp(api.url);
    for (const name of [BENCH_NS, LEASE_NS]) {
      const res = await client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      if (res.status >= 300 && res.status !== 409) throw new Error(`create namespace ${name}: HTTP ${res.status}`);
    }
    target = await startIstioTarget({ namespace: BENCH_NS, services: Array.from({ length: a.count }, (_, i) => `svc-${i}-canary`) });
    prom = await startPrometheus({ scrapeIntervalMs: 5000, targets: [{ job: 'mesh', address: target.address }], logger: silentLogger() });
    await prom.waitForTarget('mesh', undefined, 60_000);
    stub = startRouteStatusStub(client, BENCH_NS);
    const ids = Array.from({ length: a.count }, (_, i) => i);
    const c = client;
    await forEachLimit(ids, 16, (i) => c.ok('POST', `/apis/gateway.networking.k8s.io/v1/namespaces/${BENCH_NS}/httproutes`, benchRoute(i)));
    await stub.ready(a.count);
    await forEachLimit(ids, 16, (i) => c.ok('POST', `/apis/routeshift.io/v1alpha1/namespaces/${BENCH_NS}/canaries`, benchCanary(i, a.intervalSec)));
    log(`  ${kubernetes}: ${a.count} routes and canaries created`);

    const t0 = Date.now();
    for (let r = 0; r < replicaCount; r++) {
      const id = String.fromCharCode(97 + r);
      const child = await startControllerChild({
        kubeconfigPath,
        prometheusUrl: prom.url,
        workDir,
        namespace: BENCH_NS,
        config: { leaderElection: { enabled: true, namespace: LEASE_NS, name: 'routeshift-leader', leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s' }, sharding: { shards: a.shards } },
        leaderArgs: ['--identity', id, '--shards', String(a.shards)],
        env: { HOSTNAME: `replica-${id}`, POD_NAMESPACE: LEASE_NS },
      });
      replicas.push({ id, c: child });
    }
    for (const r of replicas) await waitReady(r.c, 120_000);
    // Started: every canary at its first step (status weight > 0).
    const startDeadline = Date.now() + Math.max(120_000, a.count * 100);
    let started = 0;
    while (Date.now() < startDeadline) {
      const list = await client.request<{ items: Array<{ status?: { canaryWeight?: number } }> }>('GET', `/apis/routeshift.io/v1alpha1/namespaces/${BENCH_NS}/canaries`);
      started = (list.body?.items ?? []).filter((x) => (x.status?.canaryWeight ?? 0) > 0).length;
      if (started >= a.count) break;
      await sleep(500);
    }
    const allStartedMs = started >= a.count ? Date.now() - t0 : undefined;
    log(`  ${kubernetes}: ${started}/${a.count} canaries at their first step after ${((Date.now() - t0) / 1000).toFixed(1)} s; warming up one interval`);
    await sleep(a.intervalSec * 1000 + 1000);

    const m0 = await Promise.all(replicas.map((r) => scrape(r.c)));
    const p0 = replicas.map((r) => sampleProc(r.c.pid));
    const w0 = Date.now();
    await sleep(a.durationMs);
    const windowSec = (Date.now() - w0) / 1000;
    const m1 = await Promise.all(replicas.map((r) => scrape(r.c)));
    const rows = replicas.map((r, i): ReplicaRow => {
      const p1 = sampleProc(r.c.pid);
      const after = m1[i] as TextSample[];
      const lat = histogramDelta(histogramOf(after, 'routeshift_tick_lateness_seconds'), histogramOf(m0[i] as TextSample[], 'routeshift_tick_lateness_seconds'));
      return {
        id: r.id,
        shards: sumOf(after, 'routeshift_shards_held'),
        canaries: sumOf(after, 'routeshift_canaries_owned'),
        ticksPerSec: lat.count / windowSec,
        lateP99: histogramQuantile(0.99, lat)?.value,
        lateOpen: histogramQuantile(0.99, lat)?.open ?? false,
        cpuCores: (p1.cpuSeconds - (p0[i]?.cpuSeconds ?? 0)) / windowSec,
        rssMiB: p1.rssBytes / 2 ** 20,
      };
    });
    return { kubernetes, count: a.count, replicas: replicaCount, shards: a.shards, loadAverage: la, allStartedMs, windowSec, rows };
  } finally {
    for (const r of replicas) await r.c.stop();
    stub?.stop();
    client?.close();
    await prom?.stop();
    await target?.stop();
    await api?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const f = (n: number | undefined, d = 1): string => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(d));

export function formatShards(results: ShardBenchResult[], a: ShardBenchArgs): string {
  const lines = [
    `Sharding (\`node dist/bench/shards.js\`): ${a.count} canaries (interval ${a.intervalSec} s, two metrics each) shared by ${a.replicas.join(' or ')} replicas over ${a.shards} shard Leases (lease 15 s, renew 10 s, retry 2 s), each replica a child process; ${(results[0]?.windowSec ?? 0).toFixed(0)} s window after every canary reached its first step. ${machineDescription()}.`,
    '',
    '| API server | replicas | replica | shards held | canaries owned | ticks/s | tick lateness p99 (s) | CPU (cores) | RSS (MiB) |',
    '|---|---:|---|---:|---:|---:|---|---:|---:|',
  ];
  for (const r of results) {
    const name = r.kubernetes === 'real' ? 'kube-apiserver' : 'stand-in';
    for (const row of r.rows) lines.push(`| ${name} | ${r.replicas} | ${row.id} | ${row.shards} | ${row.canaries} | ${f(row.ticksPerSec, 2)} | ${row.lateOpen ? '> 10' : f(row.lateP99, 2)} | ${f(row.cpuCores, 2)} | ${f(row.rssMiB, 0)} |`);
    const total = r.rows.reduce((t, x) => t + x.ticksPerSec, 0);
    const owned = r.rows.reduce((t, x) => t + x.canaries, 0);
    if (r.rows.length > 1) lines.push(`| ${name} | ${r.replicas} | all | ${r.rows.reduce((t, x) => t + x.shards, 0)} | ${owned} | ${f(total, 2)} (ideal ${f(r.count / a.intervalSec, 1)}) | | | |`);
  }
  lines.push('', ...results.map((r) => `${r.kubernetes === 'real' ? 'kube-apiserver' : 'stand-in'}, ${r.replicas} replica${r.replicas > 1 ? 's' : ''}: every canary at its first step ${r.allStartedMs === undefined ? 'not within the timeout' : `${f(r.allStartedMs / 1000)} s after the first replica started`}; load average before the run ${r.loadAverage}.`));
  return lines.join('\n');
}

async function main(): Promise<void> {
  const a = parseShardArgs(process.argv.slice(2));
  const results: ShardBenchResult[] = [];
  for (const k of a.kubernetes) {
    for (const n of a.replicas) {
      process.stderr.write(`shards: ${a.count} canaries, ${n} replicas, ${k}\n`);
      results.push(await runShardPoint(a, k, n, (s) => process.stderr.write(`${s}\n`)));
    }
  }
  const text = formatShards(results, a);
  process.stdout.write(`${text}\n`);
  if (a.write) writeSection(resolve(a.out), SHARDS_START, SHARDS_END, text);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench failed: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
