/**
 * The controller against the sandbox, as a separate process (so it can be killed with SIGKILL):
 * the seed walked to 100%, a broken release rolled back, a restart mid-rollout that neither skips
 * nor repeats a step, and a Canary naming a missing backend. Needs `npm run build` (npm test does it).
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { waitUntil } from '../support/wait.js';
import { demoCanary, echoDeployment, NS, seedObjects, service } from '../../src/sandbox/seed.js';
import {
  canaryEvents,
  createAll,
  getCanary as get,
  newSandbox,
  routeWeights as weightsOf,
  sleep,
  startController as start,
  waitForCanary,
  type ControllerProcess,
} from '../support/harness.js';

let sb: Sandbox;
let controller: ControllerProcess | undefined;

const startController = (): ControllerProcess => start(sb);
async function stopController(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await controller?.stop(signal);
  controller = undefined;
}
const getCanary = (name: string) => get(sb, name);
const waitFor = (name: string, pred: Parameters<typeof waitForCanary>[2], timeoutMs?: number) => waitForCanary(sb, name, pred, timeoutMs);
const reasons = (name: string) => canaryEvents(sb, name);
const routeWeights = () => weightsOf(sb);

beforeAll(async () => {
  sb = await newSandbox();
  await createAll(sb.kubeConfig, seedObjects());
  controller = startController();
}, 60_000);

afterAll(async () => {
  await stopController();
  await sb?.stop();
});

describe('rollout on the sandbox', () => {
  it('walks the seed route from 90/10 through every step to 100, then rolls a broken release back', async () => {
    await createAll(sb.kubeConfig, [demoCanary()]);
    const done = await waitFor('backend', (c) => c.status?.phase === 'Succeeded');
    expect(done.status?.canaryWeight).toBe(100);
    expect(await routeWeights()).toEqual({ 'backend-v1': 0, 'backend-v2': 100 });
    const ev = await reasons('backend');
    const transitions = ev.map((e) => e.reason).filter((r) => ['RolloutStarted', 'WeightAdvanced', 'PromotionStarted', 'Promoted'].includes(r));
    expect(transitions).toEqual(['RolloutStarted', 'WeightAdvanced', 'WeightAdvanced', 'WeightAdvanced', 'WeightAdvanced', 'PromotionStarted', 'Promoted']);
    const advance = ev.find((e) => e.reason === 'WeightAdvanced' && e.message.includes('10 -> 25'));
    expect(advance?.message).toMatch(/request-success-rate [\d.]+% >= 99/);
    expect(done.status?.lastAnalysis?.map((r) => r.verdict)).toEqual(['pass', 'pass']);

    // A broken v3 behind its own Service; the user's release edit lists it at weight 0 and names the new pair.
    await createAll(sb.kubeConfig, [echoDeployment('v3', { statusCode: 503 }), service('backend-v3', { app: 'backend', version: 'v3' })]);
    const custom = sb.kubeConfig.makeApiClient(CustomObjectsApi);
    const route = (await custom.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: NS, plural: 'httproutes', name: 'backend-split' })) as {
      spec: { rules: Array<{ backendRefs: Array<Record<string, unknown>> }> };
    };
    (route.spec.rules[0] as { backendRefs: Array<Record<string, unknown>> }).backendRefs[0] = { group: '', kind: 'Service', name: 'backend-v3', port: 80, weight: 0 };
    await custom.replaceNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: NS, plural: 'httproutes', name: 'backend-split', body: route });
    const c = await getCanary('backend');
    c.spec.stable = { name: 'backend-v2', port: 80 };
    c.spec.canary = { name: 'backend-v3', port: 80 };
    await custom.replaceNamespacedCustomObject({ group: 'routeshift.io', version: 'v1alpha1', namespace: NS, plural: 'canaries', name: 'backend', body: c });
    const failed = await waitFor('backend', (x) => x.status?.phase === 'Failed');
    expect(failed.status?.canaryWeight).toBe(0);
    expect(await routeWeights()).toEqual({ 'backend-v3': 0, 'backend-v2': 100 });
    const after = (await reasons('backend')).map((e) => e.reason).filter((r) => r !== 'WaitingForRoute');
    expect(after.slice(-2)).toEqual(['RollbackStarted', 'RolledBack']);
    expect(after).toContain('CheckFailed');
  }, 150_000);

  it('finishes a rollout from where it was after the controller is killed with SIGKILL', async () => {
    await createAll(sb.kubeConfig, [
      echoDeployment('v4'),
      service('backend-v4', { app: 'backend', version: 'v4' }),
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'backend-v4-split', namespace: NS },
        spec: {
          parentRefs: [{ name: 'backend-v4', kind: 'Service', group: '', port: 80 }],
          rules: [{ backendRefs: [{ name: 'backend-v2', port: 80, weight: 100 }, { name: 'backend-v4', port: 80, weight: 0 }] }],
        },
      },
    ]);
    const c = demoCanary({ stable: 'backend-v2', canary: 'backend-v4' });
    c.metadata.name = 'restart';
    c.spec.routeRef.name = 'backend-v4-split';
    await createAll(sb.kubeConfig, [c]);
    await waitFor('restart', (x) => (x.status?.canaryWeight ?? 0) >= 25 && x.status?.phase === 'Progressing');
    await stopController('SIGKILL');
    const before = await getCanary('restart');
    await sleep(3_000);
    controller = startController();
    const done = await waitFor('restart', (x) => x.status?.phase === 'Succeeded');
    expect(done.status?.revision).toBe(before.status?.revision);
    const ev = await reasons('restart');
    expect(ev.filter((e) => e.reason === 'RolloutStarted')).toHaveLength(1);
    const steps = ev.filter((e) => e.reason === 'WeightAdvanced').map((e) => e.message);
    // Each step exactly once: the first step, then 10 -> 25, 25 -> 50, 50 -> 75.
    expect(steps).toHaveLength(4);
    for (const move of ['10 -> 25', '25 -> 50', '50 -> 75']) expect(steps.filter((m) => m.includes(move))).toHaveLength(1);
  }, 150_000);

  it('reports a Canary that names a backend missing from the route, and leaves the route alone', async () => {
    const before = await routeWeights();
    const c = demoCanary({ stable: 'backend-v2', canary: 'backend-v9' });
    c.metadata.name = 'bad-ref';
    await createAll(sb.kubeConfig, [c]);
    const bad = await waitFor('bad-ref', (x) => x.status?.conditions?.some((k) => k.reason === 'RouteMismatch') ?? false, 30_000);
    const cond = bad.status?.conditions?.find((k) => k.type === 'Ready');
    expect(cond?.status).toBe('False');
    expect(cond?.message).toContain('backend-v9');
    // The Event follows the status write that set the condition: wait for it rather than race it (a fresh-clone run
    // read the Events in between).
    await waitUntil('the RouteMismatch Event of bad-ref', async () => (await reasons('bad-ref')).some((e) => e.reason === 'RouteMismatch'), 15_000);
    expect((await reasons('bad-ref')).map((e) => e.reason)).toContain('RouteMismatch');
    expect(await routeWeights()).toEqual(before);
  }, 60_000);

  it('waits with InvalidSpec on a missing MetricTemplate, then runs once the template is created', async () => {
    await createAll(sb.kubeConfig, [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'tmpl-split', namespace: NS },
        spec: {
          parentRefs: [{ name: 'backend-v4', kind: 'Service', group: '', port: 80 }],
          rules: [{ backendRefs: [{ name: 'backend-v4', port: 80, weight: 100 }, { name: 'backend-v2', port: 80, weight: 0 }] }],
        },
      },
    ]);
    const c = demoCanary({ stable: 'backend-v4', canary: 'backend-v2' });
    c.metadata.name = 'tmpl';
    c.spec.routeRef.name = 'tmpl-split';
    c.spec.analysis.metrics = [{ name: 'errors-per-second', templateRef: { name: 'error-rate' }, interval: '10s', thresholdRange: { max: 1 } }];
    await createAll(sb.kubeConfig, [c]);
    const invalid = await waitFor('tmpl', (x) => x.status?.conditions?.some((k) => k.reason === 'InvalidSpec') ?? false, 30_000);
    expect(invalid.status?.conditions?.find((k) => k.type === 'Ready')?.message).toContain('error-rate');
    await createAll(sb.kubeConfig, [
      {
        apiVersion: 'routeshift.io/v1alpha1',
        kind: 'MetricTemplate',
        metadata: { name: 'error-rate', namespace: NS },
        spec: {
          query:
            'sum(rate(istio_requests_total{reporter="destination",destination_service_namespace="{{ namespace }}",destination_service_name="{{ target }}",response_code=~"5.."}[{{ interval }}])) or vector(0)',
        },
      },
    ]);
    const done = await waitFor('tmpl', (x) => x.status?.phase === 'Succeeded');
    expect(done.status?.lastAnalysis?.[0]).toMatchObject({ name: 'errors-per-second', verdict: 'pass' });
  }, 120_000);
});
