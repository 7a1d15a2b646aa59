/**
 * Issue 6's CLI on the sandbox, every command as a child process (`node dist/cli/main.js ...`) against
 * the controller as a child process: watch to the end (exit 0) and of a failing canary (exit 1),
 * abort within one interval, retry of the failed revision, promote --yes skipping steps, pause until
 * resume. Also issue 5's probes and metrics: /readyz 503 until the informers synced, then 200, and
 * routeshift_canary_weight following a rollout. Needs `npm run build`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { ANNOTATIONS } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../../src/sandbox/seed.js';
import { runCli, startCli } from '../support/cli-process.js';
import { canaryEvents, controllerKubeconfigVia, createAll, getCanary, newSandbox, routeWeights, sleep, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';
import { freePort } from '../support/processes.js';
import { release, type Release } from '../support/releases.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const INTERVAL_MS = 3_000;
const INTERVAL = `${INTERVAL_MS / 1000}s`;

let sb: Sandbox;
let dir: string;
let proxy: TcpProxy;
let controller: ControllerProcess | undefined;
let metricsUrl: string;

const cli = (...args: string[]) => runCli([...args, '-n', NS, '--kubeconfig', sb.kubeconfigPath], { timeoutMs: 60_000 });

async function probe(path: string): Promise<number> {
  try {
    return (await fetch(`${metricsUrl}${path}`)).status;
  } catch {
    return 0;
  }
}

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** routeshift_canary_weight of one Canary from the controller's /metrics, or undefined. */
async function weightMetric(name: string): Promise<number | undefined> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    const m = /^routeshift_canary_weight\{([^}]*)\} (\S+)$/.exec(line);
    if (m && m[1]?.includes(`namespace="${NS}"`) && m[1].includes(`name="${name}"`)) return Number(m[2]);
  }
  return undefined;
}

