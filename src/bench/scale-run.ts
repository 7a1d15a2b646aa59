import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Canary } from '../api/canary.js';
import { silentLogger } from '../core/logger.js';
import { startApiServer, type ApiServer, type RequestLogEntry } from '../sandbox/apiserver/index.js';
import { startRealApi, type RealApi } from '../sandbox/controlplane/real-api.js';
import type { SandboxKubernetes } from '../sandbox/sandbox.js';
import { startPrometheus, type PrometheusServer } from '../sandbox/prometheus.js';
import { sandboxCrdFiles } from '../sandbox/sandbox.js';
import { startControllerChild, waitReady, type ControllerChild } from './controller-process.js';
import { startIstioTarget, type IstioTarget } from './istio-target.js';
import { forEachLimit, KubeHttp, type WatchLine } from './kube-http.js';
import { loadAverage, sampleProc, type ProcSample } from './proc.js';
import { histogramDelta, histogramOf, histogramQuantile, parseExposition, quantile, sumOf, type TextSample } from './prom-text.js';
import { startRouteStatusStub, type RouteStatusStub } from './route-status.js';
import { stopRig } from './rig.js';

export const BENCH_NS = 'bench';
const WRITE_VERBS: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
// A sandbox-style token: the front door of the real control plane names a minted token the same way.
const CONTROLLER_TOKEN = 'sandbox-controller';
const CONTROLLER_USER = `token:${CONTROLLER_TOKEN}`;

export interface ScaleOptions {
  /** Measurement window once every canary is progressing. */
  durationMs: number;
  /** spec.analysis.interval of every canary, in seconds. */
  intervalSec?: number;
  /** The controller's tick concurrency (config `concurrency`). */
  concurrency?: number;
  scrapeIntervalMs?: number;
  logLevel?: string;
  /** prometheus.batchWindow for the controller; unset: no batching. */
  batchWindow?: string;
  /** Extra controller config fields (e.g. to switch a feature on). */
  controllerConfig?: Record<string, unknown>;
  /** Give up waiting for every canary's first step after this long. */
  startTimeoutMs?: number;
  /** The API server under the controller: the sandbox's stand-in (default) or the real kube-apiserver. */
  kubernetes?: SandboxKubernetes;
  log?: (line: string) => void;
}

export interface Quantiles {
  p50: number | undefined;
  p99: number | undefined;
  max: number | undefined;
  n: number;
}

export interface ScaleResult {
  count: number;
  /** prometheus.batchWindow, or 'off'. */
  batching: string;
  kubernetes: SandboxKubernetes;
  loadAverage: string;
  /** Creating N routes + N canaries (and their route status) through the API. */
  setupMs: number;
  /** Controller process spawned -> /readyz 200 (informers synced). */
  readyMs: number | undefined;
  /** Controller process spawned -> every canary at its first step (route patched). */
  allStartedMs: number | undefined;
  /** Canaries that had reached their first step when the window opened. */
  started: number;
  windowSec: number;
  /** Scheduler lateness from routeshift_tick_lateness_seconds (seconds, bucket-interpolated; max = bucket bound). */
  /** Quantiles past the histogram's last finite bucket (10 s) are `open`: the true value is above it. */
  tickLateness: { p50: number | undefined; p99: number | undefined; p50Open: boolean; p99Open: boolean; maxBound: number | undefined; ticks: number };
  /** Analysis start against stepStart/lastAnalysis + interval, from status (ms, exact). */
  analysisLateness: Quantiles;
  /** Status write of the decision -> route patch answered (ms). */
  decisionToPatch: Quantiles;
  rssMiB: { end: number; max: number };
  heapUsedMiB: number | undefined;
  /** V8 heap reserved, and memory outside it (buffers), from the controller's default metrics. */
  heapTotalMiB: number | undefined;
  externalMiB: number | undefined;
  /** CPU seconds per wall second (1 = one full core). */
  cpuCores: number;
  /** The controller's CPU time per tick started in the window (ms). */
  cpuMsPerTick: number | undefined;
  /** Ticks that moved a canary to its next weight (route patches answered) in the window. */
  advances: number;
  /** The controller's writes (create, update, patch, delete) per advancing tick, all of them counted. */
  writesPerAdvance: number | undefined;
  /** Of those, Event writes (creates and count updates): what folding step Events saves. */
  eventWritesPerAdvance: number | undefined;
  /** The same for the bench process (API server, route-status stand-in, target) and for Prometheus. */
  harnessCores: number;
  prometheusCores: number;
  /** Prometheus request duration seen by the controller: mean and p99 (ms). */
  promLatencyMs: { mean: number | undefined; p99: number | undefined };
  apiPerCanaryInterval: number;
  apiBreakdown: Record<string, number>;
  apiErrors: number;
  promPerCanaryInterval: number;
  promFailures: number;
  analysesPerCanaryInterval: number;
  reconcileErrors: number;
  notes: string[];
}

