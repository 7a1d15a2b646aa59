import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from './index.js';
import { call, eventually, openWatch } from './testing.js';

const CANARIES = '/apis/routeshift.io/v1alpha1/namespaces/team/canaries';

function canary(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name, labels: { app: name } },
    spec: {
      routeRef: { name: 'backend-split' },
      stable: { name: 'backend-v1', port: 80 },
      canary: { name: 'backend-v2', port: 80 },
      analysis: { interval: '30s', threshold: 3 },
    },
    ...extra,
  };
}

const MERGE = { 'Content-Type': 'application/merge-patch+json' };

describe('sandbox API server over HTTP', () => {
  let server: ApiServer;
  let base: string;

  beforeAll(async () => {
    server = await startApiServer({ crdFiles: ['deploy/crds/canary.yaml'], bookmarkIntervalMs: 50, historyLimit: 20, namespaceDeletionDelayMs: 100 });
    base = server.url;
    expect((await call(base, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } })).status).toBe(201);
  });

  afterAll(async () => {
    await server.stop();
  });

  describe('discovery and OpenAPI', () => {
    it('reports version 1.32 and health', async () => {
      const v = await call(base, 'GET', '/version');
      expect(v.body).toMatchObject({ major: '1', minor: '32' });
      expect(v.body.gitVersion).toMatch(/^v1\.32\./);
      for (const p of ['/healthz', '/readyz', '/livez']) expect((await call(base, 'GET', p)).body).toBe('ok');
    });

    it('serves plain and aggregated discovery, including installed CRDs with their status subresource', async () => {
      const plain = await call(base, 'GET', '/apis');
      expect(plain.body.kind).toBe('APIGroupList');
      expect(plain.body.groups.map((g: { name: string }) => g.name)).toEqual(expect.arrayContaining(['apps', 'routeshift.io', 'coordination.k8s.io']));
      const agg = await call(base, 'GET', '/apis', undefined, {
        Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
      });
      expect(agg.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
      const rs = agg.body.items.find((i: { metadata: { name: string } }) => i.metadata.name === 'routeshift.io');
      const canaries = rs.versions[0].resources.find((r: { resource: string }) => r.resource === 'canaries');
      expect(canaries).toMatchObject({ scope: 'Namespaced', singularResource: 'canary', shortNames: ['rsc'], categories: ['routeshift'] });
      expect(canaries.subresources[0].subresource).toBe('status');
      const core = await call(base, 'GET', '/api', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' });
      expect(core.body.items[0].versions[0].resources.map((r: { resource: string }) => r.resource)).toContain('services');
      const list = await call(base, 'GET', '/apis/apps/v1');
      expect(list.body.resources.map((r: { name: string }) => r.name)).toEqual(['deployments', 'deployments/status', 'deployments/scale']);
    });

    it('serves OpenAPI v3 group-version documents with a PATCH operation kubectl can check for fieldValidation', async () => {
      const root = await call(base, 'GET', '/openapi/v3');
      const ref = root.body.paths['apis/routeshift.io/v1alpha1'].serverRelativeURL as string;
      expect(ref).toMatch(/^\/openapi\/v3\/apis\/routeshift\.io\/v1alpha1\?hash=[0-9A-F]+$/);
      const doc = await call(base, 'GET', ref);
      const patch = doc.body.paths['/apis/routeshift.io/v1alpha1/namespaces/{namespace}/canaries/{name}'].patch;
      expect(patch['x-kubernetes-group-version-kind']).toEqual({ group: 'routeshift.io', version: 'v1alpha1', kind: 'Canary' });
      expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
      expect(doc.body.components.schemas['io.routeshift.v1alpha1.Canary'].properties.spec.required).toEqual(['routeRef', 'stable', 'canary', 'analysis']);
      expect((await call(base, 'GET', '/openapi/v2')).status).toBe(404);
    });
  });

  describe('writes and their errors', () => {
    it('creates with uid/resourceVersion/creationTimestamp/generation and refuses duplicates with 409 AlreadyExists', async () => {
      const created = await call(base, 'POST', CANARIES, canary('a'));
      expect(created.status).toBe(201);
      expect(created.body.metadata).toMatchObject({ name: 'a', namespace: 'team', generation: 1 });
      expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number(created.body.metadata.resourceVersion)).toBeGreaterThan(0);
      expect(created.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const dup = await call(base, 'POST', CANARIES, canary('a'));
      expect(dup.status).toBe(409);
      expect(dup.body).toMatchObject({ kind: 'Status', reason: 'AlreadyExists', code: 409, message: 'canaries.routeshift.io "a" already exists' });
    });

    it('answers 404 with proper Status bodies', async () => {
      const missing = await call(base, 'GET', `${CANARIES}/nope`);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'canaries.routeshift.io "nope" not found', details: { name: 'nope', group: 'routeshift.io', kind: 'canaries' } });
      const noNs = await call(base, 'POST', '/api/v1/namespaces/ghost/configmaps', { metadata: { name: 'c' } });
      expect(noNs.status).toBe(404);
      expect(noNs.body.message).toBe('namespaces "ghost" not found');
      expect((await call(base, 'GET', '/apis/nope.io/v1/things')).status).toBe(404);
    });

    it('answers a stale resourceVersion with 409 Conflict worded like the real server', async () => {
      const cur = (await call(base, 'GET', `${CANARIES}/a`)).body;
      const stale = structuredClone(cur);
      cur.spec.analysis.threshold = 4;
      const ok = await call(base, 'PUT', `${CANARIES}/a`, cur);
      expect(ok.status).toBe(200);
      expect(ok.body.metadata.generation).toBe(2);
      stale.spec.analysis.threshold = 5;
      const conflict = await call(base, 'PUT', `${CANARIES}/a`, stale);
      expect(conflict.status).toBe(409);
      expect(conflict.body).toMatchObject({
        reason: 'Conflict',
        message: 'Operation cannot be fulfilled on canaries.routeshift.io "a": the object has been modified; please apply your changes to the latest version and try again',
      });
      const patchConflict = await call(base, 'PATCH', `${CANARIES}/a`, { metadata: { resourceVersion: stale.metadata.resourceVersion }, spec: { suspend: true } }, MERGE);
      expect(patchConflict.status).toBe(409);
    });

    it('answers schema errors with 422 Invalid naming the field in details.causes', async () => {
      const bad = canary('bad');
      (bad['spec'] as { stable: { port: number } }).stable.port = 70000;
      const r = await call(base, 'POST', CANARIES, bad);
      expect(r.status).toBe(422);
      expect(r.body.reason).toBe('Invalid');
      expect(r.body.message).toBe('Canary.routeshift.io "bad" is invalid: spec.stable.port: Invalid value: 70000: spec.stable.port in body should be less than or equal to 65535');
      expect(r.body.details.causes).toEqual([
        { reason: 'FieldValueInvalid', field: 'spec.stable.port', message: 'Invalid value: 70000: spec.stable.port in body should be less than or equal to 65535' },
      ]);
      const badPatch = await call(base, 'PATCH', `${CANARIES}/a`, { spec: { analysis: { interval: 'soon' } } }, MERGE);
      expect(badPatch.status).toBe(422);
      expect(badPatch.body.details.causes[0].field).toBe('spec.analysis.interval');
    });

    it('rejects unknown fields under fieldValidation=Strict (400) and warns under the default', async () => {
      const body = canary('strict');
      (body['spec'] as Record<string, unknown>)['foo'] = 1;
      const strict = await call(base, 'POST', `${CANARIES}?fieldValidation=Strict`, body);
      expect(strict.status).toBe(400);
      expect(strict.body.message).toContain('strict decoding error: unknown field "spec.foo"');
      const warn = await call(base, 'POST', CANARIES, body);
      expect(warn.status).toBe(201);
      expect(warn.headers['warning']).toBe('299 - "unknown field \\"spec.foo\\""');
      expect(warn.body.spec.foo).toBeUndefined();
    });

    it('refuses strategic merge patch on custom resources (415) and accepts it on built-ins', async () => {
      const smp = await call(base, 'PATCH', `${CANARIES}/a`, { spec: { suspend: true } }, { 'Content-Type': 'application/strategic-merge-patch+json' });
      expect(smp.status).toBe(415);
      expect(smp.body.reason).toBe('UnsupportedMediaType');
      const weird = await call(base, 'PATCH', `${CANARIES}/a`, { spec: {} }, { 'Content-Type': 'text/plain' });
      expect(weird.status).toBe(415);
    });

    it('supports generateName', async () => {
      const r = await call(base, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { generateName: 'cfg-' }, data: { a: '1' } });
      expect(r.status).toBe(201);
      expect(r.body.metadata.name).toMatch(/^cfg-[a-z0-9]{5}$/);
    });

    it('validates names', async () => {
      const r = await call(base, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'Bad_Name' } });
      expect(r.status).toBe(422);
      expect(r.body.details.causes[0].field).toBe('metadata.name');
    });

    it('applies server-side apply patches: creates when missing, merges when present', async () => {
      const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  a: "1"\n';
      const created = await call(base, 'PATCH', '/api/v1/namespaces/team/configmaps/ssa?fieldManager=kubectl&force=false', yaml, { 'Content-Type': 'application/apply-patch+yaml' });
      expect(created.status).toBe(201);
      const merged = await call(base, 'PATCH', '/api/v1/namespaces/team/configmaps/ssa?fieldManager=other', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  b: "2"\n', {
        'Content-Type': 'application/apply-patch+yaml',
      });
      expect(merged.body.data).toEqual({ a: '1', b: '2' });
    });
  });

  describe('status subresource and generation', () => {
    it('keeps status out of main-resource writes and spec out of status writes', async () => {
      const created = await call(base, 'POST', CANARIES, canary('st', { status: { phase: 'Ignored' } }));
      expect(created.body.status).toBeUndefined();
      const s1 = await call(base, 'PATCH', `${CANARIES}/st/status`, { status: { phase: 'Progressing', canaryWeight: 10 }, spec: { suspend: true } }, MERGE);
      expect(s1.status).toBe(200);
      expect(s1.body.status).toEqual({ phase: 'Progressing', canaryWeight: 10 });
      expect(s1.body.spec.suspend).toBeUndefined();
      expect(s1.body.metadata.generation).toBe(1);
      const main = await call(base, 'PATCH', `${CANARIES}/st`, { status: { phase: 'Hacked' }, spec: { suspend: true } }, MERGE);
      expect(main.body.status.phase).toBe('Progressing');
      expect(main.body.spec.suspend).toBe(true);
      expect(main.body.metadata.generation).toBe(2);
      const labelsOnly = await call(base, 'PATCH', `${CANARIES}/st`, { metadata: { labels: { x: 'y' } } }, MERGE);
      expect(labelsOnly.body.metadata.generation).toBe(2);
      const badStatus = await call(base, 'PATCH', `${CANARIES}/st/status`, { status: { canaryWeight: 'ten' } }, MERGE);
      expect(badStatus.status).toBe(422);
    });

    it('does not bump resourceVersion for a no-op update', async () => {
      const cur = (await call(base, 'GET', `${CANARIES}/st`)).body;
      const again = await call(base, 'PUT', `${CANARIES}/st`, cur);
      expect(again.body.metadata.resourceVersion).toBe(cur.metadata.resourceVersion);
    });

    it('bumps a Deployment generation on spec changes and merges containers by name (strategic merge)', async () => {
      const dep = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'app:1' }, { name: 'side', image: 's:1' }] } } },
      };
      expect((await call(base, 'POST', '/apis/apps/v1/namespaces/team/deployments', dep)).body.spec.replicas).toBe(1);
      const patched = await call(
        base,
        'PATCH',
        '/apis/apps/v1/namespaces/team/deployments/web',
        { spec: { template: { spec: { containers: [{ name: 'app', image: 'app:2' }] } } } },
        { 'Content-Type': 'application/strategic-merge-patch+json' },
      );
      const defaults = { imagePullPolicy: 'IfNotPresent', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' };
      expect(patched.body.spec.template.spec.containers).toEqual([
        { name: 'app', image: 'app:2', ...defaults },
        { name: 'side', image: 's:1', ...defaults },
      ]);
      expect(patched.body.metadata.generation).toBe(2);
      const status = await call(base, 'PATCH', '/apis/apps/v1/namespaces/team/deployments/web/status', { status: { readyReplicas: 1 } }, MERGE);
      expect(status.body.metadata.generation).toBe(2);
      expect(status.body.status.readyReplicas).toBe(1);
    });

    it('assigns Service cluster IPs and keeps them on update', async () => {
      const svc = await call(base, 'POST', '/api/v1/namespaces/team/services', { metadata: { name: 'backend' }, spec: { selector: { app: 'b' }, ports: [{ port: 80 }] } });
      expect(svc.body.spec.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
      expect(svc.body.spec.ports[0]).toEqual({ port: 80, protocol: 'TCP', targetPort: 80 });
      const updated = await call(base, 'PATCH', '/api/v1/namespaces/team/services/backend', { spec: { selector: { app: 'c' } } }, MERGE);
      expect(updated.body.spec.clusterIP).toBe(svc.body.spec.clusterIP);
    });
  });

  describe('lists, selectors and tables', () => {
    it('filters by label and field selectors and lists across namespaces', async () => {
      const byLabel = await call(base, 'GET', `${CANARIES}?labelSelector=${encodeURIComponent('app in (a,st)')}`);
      expect(byLabel.body.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['a', 'st']);
      expect(byLabel.body.metadata.resourceVersion).toMatch(/^\d+$/);
      const byField = await call(base, 'GET', `${CANARIES}?fieldSelector=metadata.name%3Da`);
      expect(byField.body.items).toHaveLength(1);
      const all = await call(base, 'GET', '/apis/routeshift.io/v1alpha1/canaries');
      expect(all.body.kind).toBe('CanaryList');
      expect(all.body.items.length).toBeGreaterThanOrEqual(3);
      expect((await call(base, 'GET', `${CANARIES}?fieldSelector=spec.x%3D1`)).status).toBe(400);
    });

    it('answers as=Table with CRD printer columns (priority kept, dates as ages) and PartialObjectMetadata rows', async () => {
      await call(base, 'PATCH', `${CANARIES}/st/status`, { status: { phase: 'Progressing', canaryWeight: 10, failedChecks: 0 } }, MERGE);
      const t = await call(base, 'GET', `${CANARIES}/st`, undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
      expect(t.body.kind).toBe('Table');
      expect(t.body.columnDefinitions.map((c: { name: string; priority: number }) => `${c.name}:${c.priority}`)).toEqual([
        'Name:0',
        'Phase:0',
        'Weight:0',
        'Step:1',
        'Failed:0',
        'Route:1',
        'Message:1',
        'Age:0',
      ]);
      const cells = t.body.rows[0].cells;
      expect(cells.slice(0, 7)).toEqual(['st', 'Progressing', 10, null, 0, 'backend-split', null]);
      expect(cells[7]).toMatch(/^\d+s$/);
      expect(t.body.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'st', namespace: 'team' } });
      const svc = await call(base, 'GET', '/api/v1/namespaces/team/services', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
      expect(svc.body.columnDefinitions.map((c: { name: string }) => c.name).slice(0, 5)).toEqual(['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)']);
      expect(svc.body.rows[0].cells[4]).toBe('80/TCP');
    });

    it('deletes collections by label selector', async () => {
      await call(base, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'gone-1', labels: { batch: 'x' } } });
      await call(base, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'gone-2', labels: { batch: 'x' } } });
      const r = await call(base, 'DELETE', '/api/v1/namespaces/team/configmaps?labelSelector=batch%3Dx');
      expect(r.body.items).toHaveLength(2);
      expect((await call(base, 'GET', '/api/v1/namespaces/team/configmaps/gone-1')).status).toBe(404);
    });

    it('serves events through core/v1 and events.k8s.io/v1 from one storage', async () => {
      await call(base, 'POST', '/apis/events.k8s.io/v1/namespaces/team/events', {
        metadata: { name: 'ev1' },
        regarding: { kind: 'Canary', name: 'a', namespace: 'team' },
        note: 'hello',
        reason: 'Synced',
        type: 'Normal',
        eventTime: '2026-01-01T00:00:00.5Z',
        reportingController: 'routeshift',
        reportingInstance: 'r-1',
        action: 'Sync',
      });
      const core = await call(base, 'GET', '/api/v1/namespaces/team/events?fieldSelector=involvedObject.name%3Da,reason%3DSynced');
      expect(core.body.items).toHaveLength(1);
      expect(core.body.items[0]).toMatchObject({ message: 'hello', involvedObject: { kind: 'Canary', name: 'a' }, eventTime: '2026-01-01T00:00:00.500000Z' });
    });
  });

  describe('delete semantics', () => {
    it('returns the object and emits DELETED; finalizers delay deletion until cleared', async () => {
      await call(base, 'POST', CANARIES, canary('fin', { metadata: { name: 'fin', finalizers: ['routeshift.io/cleanup'] } }));
      const w = await openWatch(base, `${CANARIES}?watch=true&fieldSelector=metadata.name%3Dfin&resourceVersion=${(await call(base, 'GET', `${CANARIES}/fin`)).body.metadata.resourceVersion}`);
      const del = await call(base, 'DELETE', `${CANARIES}/fin`);
      expect(del.status).toBe(200);
      expect(del.body.metadata.deletionTimestamp).toBeDefined();
      expect((await call(base, 'GET', `${CANARIES}/fin`)).status).toBe(200);
      await call(base, 'PATCH', `${CANARIES}/fin`, { metadata: { finalizers: null } }, MERGE);
      expect((await call(base, 'GET', `${CANARIES}/fin`)).status).toBe(404);
      const deleted = await w.next((e) => e.type === 'DELETED');
      expect(deleted.object.metadata.name).toBe('fin');
      w.close();
    });

    it('garbage-collects dependents whose owners are gone, unless orphaned', async () => {
      const owner = (await call(base, 'POST', CANARIES, canary('owner'))).body;
      const ref = { apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', name: 'owner', uid: owner.metadata.uid };
      await call(base, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'owned', ownerReferences: [ref] } });
      await call(base, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'co-owned', ownerReferences: [ref, { ...ref, name: 'a', uid: (await call(base, 'GET', `${CANARIES}/a`)).body.metadata.uid }] } });
      await call(base, 'DELETE', `${CANARIES}/owner`);
      expect((await call(base, 'GET', '/api/v1/namespaces/team/configmaps/owned')).status).toBe(404);
      expect((await call(base, 'GET', '/api/v1/namespaces/team/configmaps/co-owned')).status).toBe(200);

      const owner2 = (await call(base, 'POST', CANARIES, canary('owner2'))).body;
      await call(base, 'POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'orphan', ownerReferences: [{ ...ref, name: 'owner2', uid: owner2.metadata.uid }] } });
      await call(base, 'DELETE', `${CANARIES}/owner2?propagationPolicy=Orphan`);
      expect((await call(base, 'GET', '/api/v1/namespaces/team/configmaps/orphan')).status).toBe(200);
    });

    it('deleting a namespace deletes its objects; deleting a CRD removes its resource', async () => {
      await call(base, 'POST', '/api/v1/namespaces', { metadata: { name: 'doomed' } });
      await call(base, 'POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'c' } });
      const del = await call(base, 'DELETE', '/api/v1/namespaces/doomed');
      expect(del.status).toBe(200);
      expect(del.body.status.phase).toBe('Terminating');
      // content stays deletable for a moment (kubectl delete -f dir/), new content is refused
      expect((await call(base, 'POST', '/api/v1/namespaces/doomed/configmaps', { metadata: { name: 'late' } })).status).toBe(403);
      await eventually(async () => (await call(base, 'GET', '/api/v1/namespaces/doomed')).status === 404, 5000, 'namespace gone');
      expect((await call(base, 'GET', '/api/v1/namespaces/doomed/configmaps/c')).status).toBe(404);

      const crd = {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.io' },
        spec: {
          group: 'example.io',
          names: { kind: 'Widget', plural: 'widgets' },
          scope: 'Cluster',
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', default: 3 } } } } } } }],
        },
      };
      const created = await call(base, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
      expect(created.body.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual(['NamesAccepted=True', 'Established=True']);
      expect(created.body.status.acceptedNames).toMatchObject({ kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' });
      const w = await call(base, 'POST', '/apis/example.io/v1/widgets', { apiVersion: 'example.io/v1', kind: 'Widget', metadata: { name: 'w' }, spec: {} });
      expect(w.body.spec.size).toBe(3);
      await call(base, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.io');
      expect((await call(base, 'GET', '/apis/example.io/v1/widgets')).status).toBe(404);
    });
  });

  describe('watch', () => {
    it('streams ADDED/MODIFIED/DELETED from a resourceVersion, with selector transitions', async () => {
      const rv = (await call(base, 'GET', CANARIES)).body.metadata.resourceVersion;
      const w = await openWatch(base, `${CANARIES}?watch=true&resourceVersion=${rv}&labelSelector=tier%3Dgold`);
      expect(w.status).toBe(200);
      await call(base, 'POST', CANARIES, { ...canary('w1'), metadata: { name: 'w1', labels: { tier: 'gold' } } });
      await call(base, 'PATCH', `${CANARIES}/w1`, { spec: { suspend: true } }, MERGE);
      await call(base, 'PATCH', `${CANARIES}/w1`, { metadata: { labels: { tier: 'silver' } } }, MERGE);
      await call(base, 'PATCH', `${CANARIES}/a`, { metadata: { labels: { tier: 'gold' } } }, MERGE);
      await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'a');
      expect(w.events.map((e) => `${e.type}:${e.object.metadata.name}`)).toEqual(['ADDED:w1', 'MODIFIED:w1', 'DELETED:w1', 'ADDED:a']);
      w.close();
    });

    it('sends synthetic ADDED events first when no resourceVersion is given, and ends at timeoutSeconds', async () => {
      const w = await openWatch(base, `${CANARIES}?watch=1&fieldSelector=metadata.name%3Da&timeoutSeconds=1`);
      await w.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'a');
      await w.ended;
      expect(w.events.map((e) => e.type)).toEqual(['ADDED']);
    });

    it('sends BOOKMARK events when asked', async () => {
      const rv = (await call(base, 'GET', CANARIES)).body.metadata.resourceVersion;
      const w = await openWatch(base, `${CANARIES}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`);
      const bm = await w.next((e) => e.type === 'BOOKMARK');
      expect(bm.object).toEqual({ kind: 'Canary', apiVersion: 'routeshift.io/v1alpha1', metadata: { resourceVersion: expect.stringMatching(/^\d+$/) } });
      w.close();
    });

    it('answers a compacted resourceVersion with an ERROR event carrying 410 Gone, then ends the stream', async () => {
      const rv = (await call(base, 'GET', CANARIES)).body.metadata.resourceVersion;
      server.faults.compact();
      const w = await openWatch(base, `${CANARIES}?watch=true&resourceVersion=${rv}`);
      const err = await w.next((e) => e.type === 'ERROR');
      expect(err.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
      expect(err.object.message).toMatch(/^too old resource version: \d+ \(\d+\)$/);
      await w.ended;
      // a fresh list gives a usable resourceVersion again
      const fresh = (await call(base, 'GET', CANARIES)).body.metadata.resourceVersion;
      const ok = await openWatch(base, `${CANARIES}?watch=true&resourceVersion=${fresh}`);
      await call(base, 'PATCH', `${CANARIES}/a`, { spec: { suspend: false } }, MERGE);
      await ok.next((e) => e.type === 'MODIFIED');
      ok.close();
    });

    it('forgets events beyond historyLimit (410 for older resourceVersions)', async () => {
      const rv = (await call(base, 'GET', CANARIES)).body.metadata.resourceVersion;
      for (let i = 0; i < 25; i++) await call(base, 'PATCH', `${CANARIES}/a`, { metadata: { annotations: { n: String(i) } } }, MERGE);
      const w = await openWatch(base, `${CANARIES}?watch=true&resourceVersion=${rv}`);
      expect((await w.next((e) => e.type === 'ERROR')).object.code).toBe(410);
      w.close();
    });

    it('ends every open watch on dropWatches()', async () => {
      const w = await openWatch(base, `${CANARIES}?watch=true&resourceVersion=0`);
      server.faults.dropWatches();
      await w.ended;
      expect(w.status).toBe(200);
    });
  });

  it('logs requests by verb and resource', () => {
    expect(server.requestLog.count({ verb: 'watch', resource: 'canaries' })).toBeGreaterThan(0);
    expect(server.requestLog.count({ verb: 'create', resource: 'canaries', code: 201 })).toBeGreaterThan(0);
    const summary = server.requestLog.summary();
    expect(summary['patch routeshift.io/canaries/status']).toBeGreaterThan(0);
  });
});

describe('sandbox API server with the Gateway API CRDs', () => {
  let server: ApiServer;
  const ROUTE = '/apis/gateway.networking.k8s.io/v1/namespaces/istio-test/httproutes';

  beforeAll(async () => {
    server = await startApiServer({ crdFiles: ['/work/shared/reference/gateway-api-v1.4.1-standard-crds.yaml'] });
    await call(server.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'istio-test' } });
  });

  afterAll(async () => {
    await server.stop();
  });

  it('defaults, validates and CEL-checks HTTPRoute writes over HTTP, and serves v1beta1 from the same storage', async () => {
    const created = await call(server.url, 'POST', ROUTE, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'backend-split' },
      spec: {
        parentRefs: [{ name: 'backend', kind: 'Service', group: '', port: 80 }],
        rules: [{ backendRefs: [{ name: 'backend-v1', port: 80, weight: 90 }, { name: 'backend-v2', port: 80 }] }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.spec.rules[0].backendRefs[1]).toEqual({ name: 'backend-v2', port: 80, group: '', kind: 'Service', weight: 1 });

    const noPort = await call(server.url, 'PATCH', `${ROUTE}/backend-split`, [{ op: 'remove', path: '/spec/rules/0/backendRefs/1/port' }], {
      'Content-Type': 'application/json-patch+json',
    });
    expect(noPort.status).toBe(422);
    expect(noPort.body.message).toBe(
      'HTTPRoute.gateway.networking.k8s.io "backend-split" is invalid: spec.rules[0].backendRefs[1]: Invalid value: Must have port for Service reference',
    );

    const tooHeavy = await call(
      server.url,
      'PATCH',
      `${ROUTE}/backend-split`,
      { spec: { rules: [{ backendRefs: [{ name: 'backend-v1', port: 80, weight: 2000000 }] }] } },
      { 'Content-Type': 'application/merge-patch+json' },
    );
    expect(tooHeavy.status).toBe(422);
    expect(tooHeavy.body.details.causes[0].field).toBe('spec.rules[0].backendRefs[0].weight');

    const beta = await call(server.url, 'GET', '/apis/gateway.networking.k8s.io/v1beta1/namespaces/istio-test/httproutes/backend-split');
    expect(beta.body.apiVersion).toBe('gateway.networking.k8s.io/v1beta1');
    expect(beta.body.spec.rules[0].backendRefs[0].weight).toBe(90);
  });
});