/** The Canary's Events with their times (ms), oldest first. */
async function timedEvents(name: string): Promise<Array<{ reason: string; message: string; at: number }>> {
  const list = await sb.kubeConfig.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.kind=Canary,involvedObject.name=${name}` });
  return list.items
    .map((e) => ({ reason: e.reason ?? '', message: e.message ?? '', at: new Date(e.firstTimestamp ?? 0).getTime() }))
    .sort((a, b) => a.at - b.at);
}

async function startRelease(r: Release, stepWeights?: number[]): Promise<void> {
  await createAll(sb.kubeConfig, r.objects);
  await createAll(sb.kubeConfig, [r.canaryObject({ interval: INTERVAL, ...(stepWeights ? { stepWeights } : {}) })]);
}

/** Waits until the route (not only status) carries at least `weight` for the canary. */
async function routeAtLeast(r: Release, weight: number): Promise<void> {
  await waitForCanary(sb, r.name, (c) => c.status?.phase === 'Progressing' && (c.status.canaryWeight ?? 0) >= weight, 60_000);
  await until(`route ${r.route} at ${weight}`, async () => ((await routeWeights(sb, r.route))[r.canary] ?? 0) >= weight, 10_000);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routeshift-operate-'));
  sb = await newSandbox();
  await createAll(sb.kubeConfig, seedObjects());
  // The controller reaches the API server through a proxy that starts cut, so it cannot sync yet.
  proxy = await startTcpProxy(sb.api.port, { cut: true });
  const kubeconfig = controllerKubeconfigVia(sb, proxy.port);
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}`;
  controller = startController(sb, ['--kubeconfig', kubeconfig, '--metrics-port', String(port)]);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await proxy?.stop();
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('operating rollouts with the CLI on the sandbox', () => {
  it('answers /readyz 503 until the informers have synced, then 200', async () => {
    await until('the health server', async () => (await probe('/healthz')) === 200, 30_000);
    expect(await probe('/readyz')).toBe(503);
    await sleep(1_500);
    expect(await probe('/readyz')).toBe(503); // still no API server to list from
    proxy.restore();
    await until('/readyz 200', async () => (await probe('/readyz')) === 200, 30_000);
    expect(await probe('/readyz')).toBe(200);
  }, 60_000);

  it('watch follows a rollout to the end and exits 0, while /metrics shows the canary weight changing', async () => {
    await createAll(sb.kubeConfig, [demoCanary({ interval: INTERVAL })]);
    const watch = startCli(['watch', 'backend', '-n', NS, '--kubeconfig', sb.kubeconfigPath]);
    const seen: number[] = [];
    let finished = false;
    void watch.done.then(() => (finished = true));
    while (!finished) {
      const w = await weightMetric('backend').catch(() => undefined);
      if (w !== undefined && seen.at(-1) !== w) seen.push(w);
      await sleep(250);
    }
    const r = await watch.done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/rollout succeeded: Promoted: backend-v2 holds all the traffic/);
    expect(r.stdout).toMatch(/event Normal WeightAdvanced: Advanced canary weight 25 -> 50/);
    expect(r.stdout).toMatch(/event Normal PromotionStarted: /);

    // The gauge went up step by step and ended at 100.
    const final = await weightMetric('backend');
    if (seen.at(-1) !== final && final !== undefined) seen.push(final);
    expect(seen.at(-1)).toBe(100);
    expect(new Set(seen).size).toBeGreaterThanOrEqual(3);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(seen).toEqual(expect.arrayContaining([25, 50, 75, 100]));
  }, 90_000);

  it('watch exits 1 when the canary is rolled back', async () => {
    const r = release('broken', { canary: { statusCode: 503 } });
    await startRelease(r);
    const watch = await runCli(['watch', r.name, '-n', NS, '--kubeconfig', sb.kubeconfigPath], { timeoutMs: 60_000 });
    expect(watch.code).toBe(1);
    expect(watch.stdout.trimEnd().split('\n').at(-1)).toMatch(/rollout failed: Rolled back: backend-broken-stable holds all the traffic/);
    expect(watch.stdout).toMatch(/event Warning RollbackStarted: Rolling back: request-success-rate/);
    expect((await getCanary(sb, r.name)).status?.phase).toBe('Failed');
  }, 90_000);

  it('abort rolls back within one interval, and retry reruns the failed revision to the end', async () => {
    const r = release('steer');
    await startRelease(r);
    await routeAtLeast(r, 25);

    const aborted = await cli('abort', r.name);
    expect(aborted.stderr).toBe('');
    expect(aborted.code).toBe(0);
    const requestedAt = Date.parse((await getCanary(sb, r.name)).metadata.annotations?.[ANNOTATIONS.abort] ?? '');
    expect(Number.isFinite(requestedAt)).toBe(true);

    const failed = await waitForCanary(sb, r.name, (c) => c.status?.phase === 'Failed' || c.status?.phase === 'Succeeded', 30_000);
    expect(failed.status?.phase).toBe('Failed');
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 100, [r.canary]: 0 });
    const events = await timedEvents(r.name);
    const rollback = events.find((e) => e.reason === 'RollbackStarted');
    expect(rollback?.message).toMatch(/Rollback requested by an operator/);
    // Acted on at the next tick (the annotation change triggers it), well within one interval.
    expect((rollback?.at ?? Infinity) - requestedAt).toBeLessThanOrEqual(INTERVAL_MS);
    expect(events.filter((e) => e.reason === 'WeightAdvanced' && e.at > requestedAt)).toEqual([]);

    const retried = await cli('retry', r.name);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/retry requested/);
    const done = await waitForCanary(sb, r.name, (c) => c.status?.revision !== failed.status?.revision && (c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed'), 60_000);
    expect(done.status?.phase).toBe('Succeeded');
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 0, [r.canary]: 100 });
    const all = (await canaryEvents(sb, r.name)).map((e) => e.reason);
    expect(all.filter((x) => x === 'RolloutStarted')).toHaveLength(2);
    expect(all.filter((x) => x === 'Promoted')).toHaveLength(1);
  }, 120_000);

  it('promote needs --yes, and then skips the remaining steps', async () => {
    const r = release('skip');
    await startRelease(r, [10, 20, 30, 40, 50, 60, 70, 80, 90]);
    await routeAtLeast(r, 10);

    const refused = await cli('promote', r.name);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect((await getCanary(sb, r.name)).metadata.annotations?.[ANNOTATIONS.promote]).toBeUndefined();

    const promoted = await cli('promote', r.name, '--yes');
    expect(promoted.code).toBe(0);
    // The CLI process takes a moment to start (slower on a loaded machine): judge from where the
    // rollout was when the request landed.
    const atRequest = (await getCanary(sb, r.name)).status?.canaryWeight ?? 0;
    const done = await waitForCanary(sb, r.name, (c) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed', 30_000);
    expect(done.status?.phase).toBe('Succeeded');
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 0, [r.canary]: 100 });
    const events = await canaryEvents(sb, r.name);
    // At most the move in flight when the request landed; none of the steps after it.
    const reached = Math.max(...events.filter((e) => e.reason === 'WeightAdvanced').map((e) => Number(/-> (\d+)/.exec(e.message)?.[1] ?? 10)), 10);
    expect(reached).toBeLessThanOrEqual(atRequest + 10);
    expect(reached).toBeLessThan(90);
    expect(events.filter((e) => e.reason === 'PromotionStarted')).toHaveLength(1);
  }, 90_000);

  it('pause holds the weights until resume, then the rollout finishes', async () => {
    const r = release('paused');
    await startRelease(r);
    await routeAtLeast(r, 10);

    const paused = await cli('pause', r.name);
    expect(paused.code).toBe(0);
    const held = await waitForCanary(sb, r.name, (c) => c.status?.phase === 'Paused', 2 * INTERVAL_MS);
    const movesAtPause = (await canaryEvents(sb, r.name)).filter((e) => e.reason === 'WeightAdvanced').length;
    const routeAtPause = await routeWeights(sb, r.route);

    await sleep(3 * INTERVAL_MS);
    const still = await getCanary(sb, r.name);
    expect(still.status?.phase).toBe('Paused');
    expect(still.status?.canaryWeight).toBe(held.status?.canaryWeight);
    expect(await routeWeights(sb, r.route)).toEqual(routeAtPause);
    const eventsPaused = await canaryEvents(sb, r.name);
    expect(eventsPaused.filter((e) => e.reason === 'WeightAdvanced')).toHaveLength(movesAtPause);
    expect(eventsPaused.map((e) => e.reason)).toContain('Paused');

    const resumed = await cli('resume', r.name);
    expect(resumed.code).toBe(0);
    const done = await waitForCanary(sb, r.name, (c) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed', 60_000);
    expect(done.status?.phase).toBe('Succeeded');
    const events = await canaryEvents(sb, r.name);
    expect(events.map((e) => e.reason)).toContain('Resumed');
    const moves = events.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    for (const move of ['10 -> 25', '25 -> 50', '50 -> 75']) expect(moves.filter((m) => m.includes(move))).toHaveLength(1);
  }, 90_000);
});
