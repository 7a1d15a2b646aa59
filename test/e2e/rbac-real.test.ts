/**
 * The controller's least-privilege RBAC, checked by the real authorizer: kube-apiserver with
 * --authorization-mode=RBAC, the controller authenticated as deploy/base's ServiceAccount with a
 * TokenRequest token, bound by exactly deploy/base/rbac.yaml. A rollout runs to the end with no
 * Forbidden answer, and what the Role does not grant is refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../../src/sandbox/seed.js';
import { canaryEvents, CONTROLLER_USER, createAll, newSandbox, routeWeights, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';
import { canaryReferenceGrant } from '../support/reference-grant.js';
import { kubectl, type Kubectl } from '../support/kubectl.js';

let sb: Sandbox;
let controller: ControllerProcess | undefined;
let asController: Kubectl;

beforeAll(async () => {
  // Always the real control plane: the stand-in has no authorizer to check against.
  sb = await newSandbox({ kubernetes: 'real' });
  const dir = join(sb.kubeconfigPath, '..');
  const path = join(dir, 'rbac-kubeconfig');
  await sb.writeControllerKubeconfig(path, 'rbac-probe');
  asController = kubectl(path, dir);
  await createAll(sb.kubeConfig, seedObjects());
  controller = startController(sb);
}, 90_000);

afterAll(async () => {
  await controller?.stop();
  await sb?.stop();
});

const forbidden = (): string[] =>
  sb.api.requestLog
    .entries()
    .filter((e) => e.user === CONTROLLER_USER && (e.code === 401 || e.code === 403))
    .map((e) => `${e.code} ${e.verb} ${e.group}/${e.resource}${e.subresource ? `/${e.subresource}` : ''} ${e.namespace ?? ''}/${e.name ?? ''}`);

describe('deploy/base/rbac.yaml under the real authorizer', () => {
  it('is enough for a whole rollout: no call of the controller is refused', async () => {
    await createAll(sb.kubeConfig, [demoCanary({ interval: '3s' })]);
    const done = await waitForCanary(sb, 'backend', (c) => c.status?.phase === 'Succeeded', 120_000);
    expect(done.status?.canaryWeight).toBe(100);
    // The controller really went through the door with its own identity, and wrote what a rollout writes.
    const calls = new Set(sb.api.requestLog.entries().filter((e) => e.user === CONTROLLER_USER).map((e) => `${e.verb} ${e.resource}${e.subresource ? `/${e.subresource}` : ''}`));
    expect([...calls]).toEqual(expect.arrayContaining(['list canaries', 'watch canaries', 'update canaries/status', 'create events', 'patch httproutes']));
    expect(forbidden()).toEqual([]);
  }, 150_000);

  it.each([
    ['patch', 'httproutes', 'yes'],
    ['update', 'canaries/status', 'yes'],
    ['create', 'events', 'yes'],
    ['delete', 'httproutes', 'no'],
    ['update', 'httproutes', 'no'],
    ['create', 'canaries', 'no'],
    ['update', 'canaries', 'no'],
    ['get', 'secrets', 'no'],
    ['list', 'services', 'no'],
    ['patch', 'deployments', 'no'],
  ])('answers `auth can-i %s %s` with %s', async (verb, resource, answer) => {
    const [plural, sub] = resource.split('/') as [string, string | undefined];
    const r = await asController.run(['auth', 'can-i', verb, plural, ...(sub ? [`--subresource=${sub}`] : []), '-n', NS]);
    expect(r.stdout.trim()).toBe(answer);
  });

  it('grants Secrets by name only, in the controller namespace', async () => {
    expect((await asController.run(['auth', 'can-i', 'get', 'secrets/routeshift-alerts', '-n', 'routeshift-system'])).stdout.trim()).toBe('yes');
    expect((await asController.run(['auth', 'can-i', 'get', 'secrets/other', '-n', 'routeshift-system'])).stdout.trim()).toBe('no');
    expect((await asController.run(['auth', 'can-i', 'get', 'secrets/routeshift-alerts', '-n', NS])).stdout.trim()).toBe('no');
  });

  it('is refused by the API server, not by the client, for a call outside the Role', async () => {
    const custom = sb.kubeConfig.makeApiClient(CustomObjectsApi);
    expect(await custom.listNamespacedCustomObject({ group: 'routeshift.io', version: 'v1alpha1', namespace: NS, plural: 'canaries' })).toBeDefined();
    const r = await asController.run(['delete', 'httproute', 'backend-split', '-n', NS]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Forbidden.*system:serviceaccount:routeshift-system:routeshift.*cannot delete resource "httproutes"/);
  });
});

const TEAM_A = 'team-a';

/** A tenant: a ServiceAccount in team-a whose only grant is Canaries in team-a, with a kubectl of its own. */
async function tenant(): Promise<Kubectl> {
  await createAll(sb.kubeConfig, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TEAM_A } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'alice', namespace: TEAM_A } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'canary-author', namespace: TEAM_A },
      rules: [{ apiGroups: ['routeshift.io'], resources: ['canaries'], verbs: ['create', 'get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'alice-canary-author', namespace: TEAM_A },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'canary-author' },
      subjects: [{ kind: 'ServiceAccount', name: 'alice', namespace: TEAM_A }],
    },
  ]);
  const answer = await sb.kubeConfig.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
    namespace: TEAM_A,
    name: 'alice',
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const dir = join(sb.kubeconfigPath, '..');
  const path = join(dir, 'alice-kubeconfig');
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: sb.api.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'alice', user: { token: answer.status?.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'alice', namespace: TEAM_A } }],
      'current-context': 'c',
    }),
  );
  return kubectl(path, join(dir, 'alice'));
}

describe('a tenant who may only create Canaries in team-a', () => {
  it("cannot move another namespace's route weights, until that namespace grants it", async () => {
    const alice = await tenant();
    const before = await routeWeights(sb);
    // Directly: the API server refuses.
    const direct = await alice.run(['patch', 'httproute', 'backend-split', '-n', NS, '--type=json', '-p', '[{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":50}]']);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toMatch(/Forbidden.*system:serviceaccount:team-a:alice.*httproutes/);
    // Through a Canary, borrowing the controller's ClusterRole: routeshift refuses without a grant.
    // The first test promoted backend-v2: it is the stable side now.
    const c: Canary = demoCanary({ stable: 'backend-v2', canary: 'backend-v1', stepWeights: [25, 50], interval: '3s' });
    c.metadata = { name: 'xns', namespace: TEAM_A };
    c.spec.routeRef = { name: 'backend-split', namespace: NS };
    await alice.ok(['apply', '-f', '-'], JSON.stringify(c));
    const refused = await waitForCanary(sb, 'xns', (x) => x.status?.phase === 'Invalid', 60_000, TEAM_A);
    expect(refused.status?.conditions?.find((k) => k.type === 'Ready')?.reason).toBe('RefNotPermitted');
    expect((await canaryEvents(sb, 'xns', TEAM_A)).map((e) => e.reason)).toEqual(['RefNotPermitted']);
    expect(await routeWeights(sb)).toEqual(before);
    // The route's owners grant it: the rollout goes on without an edit of the Canary.
    await createAll(sb.kubeConfig, [canaryReferenceGrant(NS, TEAM_A, 'backend-split')]);
    await waitForCanary(sb, 'xns', (x) => (x.status?.canaryWeight ?? 0) >= 25, 60_000, TEAM_A);
    expect((await routeWeights(sb))['backend-v1']).toBeGreaterThanOrEqual(25);
    expect(forbidden()).toEqual([]);
  }, 150_000);
});
