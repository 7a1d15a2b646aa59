/**
 * Issue 16, goal 6: latency in sequential mode, end to end. A canary that is as fast as the stable at first
 * advances; mid-rollout its latency creeps past `latencyBoundMs` (the sandbox's latency annotation on its pods,
 * applied live), and the sequential test on `request-duration` (bad = slower than the bound, a bucket boundary
 * of Istio's histogram) rolls it back. Needs `npm run build`.
 */
import { AppsV1Api } from '@kubernetes/client-node';
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { NS } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, routeWeights, sandboxWithController, stopAll, waitForCanary, type ControllerProcess } from '../support/harness.js';
import { release } from '../support/releases.js';

let sb: Sandbox;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  ({ sb, controller } = await sandboxWithController({ rps: 20 }));
}, 60_000);

afterAll(() => stopAll(controller, sb));

const ended = (c: Canary): boolean => ['Succeeded', 'Failed', 'TimedOut'].includes(c.status?.phase ?? '');

it('rolls back a canary whose latency creeps past latencyBoundMs mid-rollout', async () => {
  const r = release('slowing');
  await createAll(sb.kubeConfig, r.objects);
  const c = r.canaryObject({ interval: '5s', threshold: 2, stepWeights: [10, 30, 60] });
  c.spec.analysis.metrics = [{ name: 'request-duration', mode: 'sequential', sequential: { latencyBoundMs: 250 } }];
  await createAll(sb.kubeConfig, [c]);

  // Fast at first: the evidence bounds the harm and the canary moves past its first step.
  const moved = await waitForCanary(sb, r.name, (x) => (x.status?.canaryWeight ?? 0) >= 30 || ended(x), 120_000);
  expect(moved.status?.phase).toBe('Progressing');

  // Then every canary request takes 300-400 ms, above the 250 ms bound.
  const apps = sb.kubeConfig.makeApiClient(AppsV1Api);
  const name = `backend-${r.name}-canary`;
  const d = await apps.readNamespacedDeployment({ name, namespace: NS });
  d.spec!.template.metadata = { ...d.spec!.template.metadata, annotations: { ...d.spec!.template.metadata?.annotations, 'sandbox.routeshift.io/latency-ms': '300-400' } };
  await apps.replaceNamespacedDeployment({ name, namespace: NS, body: d });

  const done = await waitForCanary(sb, r.name, ended, 120_000);
  expect(done.status?.phase).toBe('Failed');
  expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 100, [r.canary]: 0 });
  const events = await canaryEvents(sb, r.name);
  expect(events.some((e) => e.reason === 'PromotionStarted')).toBe(false);
  const rollback = events.find((e) => e.reason === 'RollbackStarted');
  expect(rollback?.message).toMatch(/^Rolling back: request-duration canary [\d.]+% bad of \d+ vs stable [\d.]+% bad of \d+: (catastrophic|worse)/);
  const evidence = done.status?.evidence?.find((e) => e.name === 'request-duration');
  expect(evidence?.canaryBad).toBeGreaterThan(0);
  // The stable stays fast (a loaded machine may slow a few of its requests past the bound).
  expect((evidence?.stableBad ?? 0) / Math.max(1, evidence?.stableTotal ?? 0)).toBeLessThan(0.01);
}, 300_000);
