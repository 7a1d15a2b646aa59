import { AbortedError } from '../core/errors.js';
import { BATCH_LABEL, BatchingProvider, combineQueries, splitAnswer } from './batch.js';
import type { MetricProvider, QueryOptions, QueryOutcome, Sample, VectorOutcome } from './provider.js';

type Answer = Sample[] | { error: string; transient: boolean };

/**
 * A Prometheus stand-in that understands the combined form: it splits it back into the queries,
 * answers each from `table`, and labels the samples as Prometheus' label_replace would.
 */
class FakeProm implements MetricProvider {
  readonly requests: Array<{ kind: 'query' | 'vector'; promql: string; time: number | undefined }> = [];
  /** Queries that fail inside a combination (like a scalar under label_replace) but work alone. */
  readonly uncombinable = new Set<string>();
  transientError: string | undefined;

  constructor(private readonly table: Record<string, Answer>) {}

  async query(promql: string, opts: QueryOptions): Promise<QueryOutcome> {
    this.requests.push({ kind: 'query', promql, time: opts.time?.getTime() });
    const a = this.table[promql] ?? [];
    if (!Array.isArray(a)) return { kind: 'error', code: 'PrometheusBadQuery', message: a.error, transient: a.transient };
    if (a.length === 0) return { kind: 'no-data' };
    if (a.length > 1) return { kind: 'multiple-series', count: a.length };
    return { kind: 'value', value: (a[0] as Sample).value };
  }

  async queryVector(promql: string, opts: QueryOptions): Promise<VectorOutcome> {
    this.requests.push({ kind: 'vector', promql, time: opts.time?.getTime() });
    await new Promise((r) => setTimeout(r, 1));
    if (opts.signal.aborted) throw new AbortedError('Prometheus query');
    if (this.transientError) return { kind: 'error', code: 'PrometheusUnreachable', message: this.transientError, transient: true };
    const parts = [...promql.matchAll(/label_replace\((.*?), "routeshift_batch", "(\d+)", "", ""\)(?: or |$)/g)];
    const samples: Sample[] = [];
    for (const [, q, i] of parts) {
      if (this.uncombinable.has(q as string)) return { kind: 'error', code: 'PrometheusBadQuery', message: `cannot label ${q}`, transient: false };
      const a = this.table[q as string] ?? [];
      if (!Array.isArray(a)) return { kind: 'error', code: 'PrometheusBadQuery', message: a.error, transient: a.transient };
      for (const s of a) samples.push({ labels: { ...s.labels, [BATCH_LABEL]: i as string }, value: s.value });
    }
    return { kind: 'vector', samples };
  }

  async ping(): Promise<void> {}
}

const one = (value: number): Sample[] => [{ labels: {}, value }];
const signal = (): AbortSignal => new AbortController().signal;

describe('combineQueries / splitAnswer', () => {
  it('labels each query by its position and reads the answers back', () => {
    expect(combineQueries(['a', 'sum(b)'])).toBe('label_replace(a, "routeshift_batch", "0", "", "") or label_replace(sum(b), "routeshift_batch", "1", "", "")');
    const samples: Sample[] = [
      { labels: { [BATCH_LABEL]: '0' }, value: 99.5 },
      { labels: { [BATCH_LABEL]: '2', x: 'a' }, value: 1 },
      { labels: { [BATCH_LABEL]: '2', x: 'b' }, value: 2 },
      { labels: { [BATCH_LABEL]: '3' }, value: NaN },
      { labels: { [BATCH_LABEL]: '4' }, value: Infinity },
    ];
    expect(splitAnswer(samples, 5)).toEqual([
      { kind: 'value', value: 99.5 },
      { kind: 'no-data' },
      { kind: 'multiple-series', count: 2 },
      { kind: 'not-a-number', raw: 'NaN' },
      { kind: 'not-a-number', raw: '+Inf' },
    ]);
  });
});