describe('sandbox API server persistence and auth', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apiserver-test-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps objects, CRDs and the resourceVersion counter across a restart with dataFile', async () => {
    const dataFile = join(dir, 'state.json');
    const first = await startApiServer({ dataFile, crdFiles: ['deploy/crds/canary.yaml'] });
    let rv: string;
    try {
      await call(first.url, 'POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
      const created = await call(first.url, 'POST', CANARIES, canary('kept'));
      rv = created.body.metadata.resourceVersion;
    } finally {
      await first.stop();
    }
    const second = await startApiServer({ dataFile });
    try {
      const got = await call(second.url, 'GET', `${CANARIES}/kept`);
      expect(got.status).toBe(200);
      expect(got.body.metadata.resourceVersion).toBe(rv);
      const next = await call(second.url, 'PATCH', `${CANARIES}/kept`, { spec: { suspend: true } }, MERGE);
      expect(Number(next.body.metadata.resourceVersion)).toBeGreaterThan(Number(rv));
    } finally {
      await second.stop();
    }
  });

  it('accepts only configured tokens when a token map is given', async () => {
    const s = await startApiServer({ tokens: { secret: 'alice' } });
    try {
      expect((await call(s.url, 'GET', '/api/v1/namespaces')).status).toBe(401);
      expect((await call(s.url, 'GET', '/api/v1/namespaces', undefined, { Authorization: 'Bearer secret' })).status).toBe(200);
      expect(s.requestLog.count({ user: 'alice', verb: 'list' })).toBe(1);
    } finally {
      await s.stop();
    }
  });
});