export function benchRoute(i: number): object {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: `route-${i}`, namespace: BENCH_NS },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: `svc-${i}`, port: 80 }],
      rules: [
        {
          backendRefs: [
            { name: `svc-${i}-stable`, port: 80, weight: 100 },
            { name: `svc-${i}-canary`, port: 80, weight: 0 },
          ],
        },
      ],
    },
  };
}

/** Two metrics, interval as given, 99 steps of 1% so every canary keeps progressing through the window. */
export function benchCanary(i: number, intervalSec: number): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: `canary-${i}`, namespace: BENCH_NS },
    spec: {
      routeRef: { name: `route-${i}` },
      stable: { name: `svc-${i}-stable`, port: 80 },
      canary: { name: `svc-${i}-canary`, port: 80 },
      provider: 'istio',
      analysis: {
        interval: `${intervalSec}s`,
        threshold: 5,
        stepWeight: 1,
        maxWeight: 99,
        metrics: [
          { name: 'request-success-rate', interval: '30s', thresholdRange: { min: 99 } },
          { name: 'request-duration', interval: '30s', thresholdRange: { max: 500 } },
        ],
      },
    },
  };
}

function quantiles(values: number[]): Quantiles {
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: values.length ? Math.max(...values) : undefined, n: values.length };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (b: number): number => b / 2 ** 20;

/**
 * One scale point: a fresh API server, Prometheus and target for `count` canaries, the controller
 * as a child process, a warm-up until every canary is at its first step plus one interval, then a
 * measured window. Everything started here is stopped before it returns.
 */
