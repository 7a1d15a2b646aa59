/**
 * Issue 17 on the sandbox: a Canary with spec.workloads releases from the Deployment. `kubectl set image`
 * on the idle slot's Deployment starts a rollout, and after the promotion the slots swap in status with no
 * spec edit; a broken template is rolled back with the live slot untouched (and again on a retry); a ConfigMap change is a
 * release too; a change to the live slot gets a Warning and a metric; a controller SIGKILLed while the
 * Deployment rolls out resumes without a second RolloutStarted. kubectl is real (test/support/kubectl.ts).
 * Needs `npm run build`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { NS } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, getCanary, newSandbox, routeWeights, sleep, startController, waitForCanary, type ControllerProcess, type SeenEvent } from '../support/harness.js';
import { kubectl as makeKubectl, type Kubectl } from '../support/kubectl.js';
import { freePort } from '../support/processes.js';
import { release, type Release } from '../support/releases.js';

let sb: Sandbox;
let controller: ControllerProcess | undefined;
let metricsPort = 0;
let dir = '';
let k: Kubectl;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routeshift-releases-'));
  sb = await newSandbox();
  await createAll(sb.kubeConfig, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } }]);
  k = makeKubectl(sb.kubeconfigPath, dir);
  metricsPort = await freePort();
  controller = startController(sb, ['--metrics-port', String(metricsPort)]);
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await sb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const count = (events: SeenEvent[], reason: string): number => events.filter((e) => e.reason === reason).length;

/** A release whose Canary names the Deployment behind each Service (Deployment and Service share a name here). */
async function workloadRelease(name: string, extraObjects: object[] = [], readyDeadline = '5m'): Promise<Release> {
  const r = release(name);
  const c: Canary = r.canaryObject({ interval: '2s', window: '6s', stepWeights: [50] });
  c.spec.workloads = { stable: { name: r.stable }, canary: { name: r.canary }, readyDeadline };
  await createAll(sb.kubeConfig, [...extraObjects, ...r.objects, c]);
  // Adopted: the slots are recorded and nothing rolls out for what already runs.
  await waitForCanary(sb, name, (x) => x.status?.workloads?.live === r.stable && x.status.phase === 'Succeeded', 30_000);
  return r;
}

