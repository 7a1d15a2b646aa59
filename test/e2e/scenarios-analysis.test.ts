/**
 * Issue 4's analysis scenarios on the sandbox, with the controller as a child process: a canary that
 * answers slowly is rolled back on latency, and a rollout holds while Prometheus is stopped, then
 * finishes once a Prometheus serves on the same address again. Needs `npm run build`.
 */
import type { Canary } from '../../src/api/canary.js';
import { startPrometheus, type PrometheusServer } from '../../src/sandbox/prometheus.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, echoDeployment, NS, seedObjects } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, getCanary, newSandbox, routeWeights, sleep, startController, waitForCanary, type ControllerProcess, type SeenEvent } from '../support/harness.js';
import { release } from '../support/releases.js';

let sb: Sandbox;
let controller: ControllerProcess | undefined;
let secondPrometheus: PrometheusServer | undefined;

beforeAll(async () => {
  sb = await newSandbox();
  // The namespace here, so each test can also run alone (-t).
  await createAll(sb.kubeConfig, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
  controller = startController(sb);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await secondPrometheus?.stop();
  await sb?.stop();
});

const count = (events: SeenEvent[], reason: string): number => events.filter((e) => e.reason === reason).reduce((n, e) => n + e.count, 0);

describe('analysis scenarios on the sandbox', () => {
  it('rolls back a canary whose p99 latency (800 ms injected) is over the 500 ms limit, naming the value', async () => {
    // The seed, with backend-v2 slowed down by the sandbox's fault annotation.
    const isKind = (o: object, kind: string, name?: string): boolean =>
      (o as { kind?: string }).kind === kind && (name === undefined || (o as { metadata?: { name?: string } }).metadata?.name === name);
    const objects = seedObjects()
      .filter((o) => !isKind(o, 'Namespace'))
      .map((o) => (isKind(o, 'Deployment', 'backend-v2') ? echoDeployment('v2', { replicas: 2, latencyMs: 800 }) : o));
    await createAll(sb.kubeConfig, objects);
    await createAll(sb.kubeConfig, [demoCanary({ interval: '4s', maxP99Ms: 500 })]);

    const failed = await waitForCanary(sb, 'backend', (c) => c.status?.phase === 'Failed' || c.status?.phase === 'Succeeded', 90_000);
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.canaryWeight).toBe(0);
    expect(await routeWeights(sb)).toEqual({ 'backend-v1': 100, 'backend-v2': 0 });

    // The latency check failed on the measured p99; success rate was fine (the slow answers are 200s).
    const reports = failed.status?.lastAnalysis ?? [];
    const duration = reports.find((r) => r.name === 'request-duration');
    expect(duration?.verdict).toBe('fail');
    expect(duration?.value).toBeGreaterThan(500);
    expect(reports.find((r) => r.name === 'request-success-rate')?.verdict).toBe('pass');

    const events = await canaryEvents(sb, 'backend');
    const rollback = events.find((e) => e.reason === 'RollbackStarted');
    expect(rollback?.message).toMatch(/request-duration/);
    // The message carries the p99 the decision saw, above the limit it names.
    const shown = /request-duration\D*?([\d.]+)\s*ms\s*>\s*500/.exec(rollback?.message ?? '');
    expect(shown).not.toBeNull();
    expect(Number(shown?.[1])).toBeGreaterThan(500);
    expect(events.map((e) => e.reason)).toContain('CheckFailed');
    expect(events.map((e) => e.reason).filter((x) => x !== 'WaitingForRoute').at(-1)).toBe('RolledBack');
    // It never went past the first step.
    expect(events.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message).join('\n')).not.toMatch(/-> (25|50|75|100)/);
  }, 120_000);

  it('holds a rollout while Prometheus is stopped, and finishes it once Prometheus serves again on the same port', async () => {
    const r = release('hold');
    await createAll(sb.kubeConfig, r.objects);
    const canary: Canary = r.canaryObject({ interval: '3s', window: '10s' });
    // An unavailable Prometheus is never a failed check (default errorsBeforeFailure kept); this Canary
    // allows 40 inconclusive ticks in a row before the hold times out into a rollback.
    canary.spec.analysis.inconclusiveLimit = 40;
    await createAll(sb.kubeConfig, [canary]);

    await waitForCanary(sb, 'hold', (c) => c.status?.phase === 'Progressing' && (c.status.canaryWeight ?? 0) >= 25, 60_000);
    const port = Number(new URL(sb.prometheus.url).port);
    await sb.prometheus.stop();

    // A tick that was measuring when Prometheus went away may still move one step; from the first
    // held analysis on, nothing may move.
    const deadline = Date.now() + 20_000;
    let events = await canaryEvents(sb, 'hold');
    // Every query failing for want of Prometheus is a MetricsUnavailable hold (docs/events.md).
    const heldOnPrometheus = (e: SeenEvent): boolean => e.reason === 'MetricsUnavailable' && /metrics unavailable/.test(e.message);
    while (!events.some(heldOnPrometheus) && Date.now() < deadline) {
      await sleep(300);
      events = await canaryEvents(sb, 'hold');
    }
    const firstHeld = events.find(heldOnPrometheus);
    expect(firstHeld?.message).toMatch(/PrometheusUnreachable/);
    const atHold = await getCanary(sb, 'hold');
    const weightsAtHold = await routeWeights(sb, r.route);
    const advancedAtHold = count(events, 'WeightAdvanced');
    const heldAtHold = count(events, 'MetricsUnavailable');

    await sleep(10_000); // more than three intervals without Prometheus
    const during = await getCanary(sb, 'hold');
    const eventsDuring = await canaryEvents(sb, 'hold');
    expect(during.status?.phase).toBe('Progressing');
    expect(during.status?.canaryWeight).toBe(atHold.status?.canaryWeight);
    expect(during.status?.failedChecks ?? 0).toBe(0);
    expect(await routeWeights(sb, r.route)).toEqual(weightsAtHold);
    expect(count(eventsDuring, 'WeightAdvanced')).toBe(advancedAtHold);
    expect(count(eventsDuring, 'PromotionStarted')).toBe(0);
    expect(count(eventsDuring, 'RollbackStarted')).toBe(0);
    expect(count(eventsDuring, 'MetricsUnavailable')).toBeGreaterThanOrEqual(heldAtHold + 2);
    expect(count(eventsDuring, 'CheckFailed')).toBe(0);
    expect(during.status?.lastAnalysis?.map((x) => x.verdict)).toEqual(['error', 'error']);

    // Prometheus comes back at the address the controller was given, with an empty TSDB.
    const metrics = new URL(sb.mesh.metricsUrl);
    secondPrometheus = await startPrometheus({ port, scrapeIntervalMs: 1000, targets: [{ job: 'mesh', address: metrics.host, metricsPath: metrics.pathname }] });
    await secondPrometheus.waitForTarget('mesh');

    const done = await waitForCanary(sb, 'hold', (c) => c.status?.phase === 'Succeeded' || c.status?.phase === 'Failed', 90_000);
    expect(done.status?.phase).toBe('Succeeded');
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 0, [r.canary]: 100 });
    const final = await canaryEvents(sb, 'hold');
    const moves = final.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    for (const move of ['10 -> 25', '25 -> 50', '50 -> 75']) expect(moves.filter((m) => m.includes(move))).toHaveLength(1);
    expect(final.map((e) => e.reason).filter((x) => x !== 'WaitingForRoute').slice(-2)).toEqual(['PromotionStarted', 'Promoted']);
  }, 150_000);
});
