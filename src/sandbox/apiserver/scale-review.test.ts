import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiServer, type ApiServer } from './index.js';
import { call } from './testing.js';

const DEPLOYS = '/apis/apps/v1/namespaces/team/deployments';
const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web' },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
};

describe('scale subresource and SelfSubjectAccessReview', () => {
  let server: ApiServer;
  let base: string;

  beforeAll(async () => {
    server = await startApiServer();
    base = server.url;
    expect((await call(base, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } })).status).toBe(201);
    expect((await call(base, 'POST', DEPLOYS, deployment)).status).toBe(201);
  });

  afterAll(async () => {
    await server.stop();
  });

  it('shows a Deployment as an autoscaling/v1 Scale', async () => {
    const r = await call(base, 'GET', `${DEPLOYS}/web/scale`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'web', namespace: 'team' }, spec: { replicas: 2 }, status: { replicas: 0, selector: 'app=web' } });
  });

  it('writes replicas through a merge patch and a PUT, moving generation and refusing a stale resourceVersion', async () => {
    const patched = await call(base, 'PATCH', `${DEPLOYS}/web/scale`, { spec: { replicas: 3 } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(patched.status).toBe(200);
    expect(patched.body.spec).toEqual({ replicas: 3 });
    const d = await call(base, 'GET', `${DEPLOYS}/web`);
    expect(d.body.spec.replicas).toBe(3);
    expect(d.body.metadata.generation).toBe(2);
    const scale = (await call(base, 'GET', `${DEPLOYS}/web/scale`)).body;
    const put = await call(base, 'PUT', `${DEPLOYS}/web/scale`, { ...scale, spec: { replicas: 1 } });
    expect(put.status).toBe(200);
    expect(put.body.spec.replicas).toBe(1);
    const stale = await call(base, 'PUT', `${DEPLOYS}/web/scale`, { ...scale, spec: { replicas: 4 } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe('Conflict');
  });

  it('refuses negative replicas with 422 and a missing Deployment with 404', async () => {
    const neg = await call(base, 'PATCH', `${DEPLOYS}/web/scale`, { spec: { replicas: -1 } }, { 'Content-Type': 'application/merge-patch+json' });
    expect(neg.status).toBe(422);
    expect(neg.body.message).toBe('Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    const missing = await call(base, 'GET', `${DEPLOYS}/nope/scale`);
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('deployments.apps "nope" not found');
  });

  it('lists deployments/scale in discovery', async () => {
    const r = await call(base, 'GET', '/apis/apps/v1');
    expect(r.body.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'deployments/scale', kind: 'Scale', group: 'autoscaling', version: 'v1' })]));
  });

  it('answers every SelfSubjectAccessReview allowed, stores none, and serves no other verb', async () => {
    const body = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'team', verb: 'patch', group: 'gateway.networking.k8s.io', resource: 'httproutes' } } };
    const r = await call(base, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', body);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ kind: 'SelfSubjectAccessReview', spec: body.spec, status: { allowed: true } });
    expect((await call(base, 'GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status).toBe(405);
    const empty = await call(base, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { ...body, spec: {} });
    expect(empty.status).toBe(422);
  });

  it('answers a SelfSubjectRulesReview with one allow-everything rule', async () => {
    const r = await call(base, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'team' } });
    expect(r.status).toBe(201);
    expect(r.body.status).toEqual({
      resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
      incomplete: false,
    });
  });
});
