/**
 * The three traffic shapes (docs/traffic-shapes.md) on the real control plane and the sandbox mesh: an A/B test
 * by header, session affinity by cookie, and mirroring first, each with a good canary promoted and a bad one
 * (every answer 503) rolled back, side by side on their own routes. One sandbox for the file; needs a build.
 */
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { AnalysisSpec, Canary } from '../../src/api/canary.js';
import { serviceHost } from '../../src/sandbox/mesh/host.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { echoDeployment, NS, service } from '../../src/sandbox/seed.js';
import { canaryEvents, createAll, sandboxWithController, stopAll, waitForCanary, type ControllerProcess } from '../support/harness.js';
import { MeshUser, steadyUsers } from '../support/mesh-client.js';
import { waitUntil } from '../support/wait.js';

let sb: Sandbox;
let controller: ControllerProcess;

type Rule = { name?: string; matches?: unknown[]; filters?: unknown[]; backendRefs: Array<{ name: string; port: number; weight?: number; filters?: unknown[] }> };

const pair = (canary: string): Rule['backendRefs'] => [
  { name: 'backend-v1', port: 80, weight: 100 },
  { name: canary, port: 80, weight: 0 },
];

/** A route whose parent is its own root Service (so the built-in load sends it traffic), and that Service. */
function routeObjects(name: string, rules: Rule[]): object[] {
  return [
    service(name, { app: 'backend', version: 'v1' }),
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name, namespace: NS },
      spec: { parentRefs: [{ name, kind: 'Service', group: '', port: 80 }], rules },
    },
  ];
}

function canary(name: string, canaryService: string, analysis: Partial<AnalysisSpec>): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace: NS },
    spec: {
      routeRef: { name, rule: 'main' },
      stable: { name: 'backend-v1', port: 80 },
      canary: { name: canaryService, port: 80 },
      provider: 'istio',
      analysis: { interval: '5s', threshold: 2, metrics: [{ name: 'request-success-rate', interval: '10s', thresholdRange: { min: 99 } }], ...analysis },
    },
  };
}

/** Rule name -> backendRef name -> weight; and each rule's filters. */
async function readRoute(name: string): Promise<{ weights: Record<string, Record<string, number>>; rules: Rule[] }> {
  const api = sb.kubeConfig.makeApiClient(CustomObjectsApi);
  const r = (await api.getNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: NS, plural: 'httproutes', name })) as { spec: { rules: Rule[] } };
  const weights = Object.fromEntries(r.spec.rules.map((rule, i) => [rule.name ?? String(i), Object.fromEntries(rule.backendRefs.map((b) => [b.name, b.weight ?? 1]))]));
  return { weights, rules: r.spec.rules };
}

async function routeIs(name: string, want: Record<string, Record<string, number>>): Promise<void> {
  let last: unknown;
  await waitUntil(`${name} at ${JSON.stringify(want)} (last ${JSON.stringify(last)})`, async () => {
    last = (await readRoute(name)).weights;
    return JSON.stringify(last) === JSON.stringify(want);
  }, 10_000);
}

const mirrorPercent = async (name: string): Promise<number | undefined> =>
  ((await readRoute(name)).rules.find((r) => r.name === 'main')?.filters?.[0] as { requestMirror?: { percent?: number } } | undefined)?.requestMirror?.percent;
const waitFor = (name: string, pred: (c: Canary) => boolean) => waitForCanary(sb, name, pred, 120_000);
const messages = async (name: string, reason: string) => (await canaryEvents(sb, name)).filter((e) => e.reason === reason).map((e) => e.message);
const host = (name: string) => serviceHost(name, NS);

beforeAll(async () => {
  ({ sb, controller } = await sandboxWithController({ rps: 60 }));
  await createAll(sb.kubeConfig, [
    echoDeployment('v1', { replicas: 1 }),
    echoDeployment('v2', { replicas: 1 }),
    echoDeployment('v3', { replicas: 1, statusCode: 503 }),
    service('backend-v1', { app: 'backend', version: 'v1' }),
    service('backend-v2', { app: 'backend', version: 'v2' }),
    service('backend-v3', { app: 'backend', version: 'v3' }),
  ]);
}, 120_000);

afterAll(async () => {
  await stopAll(controller, sb);
});

