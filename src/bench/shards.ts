/**
 * `node dist/bench/shards.js`: N canaries shared by R replicas through shard Leases (sharding.shards),
 * each replica a child process. Reports per replica the shards and canaries it holds and the ticks it
 * runs per second, on the sandbox's stand-in API server and/or the real kube-apiserver.
 *
 *   node dist/bench/shards.js                                       # 300 canaries, 1 then 3 replicas, 32 shards, both API servers
 *   node dist/bench/shards.js --count 1000 --replicas 1,4 --kubernetes real --duration 60s --no-write
 *   node dist/bench/shards.js --failover --kubernetes real,embedded    # 3 replicas, one SIGKILLed mid-rollout
 *
 * Results go between the bench:shards markers of docs/benchmarks.md (--failover: the bench:shard-failover markers).
 */
import { mkdtempSync } from 'node:fs';
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
import { stopRig } from './rig.js';
import { forEachLimit, KubeHttp } from './kube-http.js';
import { loadAverage, machineDescription, sampleProc } from './proc.js';
import { histogramDelta, histogramOf, histogramQuantile, parseExposition, quantile, sumOf, type TextSample } from './prom-text.js';
import { shardOf } from '../controller/shard-hash.js';
import { startRouteStatusStub, type RouteStatusStub } from './route-status.js';
import { benchCanary, benchRoute, BENCH_NS } from './scale-run.js';

export const SHARDS_START = '<!-- bench:shards:start -->';
export const SHARDS_END = '<!-- bench:shards:end -->';
export const FAILOVER_START = '<!-- bench:shard-failover:start -->';
export const FAILOVER_END = '<!-- bench:shard-failover:end -->';
const LEASE_NS = 'routeshift-system';
const GROUP = 'routeshift-leader';
const LEASE = { leaseDuration: '15s', renewDeadline: '10s', retryPeriod: '2s', leaseSec: 15, retrySec: 2 };
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
  /** Instead of the throughput window: 3 replicas, one SIGKILLed mid-rollout, and how soon its canaries step again. */
  failover: boolean;
}

export interface Quantiles {
  p50: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  n: number;
}

export interface FailoverResult {
  /** Shards and canaries the killed replica held. */
  shards: number;
  canaries: number;
  /** Kill -> every one of its shard Leases held by another replica (s). */
  shardsMovedSec: number | undefined;
  /** Kill -> each rolling canary's next step (s): those of the killed replica, and the others. */
  moved: Quantiles;
  stayed: Quantiles;
  /** Rolling canaries that did not step within the timeout. */
  missing: number;
  boundSec: number;
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
  failover?: FailoverResult;
}

export function parseShardArgs(argv: string[]): ShardBenchArgs {
  const a: ShardBenchArgs = { count: 300, replicas: [1, 3], shards: 32, durationMs: 60_000, intervalSec: 10, kubernetes: ['embedded', 'real'], write: true, out: 'docs/benchmarks.md', failover: false };
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
    else if (flag === '--failover') a.failover = true;
    else throw new Error(`unknown flag ${flag}`);
  }
  for (const n of [a.count, ...a.replicas, a.shards]) if (!Number.isInteger(n) || n < 1) throw new Error('--count, --replicas and --shards need positive whole numbers');
  if (a.failover) a.replicas = [3];
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
        config: { leaderElection: { enabled: true, namespace: LEASE_NS, name: GROUP, leaseDuration: LEASE.leaseDuration, renewDeadline: LEASE.renewDeadline, retryPeriod: LEASE.retryPeriod }, sharding: { shards: a.shards } },
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
    if (a.failover) {
      const failover = await killOne(client, replicas[1] as { id: string; c: ControllerChild }, a, log);
      return { kubernetes, count: a.count, replicas: replicaCount, shards: a.shards, loadAverage: la, allStartedMs, windowSec: 0, rows: [], failover };
    }

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
    await stopRig({ workDir, api, target, prom, stub, client });
  }
}

type CanaryList = { items: Array<{ metadata: { name: string }; status?: { canaryWeight?: number; phase?: string } }> };

/** shard -> holder ('' when released), from the shard Leases. */
async function shardHolders(client: KubeHttp): Promise<Map<number, string>> {
  const sel = encodeURIComponent(`routeshift.io/shard-group=${GROUP},routeshift.io/shard-lease=shard`);
  const res = await client.request<{ items: Array<{ metadata?: { name?: string }; spec?: { holderIdentity?: string } }> }>('GET', `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NS}/leases?labelSelector=${sel}`);
  return new Map((res.body?.items ?? []).map((l) => [Number(/-(\d+)$/.exec(l.metadata?.name ?? '')?.[1]), l.spec?.holderIdentity ?? '']));
}

function quantiles(values: number[]): Quantiles {
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: values.length ? Math.max(...values) : undefined, n: values.length };
}

