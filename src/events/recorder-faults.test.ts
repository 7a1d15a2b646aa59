/**
 * The Event recorder under API write faults (found by test/e2e/faults-api.test.ts): record() says
 * whether the Event reached the API, so a transition can keep it owed; and a 409 Conflict on a named
 * create is a failed write, while 409 AlreadyExists means it was recorded before.
 */
import { FakeClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { Reason } from './reasons.js';
import { Recorder, type CoreEvent, type EventSink } from './recorder.js';
import { KubeApiError } from '../kube/errors.js';

class ScriptedSink implements EventSink {
  readonly created: CoreEvent[] = [];
  constructor(private readonly failures: Array<Error | undefined>) {}
  async create(_ns: string, e: CoreEvent): Promise<void> {
    const f = this.failures.shift();
    if (f) throw f;
    this.created.push(e);
  }
  async update(): Promise<void> {}
}

const event = (name?: string) => ({
  object: { apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', metadata: { name: 'c', namespace: 'ns' } },
  reason: Reason.WeightAdvanced,
  message: 'Advanced canary weight 20 -> 40',
  ...(name ? { name } : {}),
});

describe('Recorder.record under write faults', () => {
  const signal = new AbortController().signal;

  it('resolves true when written and false when the API answered 500, 429 or 409 Conflict', async () => {
    const sink = new ScriptedSink([
      undefined,
      new KubeApiError(500, 'injected', 'InternalError'),
      new KubeApiError(429, 'slow down', 'TooManyRequests'),
      new KubeApiError(409, 'injected conflict', 'Conflict'),
    ]);
    const r = new Recorder(sink, silentLogger(), new FakeClock(0));
    expect(await r.record(event('c.rev.s1.progressing.weightadvanced'), signal)).toBe(true);
    expect(await r.record(event('c.rev.s2.progressing.weightadvanced'), signal)).toBe(false);
    expect(await r.record(event('c.rev.s3.progressing.weightadvanced'), signal)).toBe(false);
    expect(await r.record(event('c.rev.s4.progressing.weightadvanced'), signal)).toBe(false);
    expect(sink.created.map((e) => e.metadata.name)).toEqual(['c.rev.s1.progressing.weightadvanced']);
  });

  it('takes 409 AlreadyExists on a named Event as recorded before', async () => {
    const sink = new ScriptedSink([new KubeApiError(409, 'events "x" already exists', 'AlreadyExists')]);
    const r = new Recorder(sink, silentLogger(), new FakeClock(0));
    expect(await r.record(event('x'), signal)).toBe(true);
  });

  it('reports an unnamed Event that could not be written', async () => {
    const sink = new ScriptedSink([new KubeApiError(500, 'injected', 'InternalError'), undefined]);
    const r = new Recorder(sink, silentLogger(), new FakeClock(0));
    expect(await r.record(event(), signal)).toBe(false);
    expect(await r.record(event(), signal)).toBe(true);
    expect(sink.created).toHaveLength(1);
  });
});