describe('traffic shapes on the sandbox', () => {
  it('A/B by header: flips the testers rule, promotes a good canary after its iterations, rolls a bad one back', async () => {
    const testers = (c: string): Rule => ({ name: 'testers', matches: [{ headers: [{ name: 'x-canary', value: 'insider' }] }], backendRefs: pair(c) });
    await createAll(sb.kubeConfig, [
      ...routeObjects('ab-good', [testers('backend-v2'), { name: 'main', backendRefs: pair('backend-v2') }]),
      ...routeObjects('ab-bad', [testers('backend-v3'), { name: 'main', backendRefs: pair('backend-v3') }]),
    ]);
    const users = ['ab-good', 'ab-good', 'ab-bad', 'ab-bad'].map((r) => new MeshUser(sb.mesh.url, host(r), { 'x-canary': 'insider' }));
    const traffic = steadyUsers(users, 200);
    try {
      const ab: Partial<AnalysisSpec> = { iterations: 2, matchRule: 'testers', match: [{ headers: [{ name: 'x-canary', value: 'insider' }] }] };
      // A match the route does not have: reported precisely, nothing written.
      const missing = canary('ab-missing', 'backend-v2', { ...ab, matchRule: undefined, match: [{ headers: [{ name: 'x-canary', value: 'never' }] }] });
      missing.spec.routeRef.name = 'ab-good';
      await createAll(sb.kubeConfig, [canary('ab-good', 'backend-v2', ab), canary('ab-bad', 'backend-v3', ab), missing]);

      const testing = await waitFor('ab-good', (c) => c.status?.phase === 'Progressing' && c.status.stepIndex === 0);
      expect(testing.status?.canaryWeight).toBe(0);
      // Status is written before the route (the record of intent): wait for the route to follow.
      await routeIs('ab-good', { testers: { 'backend-v1': 0, 'backend-v2': 100 }, main: { 'backend-v1': 100, 'backend-v2': 0 } });

      const bad = await waitFor('ab-missing', (c) => c.status?.conditions?.some((k) => k.reason === 'RouteMismatch') ?? false);
      expect(bad.status?.conditions?.find((k) => k.type === 'Ready')?.message).toMatch(/no rule of HTTPRoute istio-test\/ab-good matches header x-canary = "never"/);
      expect((await messages('ab-missing', 'RouteMismatch'))[0]).toMatch(/\(weights left untouched\)$/);

      const done = await waitFor('ab-good', (c) => c.status?.phase === 'Succeeded');
      expect(done.status?.lastAnalysis?.[0]?.verdict).toBe('pass');
      expect((await readRoute('ab-good')).weights).toEqual({ testers: { 'backend-v1': 0, 'backend-v2': 100 }, main: { 'backend-v1': 0, 'backend-v2': 100 } });
      expect((await messages('ab-good', 'WeightAdvanced')).join('\n')).toMatch(/A\/B iteration 2\/2: request-success-rate/);

      const failed = await waitFor('ab-bad', (c) => c.status?.phase === 'Failed');
      expect(failed.status?.lastAnalysis?.[0]?.verdict).toBe('fail');
      expect((await readRoute('ab-bad')).weights).toEqual({ testers: { 'backend-v1': 100, 'backend-v3': 0 }, main: { 'backend-v1': 100, 'backend-v3': 0 } });
      // Only the testers met the bad canary: the weighted rule never moved.
      expect(users.slice(2).some((u) => u.backends.includes('backend-v3'))).toBe(true);
      expect((await messages('ab-bad', 'WeightAdvanced')).every((m) => !/weight 0 -> [1-9]/.test(m))).toBe(true);
    } finally {
      await traffic.stop();
    }
  }, 180_000);

  it('session affinity by cookie: a user who reached the canary stays on it; a rollback sends cookie holders back', async () => {
    const sticky = (c: string): Rule => ({
      name: 'sticky',
      matches: [{ headers: [{ name: 'cookie', type: 'RegularExpression', value: '(.*;\\s*)?canary-session=.*' }] }],
      backendRefs: pair(c),
    });
    const main = (c: string): Rule => {
      const refs = pair(c);
      (refs[1] as { filters?: unknown[] }).filters = [
        { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: 'canary-session=1; Max-Age=600; Path=/' }] } },
      ];
      return { name: 'main', backendRefs: refs };
    };
    await createAll(sb.kubeConfig, [...routeObjects('sa-good', [sticky('backend-v2'), main('backend-v2')]), ...routeObjects('sa-bad', [sticky('backend-v3'), main('backend-v3')])]);
    const good = Array.from({ length: 6 }, () => new MeshUser(sb.mesh.url, host('sa-good')));
    const badUsers = Array.from({ length: 6 }, () => new MeshUser(sb.mesh.url, host('sa-bad')));
    const traffic = steadyUsers([...good, ...badUsers], 300);
    try {
      const sa: Partial<AnalysisSpec> = { stepWeights: [20, 50], sessionAffinity: { cookieName: 'canary-session', maxAge: 600, rule: 'sticky' } };
      await createAll(sb.kubeConfig, [canary('sa-good', 'backend-v2', sa), canary('sa-bad', 'backend-v3', sa)]);

      await waitFor('sa-good', (c) => c.status?.phase === 'Progressing' && c.status.canaryWeight === 20);
      await routeIs('sa-good', { sticky: { 'backend-v1': 0, 'backend-v2': 100 }, main: { 'backend-v1': 80, 'backend-v2': 20 } });
      await waitFor('sa-good', (c) => c.status?.phase === 'Succeeded');
      const holders = good.filter((u) => u.jar.has('canary-session'));
      expect(holders.length).toBeGreaterThan(0);
      for (const u of holders) {
        // From its first answer from the canary on, every answer came from the canary.
        const from = u.backends.indexOf('backend-v2');
        expect(u.backends.slice(from)).toEqual(u.backends.slice(from).map(() => 'backend-v2'));
      }
      // And some users met the stable first: the weight, not the cookie, chose their first backend.
      expect(good.some((u) => u.backends[0] === 'backend-v1')).toBe(true);

      const failed = await waitFor('sa-bad', (c) => c.status?.phase === 'Failed');
      expect(failed.status?.lastAnalysis?.[0]?.verdict).toBe('fail');
      expect((await readRoute('sa-bad')).weights).toEqual({ sticky: { 'backend-v1': 100, 'backend-v3': 0 }, main: { 'backend-v1': 100, 'backend-v3': 0 } });
      const stuck = badUsers.filter((u) => u.jar.has('canary-session'));
      expect(stuck.length).toBeGreaterThan(0);
      await waitUntil('cookie holders answered by the stable after the rollback', () => stuck.every((u) => u.backends.at(-1) === 'backend-v1'), 15_000);
    } finally {
      await traffic.stop();
    }
  }, 180_000);

  it('mirror first: judges copies before any user reaches the canary; a bad canary never gets a weight', async () => {
    const main = (c: string): Rule => ({
      name: 'main',
      filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: c, port: 80 }, percent: 0 } }],
      backendRefs: pair(c),
    });
    await createAll(sb.kubeConfig, [...routeObjects('mirror-good', [main('backend-v2')]), ...routeObjects('mirror-bad', [main('backend-v3')])]);
    const mirror: Partial<AnalysisSpec> = { iterations: 2, mirror: true, mirrorWeight: 100, stepWeights: [50] };
    await createAll(sb.kubeConfig, [canary('mirror-good', 'backend-v2', mirror), canary('mirror-bad', 'backend-v3', mirror)]);

    await waitFor('mirror-good', (c) => c.status?.phase === 'Progressing' && c.status.stepIndex === 0);
    await waitUntil('mirror-good mirroring every request', async () => (await mirrorPercent('mirror-good')) === 100, 10_000);
    expect((await readRoute('mirror-good')).weights['main']).toEqual({ 'backend-v1': 100, 'backend-v2': 0 });
    const stepped = await waitFor('mirror-good', (c) => c.status?.canaryWeight === 50);
    expect(stepped.status?.lastAnalysis?.[0]?.verdict).toBe('pass');
    await routeIs('mirror-good', { main: { 'backend-v1': 50, 'backend-v2': 50 } });
    expect(await mirrorPercent('mirror-good')).toBe(0);
    await waitFor('mirror-good', (c) => c.status?.phase === 'Succeeded');
    expect((await readRoute('mirror-good')).weights['main']).toEqual({ 'backend-v1': 0, 'backend-v2': 100 });
    const moves = await messages('mirror-good', 'WeightAdvanced');
    expect(moves.join('\n')).toMatch(/Mirroring to the canary, mirror iteration 2\/2: request-success-rate/);
    expect(moves.join('\n')).toMatch(/Advanced canary weight 0 -> 50/);

    const failed = await waitFor('mirror-bad', (c) => c.status?.phase === 'Failed');
    // Judged on the mirrored copies (every one a 503), with the weighted rule still at canary 0.
    expect(failed.status?.lastAnalysis?.[0]).toMatchObject({ verdict: 'fail', value: 0 });
    expect(await mirrorPercent('mirror-bad')).toBe(0);
    expect((await readRoute('mirror-bad')).weights['main']).toEqual({ 'backend-v1': 100, 'backend-v3': 0 });
    expect((await messages('mirror-bad', 'WeightAdvanced')).every((m) => !/weight 0 -> [1-9]/.test(m))).toBe(true);
  }, 180_000);
});
