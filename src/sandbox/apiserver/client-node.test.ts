import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from './index.js';
import { eventually } from './testing.js';

const GROUP = 'routeshift.io';
const VERSION = 'v1alpha1';
const PLURAL = 'canaries';

function canary(name: string, stepWeights: number[] = [10, 50]): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Canary',
    metadata: { name, namespace: 'team' },
    spec: {
      routeRef: { name: 'backend-split' },
      stable: { name: 'backend-v1', port: 80 },
      canary: { name: 'backend-v2', port: 80 },
      analysis: { interval: '30s', threshold: 3, stepWeights },
    },
  };
}

interface CanaryObject extends KubernetesObject {
  spec?: { analysis?: { stepWeights?: number[]; threshold?: number } };
  status?: { phase?: string };
}

describe('sandbox API server with @kubernetes/client-node', () => {
  let server: ApiServer;
  let kc: KubeConfig;
  let custom: CustomObjectsApi;

  beforeAll(async () => {
    server = await startApiServer({ crdFiles: ['deploy/crds/canary.yaml'] });
    kc = new KubeConfig();
    kc.loadFromString(server.kubeconfig());
    custom = kc.makeApiClient(CustomObjectsApi);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'team' } } });
  });

  afterAll(async () => {
    await server.stop();
  });

  it('creates, reads, JSON-patches, merge-patches and status-patches a Canary', async () => {
    const created = (await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL, body: canary('crud') })) as CanaryObject;
    expect(created.metadata?.generation).toBe(1);
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    // defaulted from the CRD schema
    expect((created as unknown as { spec: { routeRef: { kind: string } } }).spec.routeRef.kind).toBe('HTTPRoute');

    const jsonPatched = (await custom.patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: 'team',
      plural: PLURAL,
      name: 'crud',
      body: [
        { op: 'test', path: '/spec/analysis/threshold', value: 3 },
        { op: 'replace', path: '/spec/analysis/threshold', value: 5 },
      ],
    })) as CanaryObject;
    expect(jsonPatched.spec?.analysis?.threshold).toBe(5);
    expect(jsonPatched.metadata?.generation).toBe(2);

    const merged = (await custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL, name: 'crud', body: { metadata: { labels: { tier: 'web' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as CanaryObject;
    expect(merged.metadata?.labels).toEqual({ tier: 'web' });
    expect(merged.metadata?.generation).toBe(2);

    const status = (await custom.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL, name: 'crud', body: { status: { phase: 'Progressing' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as CanaryObject;
    expect(status.status?.phase).toBe('Progressing');
    expect(status.metadata?.generation).toBe(2);

    await expect(
      custom.patchNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: 'team',
        plural: PLURAL,
        name: 'crud',
        body: [{ op: 'test', path: '/spec/analysis/threshold', value: 3 }],
      }),
    ).rejects.toMatchObject({ code: 422 });
  });

  it('stores leases with microtime fields and rejects stale updates with 409', async () => {
    const leases = kc.makeApiClient(CoordinationV1Api);
    const renew = new Date(Date.UTC(2026, 0, 1, 12, 0, 0, 123));
    const lease = await leases.createNamespacedLease({
      namespace: 'team',
      body: { metadata: { name: 'routeshift-leader' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: renew } },
    });
    // client-node leaves MicroTime as the string the server sends: RFC 3339 with microseconds
    expect(String(lease.spec?.renewTime)).toBe('2026-01-01T12:00:00.123000Z');
    const stale = structuredClone(lease);
    lease.spec = { ...lease.spec, holderIdentity: 'b' };
    const updated = await leases.replaceNamespacedLease({ name: 'routeshift-leader', namespace: 'team', body: lease });
    expect(updated.spec?.holderIdentity).toBe('b');
    stale.spec = { ...stale.spec, holderIdentity: 'c' };
    await expect(leases.replaceNamespacedLease({ name: 'routeshift-leader', namespace: 'team', body: stale })).rejects.toMatchObject({ code: 409 });
  });

  it('records core/v1 events that field selectors on involvedObject find', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespacedEvent({
      namespace: 'team',
      body: {
        metadata: { generateName: 'crud.' },
        involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Canary', name: 'crud', namespace: 'team' },
        reason: 'Progressing',
        message: 'weight 10',
        type: 'Normal',
      },
    });
    const found = await core.listNamespacedEvent({ namespace: 'team', fieldSelector: 'involvedObject.kind=Canary,involvedObject.name=crud' });
    expect(found.items.map((e) => e.reason)).toEqual(['Progressing']);
    expect(found.items[0]?.metadata.name).toMatch(/^crud\.[a-z0-9]{5}$/);
    const none = await core.listNamespacedEvent({ namespace: 'team', fieldSelector: 'involvedObject.name=other' });
    expect(none.items).toHaveLength(0);
  });

  it('keeps an informer in sync across dropped watches and a compaction (410 Gone)', async () => {
    const seen = new Map<string, CanaryObject>();
    const errors: unknown[] = [];
    const informer = makeInformer<CanaryObject>(kc, `/apis/${GROUP}/${VERSION}/${PLURAL}`, () =>
      custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }) as Promise<never>,
    );
    const record = (o: CanaryObject): void => void seen.set(o.metadata?.name ?? '', o);
    informer.on('add', record);
    informer.on('update', record);
    informer.on('delete', (o) => void seen.delete(o.metadata?.name ?? ''));
    informer.on('error', (err) => void errors.push(err));
    await informer.start();
    try {
      await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL, body: canary('inf') });
      await eventually(() => seen.has('inf'), 5000, 'informer add');

      const patchSteps = (steps: number[]): Promise<unknown> =>
        custom.patchNamespacedCustomObject(
          { group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL, name: 'inf', body: { spec: { analysis: { stepWeights: steps } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      await patchSteps([20]);
      await eventually(() => seen.get('inf')?.spec?.analysis?.stepWeights?.[0] === 20, 5000, 'informer update');

      server.faults.dropWatches();
      await patchSteps([30]);
      await eventually(() => seen.get('inf')?.spec?.analysis?.stepWeights?.[0] === 30, 5000, 'update after dropped watch');

      const listsBefore = server.requestLog.count({ verb: 'list', resource: PLURAL });
      server.faults.compact();
      server.faults.dropWatches();
      // The informer re-watches from its now-compacted resourceVersion, gets 410, and must re-list.
      await eventually(() => server.requestLog.count({ verb: 'list', resource: PLURAL }) > listsBefore, 5000, 're-list after 410');
      await patchSteps([40]);
      await eventually(() => seen.get('inf')?.spec?.analysis?.stepWeights?.[0] === 40, 5000, 'update after compaction');

      await custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL, name: 'inf' });
      await eventually(() => !seen.has('inf'), 5000, 'informer delete');
      expect(errors).toEqual([]);
    } finally {
      await informer.stop();
    }
  });

  it('answers injected write failures with 409/500/429 at the configured rate', async () => {
    server.faults.writeFailureRate = 1;
    const codes = new Set<number>();
    try {
      for (let i = 0; i < 12; i++) {
        try {
          await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL, body: canary(`fault-${i}`) });
          codes.add(201);
        } catch (err) {
          codes.add((err as { code: number }).code);
        }
      }
    } finally {
      server.faults.writeFailureRate = 0;
    }
    expect(codes.has(201)).toBe(false);
    expect([...codes].every((c) => [409, 500, 429].includes(c))).toBe(true);
    // reads are never failed
    await expect(custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'team', plural: PLURAL })).resolves.toBeDefined();
  });
});
