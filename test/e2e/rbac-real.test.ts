/**
 * The controller's least-privilege RBAC, checked by the real authorizer: kube-apiserver with
 * --authorization-mode=RBAC, the controller authenticated as deploy/base's ServiceAccount with a
 * TokenRequest token, bound by exactly deploy/base/rbac.yaml. A rollout runs to the end with no
 * Forbidden answer, and what the Role does not grant is refused.
 */
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, NS, seedObjects } from '../../src/sandbox/seed.js';
import { CONTROLLER_USER, createAll, newSandbox, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';
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