export async function runScalePoint(count: number, o: ScaleOptions): Promise<ScaleResult> {
  const log = o.log ?? (() => {});
  const intervalSec = o.intervalSec ?? 10;
  const intervalMs = intervalSec * 1000;
  const workDir = mkdtempSync(join(tmpdir(), `routeshift-bench-${count}-`));
  const notes: string[] = [];
  let api: ApiServer | RealApi | undefined;
  let target: IstioTarget | undefined;
  let prom: PrometheusServer | undefined;
  let stub: RouteStatusStub | undefined;
  let controller: ControllerChild | undefined;
  let client: KubeHttp | undefined;
  const watchAbort = new AbortController();
  try {
    const la = loadAverage();
    const kubeconfigPath = join(workDir, 'kubeconfig');
    if (o.kubernetes === 'real') {
      // The controller as deployed: its ServiceAccount's token, checked against deploy/base/rbac.yaml.
      const real = await startRealApi({ dir: workDir, logger: silentLogger(), crdFiles: sandboxCrdFiles() });
      api = real;
      await real.writeControllerKubeconfig(kubeconfigPath, CONTROLLER_TOKEN.replace(/^sandbox-/, ''));
    } else {
      api = await startApiServer({ crdFiles: sandboxCrdFiles(), logger: silentLogger(), historyLimit: Math.max(1000, count * 4) });
      await api.writeKubeconfig(kubeconfigPath, { user: 'routeshift-controller', token: CONTROLLER_TOKEN });
    }
    client = new KubeHttp(api.url);

    // Every request of the controller, with the time it was answered. The server calls add() after
    // replying; we keep only the controller's (its token) and skip the bounded in-memory log.
    const requests: Array<{ at: number; e: RequestLogEntry }> = [];
    let recording = false; // only the window's requests are kept: at 5,000 canaries that is millions otherwise
    const lastStatusPut = new Map<string, number>();
    const firstStep = new Set<string>();
    const decisionToPatch: Array<{ at: number; ms: number }> = [];
    const trace = process.env.BENCH_TRACE;
    api.requestLog.add = (e: RequestLogEntry): void => {
      if (e.user !== CONTROLLER_USER) return;
      const at = performance.now();
      if (recording) requests.push({ at, e });
      // BENCH_TRACE=<i>: print the controller's requests for canary-<i> and route-<i> as they are answered.
      if (trace && (e.name === `canary-${trace}` || e.name === `route-${trace}`)) process.stderr.write(`${at.toFixed(0)} ${e.verb} ${e.resource}/${e.name}${e.subresource ? `/${e.subresource}` : ''} ${e.code}\n`);
      if (e.code >= 300 || !e.name) return;
      if (e.resource === 'canaries' && e.subresource === 'status' && e.verb === 'update') lastStatusPut.set(e.name.slice('canary-'.length), at);
      if (e.resource === 'httproutes' && !e.subresource && e.verb === 'patch') {
        const i = e.name.slice('route-'.length);
        firstStep.add(i);
        const put = lastStatusPut.get(i);
        if (put !== undefined) decisionToPatch.push({ at, ms: at - put });
        lastStatusPut.delete(i);
      }
    };

    await client.ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: BENCH_NS } });
    target = await startIstioTarget({ namespace: BENCH_NS, services: Array.from({ length: count }, (_, i) => `svc-${i}-canary`) });
    prom = await startPrometheus({ scrapeIntervalMs: o.scrapeIntervalMs ?? 5000, targets: [{ job: 'mesh', address: target.address }], logger: silentLogger() });
    await prom.waitForTarget('mesh', undefined, 60_000);
    stub = startRouteStatusStub(client, BENCH_NS);

    const setupStart = Date.now();
    const ids = Array.from({ length: count }, (_, i) => i);
    const c = client;
    await forEachLimit(ids, 16, async (i) => {
      await c.ok('POST', `/apis/gateway.networking.k8s.io/v1/namespaces/${BENCH_NS}/httproutes`, benchRoute(i));
    });
    await stub.ready(count);
    await forEachLimit(ids, 16, async (i) => {
      await c.ok('POST', `/apis/routeshift.io/v1alpha1/namespaces/${BENCH_NS}/canaries`, benchCanary(i, intervalSec));
    });
    const setupMs = Date.now() - setupStart;
    log(`  ${count}: created ${count} routes and canaries in ${(setupMs / 1000).toFixed(1)} s`);

    // Analysis lateness, exactly, from what the controller writes: an analysis at lastAnalysisTime
    // was due at the previous max(stepStartTime, lastAnalysisTime) + interval.
    const seen = new Map<string, { la: number; ss: number }>();
    const analyses: Array<{ at: number; late: number }> = [];
    void client.listWatch(
      `/apis/routeshift.io/v1alpha1/namespaces/${BENCH_NS}/canaries`,
      (line: WatchLine) => {
        const name = line.object.metadata?.name ?? '';
        const st = (line.object as { status?: { lastAnalysisTime?: string; stepStartTime?: string } }).status;
        const la = Date.parse(st?.lastAnalysisTime ?? '') || 0;
        const ss = Date.parse(st?.stepStartTime ?? '') || 0;
        const prev = line.type === 'ADDED' ? undefined : seen.get(name);
        if (prev && la && la !== prev.la && (prev.la || prev.ss)) analyses.push({ at: performance.now(), late: la - (Math.max(prev.la, prev.ss) + intervalMs) });
        seen.set(name, { la, ss });
      },
      watchAbort.signal,
    );

    controller = await startControllerChild({
      kubeconfigPath,
      prometheusUrl: prom.url,
      workDir,
      namespace: BENCH_NS,
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      ...(o.controllerConfig ? { config: o.controllerConfig } : {}),
      ...(o.batchWindow ? { batchWindow: o.batchWindow } : {}),
      // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to see where the controller's time goes
      ...(process.env.BENCH_CONTROLLER_NODE_ARGS ? { nodeArgs: process.env.BENCH_CONTROLLER_NODE_ARGS.split(' ').filter(Boolean) } : {}),
    });
    const pid = controller.pid;
    let maxRss = 0;
    const sampler = setInterval(() => {
      try {
        maxRss = Math.max(maxRss, sampleProc(pid).rssBytes);
      } catch {
        // exited
      }
    }, 1000);
    try {
      const readyAt = await waitReady(controller, 120_000);
      const readyMs = readyAt === undefined ? undefined : readyAt - controller.startedAt;
      log(`  ${count}: controller ready in ${readyMs ?? 'never'} ms`);
      const startDeadline = Date.now() + (o.startTimeoutMs ?? Math.max(120_000, count * 100));
      while (firstStep.size < count && Date.now() < startDeadline && controller.child.exitCode === null) await sleep(200);
      const allStartedMs = firstStep.size >= count ? Date.now() - controller.startedAt : undefined;
      const started = firstStep.size;
      if (allStartedMs === undefined) notes.push(`only ${started}/${count} canaries reached their first step within ${((startDeadline - controller.startedAt) / 1000).toFixed(0)} s of start`);
      log(`  ${count}: ${started}/${count} canaries at their first step after ${((Date.now() - controller.startedAt) / 1000).toFixed(1)} s; warming up one interval`);
      await sleep(intervalMs + 1000);

      // --- the measured window ---
      const m0 = await scrape(controller);
      const p0 = sampleProc(pid);
      const pp0 = sampleProc(prom.pid);
      const h0 = process.cpuUsage();
      recording = true;
      const w0 = performance.now();
      await sleep(o.durationMs);
      const w1 = performance.now();
      recording = false;
      const p1 = sampleProc(pid);
      const pp1 = sampleProc(prom.pid);
      const h1 = process.cpuUsage(h0);
      const m1 = await scrape(controller);
      maxRss = Math.max(maxRss, p1.rssBytes);
      const windowSec = (w1 - w0) / 1000;
      const canaryIntervals = (count * windowSec) / intervalSec;

      const inWindow = <T extends { at: number }>(xs: T[]): T[] => xs.filter((x) => x.at >= w0 && x.at <= w1);
      const reqs = inWindow(requests);
      const breakdown: Record<string, number> = {};
      for (const { e } of reqs) {
        const k = `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}`;
        breakdown[k] = (breakdown[k] ?? 0) + 1;
      }
      for (const k of Object.keys(breakdown)) breakdown[k] = (breakdown[k] as number) / canaryIntervals;
      const lat = m0 && m1 ? histogramDelta(histogramOf(m1, 'routeshift_tick_lateness_seconds'), histogramOf(m0, 'routeshift_tick_lateness_seconds')) : undefined;
      const p50 = lat ? histogramQuantile(0.5, lat) : undefined;
      const p99 = lat ? histogramQuantile(0.99, lat) : undefined;
      const maxBound = lat && lat.count > 0 ? lat.buckets.find((b) => b.count >= lat.count)?.le : undefined;
      const promCount = m0 && m1 ? sumOf(m1, 'routeshift_prometheus_request_duration_seconds_count') - sumOf(m0, 'routeshift_prometheus_request_duration_seconds_count') : NaN;
      const promOk = (s: TextSample[]): number =>
        ['value', 'vector'].reduce((t, outcome) => t + sumOf(s, 'routeshift_prometheus_request_duration_seconds_count', { outcome }), 0);
      const promFailures = m0 && m1 ? promCount - (promOk(m1) - promOk(m0)) : NaN;
      const promHist = m0 && m1 ? histogramDelta(histogramOf(m1, 'routeshift_prometheus_request_duration_seconds'), histogramOf(m0, 'routeshift_prometheus_request_duration_seconds')) : undefined;
      const promP99 = promHist ? histogramQuantile(0.99, promHist) : undefined;
      const heap = m1 ? sumOf(m1, 'nodejs_heap_size_used_bytes') : undefined;
      const analysisSamples = inWindow(analyses).map((a) => a.late);
      const writes = reqs.filter((r) => WRITE_VERBS.has(r.e.verb)).length;
      const eventWrites = reqs.filter((r) => WRITE_VERBS.has(r.e.verb) && r.e.resource === 'events').length;
      const advances = reqs.filter((r) => r.e.resource === 'httproutes' && r.e.verb === 'patch' && !r.e.subresource && r.e.code < 300).length;
      const ticks = lat?.count ?? 0;
      const result: ScaleResult = {
        count,
        batching: o.batchWindow ?? 'off',
        kubernetes: o.kubernetes ?? 'embedded',
        loadAverage: la,
        setupMs,
        readyMs,
        allStartedMs,
        started,
        windowSec,
        tickLateness: {
          p50: p50?.value,
          p99: p99?.value,
          p50Open: p50?.open ?? false,
          p99Open: p99?.open ?? false,
          maxBound,
          ticks: lat?.count ?? 0,
        },
        analysisLateness: quantiles(analysisSamples),
        decisionToPatch: quantiles(inWindow(decisionToPatch).map((d) => d.ms)),
        rssMiB: { end: mib(p1.rssBytes), max: mib(maxRss) },
        heapUsedMiB: heap ? mib(heap) : undefined,
        heapTotalMiB: m1 ? mib(sumOf(m1, 'nodejs_heap_size_total_bytes')) : undefined,
        externalMiB: m1 ? mib(sumOf(m1, 'nodejs_external_memory_bytes')) : undefined,
        cpuCores: (p1.cpuSeconds - p0.cpuSeconds) / windowSec,
        cpuMsPerTick: ticks > 0 ? ((p1.cpuSeconds - p0.cpuSeconds) * 1000) / ticks : undefined,
        advances,
        writesPerAdvance: advances > 0 ? writes / advances : undefined,
        eventWritesPerAdvance: advances > 0 ? eventWrites / advances : undefined,
        harnessCores: (h1.user + h1.system) / 1e6 / windowSec,
        prometheusCores: (pp1.cpuSeconds - pp0.cpuSeconds) / windowSec,
        promLatencyMs: {
          mean: promHist && promHist.count > 0 ? (promHist.sum / promHist.count) * 1000 : undefined,
          p99: promP99 ? promP99.value * 1000 : undefined,
        },
        apiPerCanaryInterval: reqs.length / canaryIntervals,
        apiBreakdown: breakdown,
        apiErrors: reqs.filter((r) => r.e.code >= 400).length,
        promPerCanaryInterval: promCount / canaryIntervals,
        promFailures,
        analysesPerCanaryInterval: analysisSamples.length / canaryIntervals,
        reconcileErrors: 0,
        notes,
      };
      await controller.stop();
      const logText = readFileSync(controller.logFile, 'utf8');
      result.reconcileErrors = (logText.match(/reconcile failed/g) ?? []).length;
      return result;
    } finally {
      clearInterval(sampler);
    }
  } finally {
    watchAbort.abort();
    await controller?.stop();
    await stopRig({ workDir, api, target, prom, stub, client });
  }
}

async function scrape(c: ControllerChild): Promise<TextSample[] | undefined> {
  const r = await c.get('/metrics', 30_000);
  return r?.status === 200 ? parseExposition(r.body) : undefined;
}

export type { ProcSample };
