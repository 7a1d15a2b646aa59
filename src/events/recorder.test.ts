import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { FakeClock } from '../core/clock.js';
import { createLogger, silentLogger } from '../core/logger.js';
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

describe('Recorder with a folded Event (several occurrences in one)', () => {
  const signal = new AbortController().signal;

  it('logs each occurrence with note() at info, and writes the Event with its count, times and annotations, telling listeners once', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    });
    const written: CoreEvent[] = [];
    const sink: EventSink = { create: async (_ns, e) => void written.push(e), update: async () => undefined };
    const r = new Recorder(sink, createLogger('info', out), new FakeClock(Date.UTC(2026, 11, 7, 8, 1)));
    const heard: string[] = [];
    r.onEvent((e) => heard.push(e.message));
    const step = { ...started, reason: Reason.WeightAdvanced, name: undefined };
    r.note({ ...step, message: 'Advanced canary weight 0 -> 20' });
    r.note({ ...step, message: 'Advanced canary weight 20 -> 40' });
    const fold = { ...step, message: 'Advanced canary weight 0 -> 40 in 2 steps (20, 40)', name: 'c.rev.s0.progressing.weightadvanced' };
    const times = { firstTime: '2026-12-07T08:00:00.000Z', lastTime: '2026-12-07T08:00:10.000Z' };
    expect(await r.record({ ...fold, ...times, count: 2, annotations: { 'routeshift.io/steps': '20,40' }, logged: true }, signal)).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => l.level === 30).map((l) => l.msg)).toEqual(['Advanced canary weight 0 -> 20', 'Advanced canary weight 20 -> 40']);
    expect(heard).toEqual([fold.message]);
    expect(written.map((e) => [e.metadata.annotations, e.count, e.firstTimestamp, e.lastTimestamp])).toEqual([
      [{ 'routeshift.io/steps': '20,40' }, 2, times.firstTime, times.lastTime],
    ]);
  });
});
