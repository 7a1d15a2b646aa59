/**
 * WorkloadRelease with fakes: an in-memory Canary store (resourceVersion + 409), a scripted workload
 * reader, a list Event sink and a fake clock.
 */
import type { Canary } from '../api/canary.js';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { Recorder, type CoreEvent, type EventSink } from '../events/recorder.js';
import { KubeApiError } from '../kube/errors.js';
import type { CanaryStore } from './canary-store.js';
import { dataDigest } from './pod-template-revision.js';
import type { WorkloadReader, WorkloadState } from './workload-reader.js';
import { WorkloadRelease } from './workload-release.js';

class MemoryStore implements CanaryStore {
  rv = 1;
  writes = 0;
  constructor(public canary: Canary) {
    this.canary.metadata.resourceVersion = '1';
  }
  async get(): Promise<Canary> {
    return structuredClone(this.canary);
  }
  async list() {
    return { items: [structuredClone(this.canary)] };
  }
  async replaceStatus(c: Canary): Promise<Canary> {
    if (c.metadata.resourceVersion !== this.canary.metadata.resourceVersion) throw new KubeApiError(409, 'stale');
    this.writes++;
    // The status subresource ignores spec, as the API server does.
    this.canary = { ...this.canary, status: structuredClone(c.status ?? {}), metadata: { ...this.canary.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.canary);
  }
  async patch(): Promise<Canary> {
    throw new Error('unused');
  }
}

class ListSink implements EventSink {
  events: CoreEvent[] = [];
  async create(_ns: string, e: CoreEvent): Promise<void> {
    if (this.events.some((x) => x.metadata.name === e.metadata.name)) throw new KubeApiError(409, 'exists', 'AlreadyExists');
    this.events.push(e);
  }
  async update(_ns: string, name: string, patch: { count: number }): Promise<void> {
    const e = this.events.find((x) => x.metadata.name === name);
    if (e) e.count = patch.count;
  }
}

function deployment(image: string, ready = true, extra: Partial<WorkloadState['template']['spec']> = {}): WorkloadState {
  return {
    generation: 2,
    template: { spec: { containers: [{ name: 'app', image }], ...extra } },
    desired: 2,
    status: { observedGeneration: ready ? 2 : 1, updated: ready ? 2 : 1, available: 2, replicas: ready ? 2 : 3 },
  };
}

class Reader implements WorkloadReader {
  deployments = new Map<string, WorkloadState>();
  objects = new Map<string, { data?: Record<string, string> }>();
  async deployment(_ns: string, name: string): Promise<WorkloadState | undefined> {
    return structuredClone(this.deployments.get(name));
  }
  async digest(kind: 'configmap' | 'secret', _ns: string, name: string): Promise<string> {
    return dataDigest(this.objects.get(`${kind}/${name}`));
  }
}

function canary(): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'app', namespace: 'ns', uid: 'u1', generation: 1 },
    spec: {
      routeRef: { name: 'split' },
      stable: { name: 'app-blue', port: 80 },
      canary: { name: 'app-green', port: 80 },
      analysis: { interval: '5s', threshold: 2 },
      workloads: { stable: { name: 'blue' }, canary: { name: 'green' }, readyDeadline: '1m' },
    },
  };
}

function setup() {
  const store = new MemoryStore(canary());
  const reader = new Reader();
  reader.deployments.set('blue', deployment('app:1'));
  reader.deployments.set('green', deployment('app:1'));
  const sink = new ListSink();
  const clock = new FakeClock();
  const recorder = new Recorder(sink, silentLogger(), clock);
  const make = () => new WorkloadRelease({ reader, store, recorder, clock, logger: silentLogger() });
  return { store, reader, sink, clock, release: make(), make };
}

const signal = new AbortController().signal;
const reasons = (sink: ListSink): string[] => sink.events.map((e) => e.reason ?? '');