/**
 * SIGKILLs `victim` mid-rollout, then polls (every 250 ms) until its shard Leases are held by the others and
 * every rolling canary has taken its next step (a higher weight, or its rollout ended). A canary's next step
 * is timed from the kill: the bound for the victim's is leaseDuration plus one interval (issue 19 goal 3).
 */
async function killOne(client: KubeHttp, victim: { id: string; c: ControllerChild }, a: ShardBenchArgs, log: (s: string) => void): Promise<FailoverResult> {
  const held = [...(await shardHolders(client))].filter(([, h]) => h === victim.id).map(([s]) => s);
  victim.c.child.kill('SIGKILL');
  const killed = Date.now();
  const list = async (): Promise<CanaryList['items']> => (await client.request<CanaryList>('GET', `/apis/routeshift.io/v1alpha1/namespaces/${BENCH_NS}/canaries`)).body?.items ?? [];
  // Read after the kill: the victim writes nothing more, so a higher weight is another replica's step.
  const atKill = new Map((await list()).map((c) => [c.metadata.name, c.status?.canaryWeight ?? 0]));
  const rolling = [...atKill].filter(([, w]) => w < 100).map(([n]) => n);
  const ofVictim = new Set(rolling.filter((n) => held.includes(shardOf(`${BENCH_NS}/${n}`, a.shards))));
  const stepped = new Map<string, number>();
  let shardsMovedSec: number | undefined;
  const boundSec = LEASE.leaseSec + a.intervalSec;
  const deadline = killed + 4 * boundSec * 1000 + 60_000;
  while (Date.now() < deadline && (stepped.size < rolling.length || shardsMovedSec === undefined)) {
    const [holders, items] = await Promise.all([shardHolders(client), list()]);
    const now = (Date.now() - killed) / 1000;
    if (shardsMovedSec === undefined && held.every((s) => ['a', 'b', 'c'].includes(holders.get(s) ?? '') && holders.get(s) !== victim.id)) shardsMovedSec = now;
    for (const c of items) {
      const n = c.metadata.name;
      if (stepped.has(n) || !atKill.has(n) || (atKill.get(n) as number) >= 100) continue;
      if ((c.status?.canaryWeight ?? 0) > (atKill.get(n) as number) || (c.status?.phase !== 'Progressing' && c.status?.phase !== 'Waiting')) stepped.set(n, now);
    }
    await sleep(250);
  }
  const times = (moved: boolean): number[] => [...stepped].filter(([n]) => ofVictim.has(n) === moved).map(([, t]) => t);
  log(`  killed ${victim.id} (${held.length} shards, ${ofVictim.size} rolling canaries); shards moved after ${f(shardsMovedSec)} s; ${stepped.size}/${rolling.length} stepped again`);
  return { shards: held.length, canaries: ofVictim.size, shardsMovedSec, moved: quantiles(times(true)), stayed: quantiles(times(false)), missing: rolling.length - stepped.size, boundSec };
}

export function formatFailover(results: ShardBenchResult[], a: ShardBenchArgs): string {
  const q = (x: Quantiles): string => `${f(x.p50)} / ${f(x.p99)} / ${f(x.max)} (${x.n})`;
  const lines = [
    `Failover (\`node dist/bench/shards.js --failover\`): ${a.count} canaries (interval ${a.intervalSec} s, two metrics each, one step per interval) shared by 3 replicas over ${a.shards} shard Leases (lease ${LEASE.leaseSec} s, renew 10 s, retry ${LEASE.retrySec} s), each replica a child process; one interval after every canary reached its first step, replica b is SIGKILLed. Times are seconds from the kill; a canary's next step is its next higher weight (status polled every 250 ms). Bound for b's canaries: leaseDuration + one interval. ${machineDescription()}.`,
    '',
    "| API server | load average at start | b's shards / rolling canaries | b's shards held by others (s) | b's canaries: next step p50 / p99 / max (s) (n) | bound (s) | the others' canaries: next step p50 / p99 / max (s) (n) | no step before the timeout |",
    '|---|---|---:|---:|---|---:|---|---:|',
  ];
  for (const r of results) {
    const x = r.failover;
    if (!x) continue;
    lines.push(`| ${r.kubernetes === 'real' ? 'kube-apiserver' : 'stand-in'} | ${r.loadAverage} | ${x.shards} / ${x.canaries} | ${f(x.shardsMovedSec)} | ${q(x.moved)} | ${x.boundSec} | ${q(x.stayed)} | ${x.missing} |`);
  }
  return lines.join('\n');
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
  const text = a.failover ? formatFailover(results, a) : formatShards(results, a);
  process.stdout.write(`${text}\n`);
  if (a.write) writeSection(resolve(a.out), a.failover ? FAILOVER_START : SHARDS_START, a.failover ? FAILOVER_END : SHARDS_END, text);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench failed: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}