describe('BatchingProvider', () => {
  it('sends the queries of ticks starting within the window as one request, each getting its own answer', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2), c: [], d: [{ labels: { x: '1' }, value: 1 }, { labels: { x: '2' }, value: 2 }] });
    const batches: number[] = [];
    const p = new BatchingProvider(prom, { windowMs: 20, onBatch: (e) => batches.push(e.queries) });
    const t1 = new Date(1_000_000);
    const t2 = new Date(1_000_005);
    const out = await Promise.all([
      p.query('a', { signal: signal(), time: t1 }),
      p.query('b', { signal: signal(), time: t1 }),
      p.query('c', { signal: signal(), time: t2 }),
      p.query('d', { signal: signal(), time: t2 }),
    ]);
    expect(out).toEqual([{ kind: 'value', value: 1 }, { kind: 'value', value: 2 }, { kind: 'no-data' }, { kind: 'multiple-series', count: 2 }]);
    expect(prom.requests).toHaveLength(1);
    expect(prom.requests[0]?.time).toBe(t1.getTime());
    expect(batches).toEqual([4]);
  });

  it('asks once for a query several callers share', async () => {
    const prom = new FakeProm({ a: one(7), b: one(8) });
    const p = new BatchingProvider(prom, { windowMs: 10 });
    const t = new Date(5_000);
    const out = await Promise.all([p.query('a', { signal: signal(), time: t }), p.query('a', { signal: signal(), time: t }), p.query('b', { signal: signal(), time: t })]);
    expect(out.map((o) => (o.kind === 'value' ? o.value : o.kind))).toEqual([7, 7, 8]);
    expect((prom.requests[0]?.promql.match(/label_replace/g) ?? []).length).toBe(2);
  });

  it('evaluates a late query of a tick at the time its tick was given, in a batch new ticks do not join', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2), c: one(3) });
    const p = new BatchingProvider(prom, { windowMs: 10 });
    const tick = new Date(2_000_000);
    await p.query('a', { signal: signal(), time: tick });
    const late = p.query('b', { signal: signal(), time: new Date(tick.getTime()) });
    const fresh = p.query('c', { signal: signal(), time: new Date(2_000_003) });
    await Promise.all([late, fresh]);
    const times = prom.requests.map((r) => [r.promql, r.time]);
    expect(times).toEqual([
      ['a', tick.getTime()],
      ['b', tick.getTime()],
      ['c', 2_000_003],
    ]);
  });

  it('evaluates a query pinned at an older time (a stable baseline at the rollout start) at that time, beside the tick', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2), base: one(3), c: one(4) });
    const batches: number[] = [];
    const p = new BatchingProvider(prom, { windowMs: 10, onBatch: (e) => batches.push(e.queries) });
    const tick = new Date(5_000_000);
    const rolloutStart = new Date(4_700_000);
    const answers = await Promise.all([
      p.query('a', { signal: signal(), time: tick }),
      p.query('base', { signal: signal(), time: rolloutStart }),
      p.query('b', { signal: signal(), time: tick }),
    ]);
    expect(answers).toEqual([1, 3, 2].map((value) => ({ kind: 'value', value })));
    // A later tick still batches at its own time: the old batch does not capture it.
    await p.query('c', { signal: signal(), time: new Date(5_000_002) });
    // The two batches go in either order (the tick's is held open a window longer as b joins it).
    expect(prom.requests.map((r) => [r.promql, r.time]).sort((x, y) => Number(x[1]) - Number(y[1]))).toEqual([
      ['base', rolloutStart.getTime()],
      [combineQueries(['a', 'b']), tick.getTime()],
      ['c', 5_000_002],
    ]);
    expect([...batches].sort()).toEqual([1, 1, 2]);
  });

  it('keeps a batch open while queries keep joining, up to maxWaitMs', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2), c: one(3), d: one(4) });
    const batches: number[] = [];
    const p = new BatchingProvider(prom, { windowMs: 200, maxWaitMs: 2000, onBatch: (e) => batches.push(e.queries) });
    const t = new Date(7_000_000);
    const answers: Array<Promise<unknown>> = [];
    // Four queries 120 ms apart, 360 ms in all: each arrives within a window of the one before, so all share
    // one request (a window counted from the first alone would have sent a and b without c and d).
    for (const q of ['a', 'b', 'c', 'd']) {
      answers.push(p.query(q, { signal: signal(), time: t }));
      await new Promise((r) => setTimeout(r, 120));
    }
    await Promise.all(answers);
    expect(batches).toEqual([4]);
  });

  it('sends a full batch at once', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2), c: one(3) });
    const p = new BatchingProvider(prom, { windowMs: 60_000, maxQueries: 3 });
    const t = new Date(9_000);
    const out = await Promise.all(['a', 'b', 'c'].map((q) => p.query(q, { signal: signal(), time: t })));
    expect(out).toHaveLength(3);
    expect(prom.requests).toHaveLength(1);
  });

  it('gives every member the transient error of a failed batch, without retrying each alone', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2) });
    prom.transientError = 'connection refused';
    const p = new BatchingProvider(prom, { windowMs: 5 });
    const t = new Date(1);
    const out = await Promise.all([p.query('a', { signal: signal(), time: t }), p.query('b', { signal: signal(), time: t })]);
    expect(out).toEqual([
      { kind: 'error', code: 'PrometheusUnreachable', message: 'connection refused', transient: true },
      { kind: 'error', code: 'PrometheusUnreachable', message: 'connection refused', transient: true },
    ]);
    expect(prom.requests).toHaveLength(1);
  });

  it('finds a query that breaks the combination, answers it alone, and keeps batching the rest', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2), s: one(42), c: one(3), bad: { error: 'parse error', transient: false } });
    prom.uncombinable.add('s');
    prom.uncombinable.add('bad');
    const p = new BatchingProvider(prom, { windowMs: 5 });
    const t = new Date(10);
    const out = await Promise.all(['a', 'b', 's', 'c', 'bad'].map((q) => p.query(q, { signal: signal(), time: t })));
    expect(out).toEqual([
      { kind: 'value', value: 1 },
      { kind: 'value', value: 2 },
      { kind: 'value', value: 42 },
      { kind: 'value', value: 3 },
      { kind: 'error', code: 'PrometheusBadQuery', message: 'parse error', transient: false },
    ]);
    // From now on the culprits go alone and the rest still share one request.
    prom.requests.length = 0;
    const again = await Promise.all(['a', 's', 'c'].map((q) => p.query(q, { signal: signal(), time: new Date(20) })));
    expect(again.map((o) => (o.kind === 'value' ? o.value : o.kind))).toEqual([1, 42, 3]);
    expect(prom.requests.map((r) => r.kind).sort()).toEqual(['query', 'vector']);
  });

  it('rejects an aborted caller at once and still answers the others', async () => {
    const prom = new FakeProm({ a: one(1), b: one(2) });
    const p = new BatchingProvider(prom, { windowMs: 10 });
    const ac = new AbortController();
    const t = new Date(30);
    const gone = p.query('a', { signal: ac.signal, time: t });
    const stays = p.query('b', { signal: signal(), time: t });
    ac.abort();
    await expect(gone).rejects.toBeInstanceOf(AbortedError);
    await expect(stays).resolves.toEqual({ kind: 'value', value: 2 });
  });
});