describe('WorkloadRelease', () => {
  it('adopts, waits for the idle Deployment to roll out, then hands the new revision to the phase machine', async () => {
    const { store, reader, sink, clock, release } = setup();
    const adopted = await release.prepare(await store.get(), signal);
    expect(adopted.kind).toBe('proceed');
    const baseline = store.canary.status?.revision;
    expect(adopted.kind === 'proceed' && adopted.revision).toBe(baseline);

    reader.deployments.set('green', deployment('app:2', false));
    expect(await release.prepare(await store.get(), signal)).toEqual({ kind: 'wait', ms: 2_000 });
    expect(reasons(sink)).toEqual(['WorkloadNotReady']);
    expect(store.canary.status?.revision).toBe(baseline);

    await clock.advance(10_000);
    reader.deployments.set('green', deployment('app:2', true));
    const started = await release.prepare(await store.get(), signal);
    expect(started.kind === 'proceed' && started.revision).not.toBe(baseline);
    expect(store.canary.status?.workloads?.waiting).toBeUndefined();
  });

  it('a new instance (a restarted controller) keeps the wait where it was, and the deadline expires from it', async () => {
    const { store, reader, sink, clock, release, make } = setup();
    await release.prepare(await store.get(), signal);
    reader.deployments.set('green', deployment('app:2', false));
    await release.prepare(await store.get(), signal);
    const since = store.canary.status?.workloads?.waiting?.since;
    expect(since).toBeDefined();

    await clock.advance(30_000);
    const restarted = make();
    await restarted.prepare(await store.get(), signal);
    expect(store.canary.status?.workloads?.waiting?.since).toBe(since);

    await clock.advance(31_000);
    expect((await restarted.prepare(await store.get(), signal)).kind).toBe('wait');
    expect(store.canary.status?.phase).toBe('Failed');
    expect(store.canary.status?.canaryWeight ?? 0).toBe(0);
    expect(sink.events.find((e) => e.reason === 'WorkloadDeadlineExceeded')?.type).toBe('Warning');
  });

  it('swaps once after a promotion, even when it starts from a stale copy taken before the swap', async () => {
    const { store, sink, release } = setup();
    await release.prepare(await store.get(), signal);
    store.canary.status = { ...store.canary.status, phase: 'Succeeded', canaryWeight: 100 };
    const stale = await store.get();
    const swapped = await release.prepare(stale, signal);
    expect(store.canary.status?.workloads?.live).toBe('app-green');
    // The phase machine sees the new live slot as stable, with the spec untouched in the store.
    expect(swapped.kind === 'proceed' && [swapped.canary.spec.stable.name, swapped.canary.spec.canary.name]).toEqual(['app-green', 'app-blue']);
    expect(store.canary.spec.stable.name).toBe('app-blue');

    const writes = store.writes;
    await release.prepare(stale, signal);
    expect(store.canary.status?.workloads?.live).toBe('app-green');
    expect(store.writes).toBe(writes);
    expect(reasons(sink).filter((r) => r === 'SlotsSwapped')).toHaveLength(1);
  });

  it('warns once about a live-slot change and keeps the idle slot idle', async () => {
    const { store, reader, sink, release } = setup();
    await release.prepare(await store.get(), signal);
    const revision = store.canary.status?.revision;
    reader.deployments.set('blue', deployment('app:hotfix'));
    await release.prepare(await store.get(), signal);
    await release.prepare(await store.get(), signal);
    const warnings = sink.events.filter((e) => e.reason === 'LiveWorkloadChanged');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.type).toBe('Warning');
    expect(store.canary.status?.revision).toBe(revision);
    expect(store.canary.status?.workloads?.live).toBe('app-blue');
  });

  it('a Secret change is a new revision, and no Secret value reaches status or an Event', async () => {
    const { store, reader, sink, release } = setup();
    const secretRef = { volumes: [{ name: 's', secret: { secretName: 'db' } }] };
    reader.deployments.set('green', deployment('app:1', true, secretRef));
    reader.objects.set('secret/db', { data: { password: 'aHVudGVyMg==' } });
    await release.prepare(await store.get(), signal);
    const before = store.canary.status?.revision;
    reader.objects.set('secret/db', { data: { password: 'c3dvcmRmaXNo' } });
    const next = await release.prepare(await store.get(), signal);
    expect(next.kind === 'proceed' && next.revision).not.toBe(before);
    const written = JSON.stringify([store.canary.status, sink.events]);
    expect(written).not.toContain('aHVudGVyMg==');
    expect(written).not.toContain('c3dvcmRmaXNo');
  });

  it('a refused read (403) holds everything with a WorkloadNotReady saying so; a transient error is thrown for a retry', async () => {
    const { store, reader, sink, release } = setup();
    reader.deployment = async () => {
      throw new KubeApiError(403, 'get Deployment ns/blue: HTTP 403: forbidden');
    };
    expect((await release.prepare(await store.get(), signal)).kind).toBe('wait');
    expect(sink.events[0]?.reason).toBe('WorkloadNotReady');
    expect(sink.events[0]?.message).toContain('HTTP 403');
    reader.deployment = async () => {
      throw new KubeApiError(503, 'unavailable');
    };
    await expect(release.prepare(await store.get(), signal)).rejects.toThrow('unavailable');
  });

  it('a missing Deployment holds everything with a WorkloadNotReady naming it', async () => {
    const { store, reader, sink, release } = setup();
    reader.deployments.delete('green');
    expect((await release.prepare(await store.get(), signal)).kind).toBe('wait');
    expect(sink.events[0]?.message).toContain('Deployment ns/green');
    expect(store.writes).toBe(0);
  });
});