const setImage = (deployment: string, image: string): Promise<string> => k.ok(['set', 'image', `deployment/${deployment}`, `echo=${image}`, '-n', NS]);
const imageOf = async (deployment: string): Promise<string> => k.ok(['get', 'deployment', deployment, '-n', NS, '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);

/** A rollout of `idle` ended and the slots swapped: `idle` is live, at rest. */
const swappedTo = (idle: string) => (c: Canary) => c.status?.workloads?.live === idle && c.status.phase === 'Succeeded' && c.status.canaryWeight === 0;

describe('releases from the workload', () => {
  it('kubectl set image on the idle Deployment rolls out, promotes and swaps; the next set image goes the other way', async () => {
    const r = await workloadRelease('slots');
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 100, [r.canary]: 0 });
    expect(count(await canaryEvents(sb, 'slots'), 'RolloutStarted')).toBe(0);

    await setImage(r.canary, 'hashicorp/http-echo:1.0.1');
    const first = await waitForCanary(sb, 'slots', swappedTo(r.canary), 120_000);
    expect(first.spec.stable.name).toBe(r.stable); // no spec edit: only status says who is live
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 0, [r.canary]: 100 });
    let events = await canaryEvents(sb, 'slots');
    expect(count(events, 'RolloutStarted')).toBe(1);
    expect(count(events, 'Promoted')).toBe(1);
    expect(events.find((e) => e.reason === 'SlotsSwapped')?.message).toContain(`${r.canary} holds all the traffic`);

    // The old live slot is now idle: its release is one more set image.
    await setImage(r.stable, 'hashicorp/http-echo:1.0.2');
    await waitForCanary(sb, 'slots', swappedTo(r.stable), 120_000);
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 100, [r.canary]: 0 });
    events = await canaryEvents(sb, 'slots');
    expect(count(events, 'RolloutStarted')).toBe(2);
    expect(count(events, 'Promoted')).toBe(2);
    expect(events.filter((e) => e.reason === 'RolloutStarted').map((e) => e.message)).toEqual([
      expect.stringContaining(`canary ${r.canary}:80`),
      expect.stringContaining(`canary ${r.stable}:80`),
    ]);
    expect(count(events, 'LiveWorkloadChanged')).toBe(0);
  }, 300_000);

  it('rolls back a broken template on the idle slot, leaves the live slot untouched, and does not start it again', async () => {
    const r = await workloadRelease('broken');
    const liveImage = await imageOf(r.stable);
    // The sandbox's fault annotation: every answer of the new template is a 500.
    await k.ok(['patch', 'deployment', r.canary, '-n', NS, '-p', JSON.stringify({ spec: { template: { metadata: { annotations: { 'sandbox.routeshift.io/error-rate': '1' } } } } })]);
    const failed = await waitForCanary(sb, 'broken', (c) => c.status?.phase === 'Failed' || (c.status?.phase === 'Succeeded' && c.status.canaryWeight === 100), 120_000);
    expect(failed.status?.phase).toBe('Failed');
    expect(failed.status?.workloads?.live).toBe(r.stable);
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 100, [r.canary]: 0 });
    expect(await imageOf(r.stable)).toBe(liveImage);
    // The failed template is remembered: several polls (interval 2s) later it has not started again.
    // Absence cannot be awaited as a condition, so this one wait is bounded by time.
    await sleep(7_000);
    const later = await getCanary(sb, 'broken');
    expect(later.status?.phase).toBe('Failed');
    expect(later.status?.revision).toBe(failed.status?.revision);
    let events = await canaryEvents(sb, 'broken');
    expect(count(events, 'RolloutStarted')).toBe(1);
    expect(count(events, 'RolledBack')).toBe(1);

    // `routeshift retry` (the annotation it writes) runs the same template again: rolled back again.
    await k.ok(['annotate', 'canary', 'broken', '-n', NS, 'routeshift.io/retry=once-more']);
    const retried = await waitForCanary(sb, 'broken', (c) => c.status?.revision !== failed.status?.revision && c.status?.lastCompletedRevision === c.status?.revision, 120_000);
    expect(retried.status?.phase).toBe('Failed');
    expect(retried.status?.workloads?.live).toBe(r.stable);
    events = await canaryEvents(sb, 'broken');
    expect(count(events, 'RolloutStarted')).toBe(2);
    expect(count(events, 'RolledBack')).toBe(2);
  }, 240_000);

  it('a change to a ConfigMap the idle template references starts a rollout', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config-greeting', namespace: NS }, data: { GREETING: 'hello' } };
    const r = release('config');
    // The idle slot's Deployment reads the ConfigMap through envFrom.
    const deployment = r.objects.find((o) => (o as { metadata?: { name?: string } }).metadata?.name === r.canary) as {
      spec: { template: { spec: { containers: Array<{ envFrom?: object[] }> } } };
    };
    (deployment.spec.template.spec.containers[0] as { envFrom?: object[] }).envFrom = [{ configMapRef: { name: 'config-greeting' } }];
    const c: Canary = r.canaryObject({ interval: '2s', window: '6s', stepWeights: [50] });
    c.spec.workloads = { stable: { name: r.stable }, canary: { name: r.canary } };
    await createAll(sb.kubeConfig, [cm, ...r.objects, c]);
    await waitForCanary(sb, 'config', (x) => x.status?.workloads?.live === r.stable && x.status.phase === 'Succeeded', 30_000);

    await k.ok(['patch', 'configmap', 'config-greeting', '-n', NS, '-p', JSON.stringify({ data: { GREETING: 'hello again' } })]);
    await waitForCanary(sb, 'config', swappedTo(r.canary), 120_000);
    const events = await canaryEvents(sb, 'config');
    expect(count(events, 'RolloutStarted')).toBe(1);
    expect(count(events, 'Promoted')).toBe(1);
  }, 180_000);

  it('a change to the live slot gets a Warning LiveWorkloadChanged and counts in a metric', async () => {
    const r = await workloadRelease('live');
    await setImage(r.stable, 'hashicorp/http-echo:1.0.9');
    const end = Date.now() + 30_000;
    let warning: SeenEvent | undefined;
    while (!warning && Date.now() < end) {
      warning = (await canaryEvents(sb, 'live')).find((e) => e.reason === 'LiveWorkloadChanged');
      if (!warning) await sleep(300);
    }
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toContain(`live slot ${r.stable} changed`);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`routeshift_live_workload_changes_total\\{namespace="${NS}",name="live"\\} 1\\b`));
    // It bypassed the analysis: nothing rolled out, and the idle slot is still the idle slot.
    const c = await getCanary(sb, 'live');
    expect(c.status?.workloads?.live).toBe(r.stable);
    expect(count(await canaryEvents(sb, 'live'), 'RolloutStarted')).toBe(0);
  }, 120_000);

  it('a controller SIGKILLed while the Deployment rolls out resumes the wait, and starts the rollout once', async () => {
    const r = await workloadRelease('killed');
    // An image the sandbox does not run: the Deployment never reports the new generation rolled out.
    await setImage(r.canary, 'registry.example/not-yet:1');
    const waiting = await waitForCanary(sb, 'killed', (c) => c.status?.workloads?.waiting !== undefined, 30_000);
    expect((await canaryEvents(sb, 'killed')).some((e) => e.reason === 'WorkloadNotReady')).toBe(true);

    await controller?.stop('SIGKILL');
    controller = startController(sb, ['--metrics-port', String(metricsPort)]);
    // The new controller keeps the wait where it was (same start, so the same readyDeadline).
    const resumed = await waitForCanary(sb, 'killed', (c) => c.status?.workloads?.waiting !== undefined, 30_000);
    expect(resumed.status?.workloads?.waiting).toEqual(waiting.status?.workloads?.waiting);
    expect(count(await canaryEvents(sb, 'killed'), 'RolloutStarted')).toBe(0);

    await setImage(r.canary, 'hashicorp/http-echo:1.0.3');
    await waitForCanary(sb, 'killed', swappedTo(r.canary), 120_000);
    const events = await canaryEvents(sb, 'killed');
    expect(count(events, 'RolloutStarted')).toBe(1);
    expect(count(events, 'Promoted')).toBe(1);
  }, 240_000);
});
