import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { KubeApiError } from '../kube/errors.js';
import { Reason } from './reasons.js';
import { Recorder, type CoreEvent, type EventSink } from './recorder.js';

class Sink implements EventSink {
  readonly creates: string[] = [];
  constructor(private readonly failures: Array<Error | undefined> = []) {}
  async create(_ns: string, e: CoreEvent): Promise<void> {
    this.creates.push(e.metadata.name);
    const f = this.failures.shift();
    if (f) throw f;
  }
  async update(): Promise<void> {}
}

const started = {
  object: { apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', metadata: { name: 'c', namespace: 'ns' } },
  reason: Reason.RolloutStarted,
  message: 'Rollout started',
  name: 'c.rev.init.initializing.rolloutstarted',
};

describe('Recorder with a named (transition) Event', () => {
  const signal = new AbortController().signal;

  it('announces it once however often it is recorded, and writes it once', async () => {
    const sink = new Sink();
    const r = new Recorder(sink, silentLogger(), new FakeClock(0));
    const heard: string[] = [];
    r.onEvent((e) => heard.push(e.reason));
    expect(await r.record(started, signal)).toBe(true);
    expect(await r.record(started, signal)).toBe(true);
    expect(heard).toEqual(['RolloutStarted']);
    expect(sink.creates).toEqual([started.name]);
  });

  it('writes again after a failed write without announcing again', async () => {
    const sink = new Sink([new KubeApiError(500, 'injected')]);
    const r = new Recorder(sink, silentLogger(), new FakeClock(0));
    const heard: string[] = [];
    r.onEvent((e) => heard.push(e.reason));
    expect(await r.record(started, signal)).toBe(false);
    expect(await r.record(started, signal)).toBe(true);
    expect(heard).toEqual(['RolloutStarted']);
    expect(sink.creates).toEqual([started.name, started.name]);
  });

  it('announces the same name in another namespace', async () => {
    const r = new Recorder(new Sink(), silentLogger(), new FakeClock(0));
    const heard: string[] = [];
    r.onEvent((e) => heard.push(String(e.object.metadata.namespace)));
    await r.record(started, signal);
    await r.record({ ...started, object: { ...started.object, metadata: { name: 'c', namespace: 'other' } } }, signal);
    expect(heard).toEqual(['ns', 'other']);
  });
});
