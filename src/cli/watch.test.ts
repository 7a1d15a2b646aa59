import type { Canary, CanaryStatus } from '../api/canary.js';
import { runCommand } from './commands/context.js';
import { EXIT, InterruptedError } from './commands/errors.js';
import { exitCodeForPhase, rolloutOutcome, rowsOf, watch } from './commands/watch.js';
import { FakeClock } from '../core/clock.js';
import { KubeApiError } from '../kube/errors.js';
import { ANNOTATIONS, canary, context, event, FakeCanaryStore, FakeEvents, progressing, ScriptedWatch, started, T0 } from './testing.js';

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

function next(c: Canary, status: CanaryStatus, rv: string): Canary {
  return { ...c, metadata: { ...c.metadata, resourceVersion: rv }, status: { ...c.status, ...status } };
}

/** Starts `watch` against fakes and waits until both streams are open. */
async function startWatch(initial: Canary, opts: { tty?: boolean; timeout?: string; events?: FakeEvents; columns?: number } = {}) {
  const store = new FakeCanaryStore(initial);
  const source = new ScriptedWatch();
  const clock = new FakeClock(T0);
  const interrupt = new AbortController();
  const { ctx, out, err } = context(store, {
    watch: source,
    clock,
    signal: interrupt.signal,
    ...(opts.tty ? { tty: true } : {}),
    ...(opts.events ? { events: opts.events } : {}),
  });
  if (opts.columns) (ctx.io.out as { columns?: number }).columns = opts.columns;
  const done = runCommand(ctx.io, { namespace: 'shop', name: initial.metadata.name }, () => watch(ctx, initial.metadata.name, opts.timeout ? { timeout: opts.timeout } : {}));
  return { store, source, clock, out, err, done, interrupt, ctx };
}

/** Log lines without their leading timestamp. */
const bodies = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.replace(/^\S+ /, ''));

describe('exit code logic', () => {
  it('maps the final phases', () => {
    expect(exitCodeForPhase('Succeeded')).toBe(0);
    expect(exitCodeForPhase('Failed')).toBe(1);
    expect(exitCodeForPhase('Invalid')).toBe(3);
    for (const p of ['Initializing', 'Progressing', 'Waiting', 'Paused', 'Promoting', 'RollingBack', undefined] as const) {
      expect(exitCodeForPhase(p)).toBeUndefined();
    }
  });

  it('ends on Succeeded/Failed of the revision the spec names', () => {
    expect(rolloutOutcome(started(canary(), { phase: 'Succeeded', message: 'Promoted: podinfo-v2 holds all the traffic' }))).toEqual({
      code: 0,
      message: 'rollout succeeded: Promoted: podinfo-v2 holds all the traffic',
    });
    expect(rolloutOutcome(started(canary(), { phase: 'Failed', message: 'Rolled back' }))?.code).toBe(1);
    expect(rolloutOutcome(progressing())).toBeUndefined();
  });

  it('does not end on a final phase left from the previous revision', () => {
    const c = started(canary(), { phase: 'Succeeded' });
    c.metadata.annotations = { [ANNOTATIONS.retry]: 'again' }; // retry requested, not yet picked up
    expect(rolloutOutcome(c)).toBeUndefined();
    const noStatus = canary();
    expect(rolloutOutcome(noStatus)).toBeUndefined();
  });

  it('Invalid counts for the generation the controller judged, not an older one', () => {
    const c = canary('podinfo', 'shop', { phase: 'Invalid', observedGeneration: 1, message: 'Invalid spec: spec.analysis.interval: bad' });
    expect(rolloutOutcome(c)).toEqual({ code: 3, message: 'canary is invalid and needs an edit: Invalid spec: spec.analysis.interval: bad' });
    c.metadata.generation = 2; // the user fixed it; the controller has not looked yet
    expect(rolloutOutcome(c)).toBeUndefined();
  });

  it('a rollout held by an invalid spec edit ends the watch with 3', () => {
    const c = progressing('podinfo', 'shop', {
      conditions: [{ type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'metrics[0].query: parse error', lastTransitionTime: T0.toString(), observedGeneration: 1 }],
    });
    expect(rolloutOutcome(c)?.code).toBe(3);
  });
});

describe('watch on a non-terminal output (CI logs)', () => {
  it('prints one line per visible change and per new event, then exits 0 on success', async () => {
    const c0 = progressing();
    const w = await startWatch(c0);
    await until(() => w.source.opened === 2, 'streams open');
    w.source.emitCanary('MODIFIED', next(c0, {}, '201')); // a status write that changes nothing shown
    w.source.emitEvent(event('ev1', 'WeightAdvanced', 'Advanced canary weight 20 -> 40: all checks passed', 10_000));
    w.source.emitCanary('MODIFIED', next(c0, { canaryWeight: 40, stepIndex: 2, failedChecks: 0, message: 'Advanced canary weight 20 -> 40' }, '202'));
    w.source.emitEvent(event('ev2', 'AnalysisHeld', 'Holding at 40: no data', 70_000));
    w.source.emitEvent(event('ev2', 'AnalysisHeld', 'Holding at 40: no data', 130_000, { count: 2 }), 'MODIFIED');
    w.source.emitEvent(event('ev2', 'AnalysisHeld', 'Holding at 40: no data', 130_000, { count: 2 }), 'MODIFIED'); // replayed: no line
    w.source.emitCanary('MODIFIED', next(c0, { phase: 'Promoting', canaryWeight: 100, stepIndex: 4, failedChecks: 0, lastAnalysis: [], message: 'Promoting' }, '203'));
    w.source.emitCanary('MODIFIED', next(c0, { phase: 'Succeeded', canaryWeight: 100, stepIndex: 4, failedChecks: 0, lastAnalysis: [], message: 'Promoted' }, '204'));
    expect(await w.done).toBe(EXIT.ok);
    expect(bodies(w.out.text)).toEqual([
      'shop/podinfo phase=Progressing stable=80 canary=20 step=2/5 failed=1/5 metrics: request-success-rate=99.87 pass, latency-p99=612.4 fail - Advanced canary weight 10 -> 20: all checks passed',
      'event Normal WeightAdvanced: Advanced canary weight 20 -> 40: all checks passed',
      'shop/podinfo phase=Progressing stable=60 canary=40 step=3/5 failed=0/5 metrics: request-success-rate=99.87 pass, latency-p99=612.4 fail - Advanced canary weight 20 -> 40',
      'event Normal AnalysisHeld: Holding at 40: no data',
      'event Normal AnalysisHeld: Holding at 40: no data (x2)',
      'shop/podinfo phase=Promoting stable=0 canary=100 step=5/5 failed=0/5 - Promoting',
      'shop/podinfo phase=Succeeded stable=0 canary=100 step=5/5 failed=0/5 - Promoted',
      'rollout succeeded: Promoted',
    ]);
    expect(w.out.text).not.toContain('\x1b[');
    expect(w.out.text.split('\n')[0]).toMatch(/^2026-01-01T12:00:00.000Z /);
    expect(w.source.canaryStreams[0]?.rv).toBe('101'); // the resourceVersion of the initial GET
  });

  it('exits 1 when the rollout fails', async () => {
    const c0 = progressing();
    const w = await startWatch(c0);
    await until(() => w.source.opened === 2, 'streams open');
    w.source.emitCanary('MODIFIED', next(c0, { phase: 'RollingBack', canaryWeight: 0, message: 'Rolling back: latency-p99 failed 5/5' }, '202'));
    w.source.emitCanary('MODIFIED', next(c0, { phase: 'Failed', canaryWeight: 0, message: 'Rolled back: podinfo-v1 holds all the traffic' }, '203'));
    expect(await w.done).toBe(EXIT.rolledBack);
    expect(bodies(w.out.text).at(-1)).toBe('rollout failed: Rolled back: podinfo-v1 holds all the traffic');
  });

  it('exits 3 when the canary turns out invalid', async () => {
    const c0 = canary();
    const w = await startWatch(c0);
    await until(() => w.source.opened === 2, 'streams open');
    w.source.emitCanary('MODIFIED', next(c0, { phase: 'Invalid', observedGeneration: 1, message: 'Invalid spec: bad interval' }, '202'));
    expect(await w.done).toBe(EXIT.invalid);
  });

  it('exits at once when the rollout already ended, without opening streams', async () => {
    const w = await startWatch(started(canary(), { phase: 'Succeeded', canaryWeight: 100, message: 'Promoted' }));
    expect(await w.done).toBe(0);
    expect(w.source.opened).toBe(0);
  });

  it('waits through a stale Succeeded until the retried revision ends', async () => {
    const c0 = started(canary(), { phase: 'Succeeded', canaryWeight: 100 });
    c0.metadata.annotations = { [ANNOTATIONS.retry]: 'again' };
    const w = await startWatch(c0);
    await until(() => w.source.opened === 2, 'streams open');
    const restarted = started(c0, { phase: 'Initializing', canaryWeight: 100 });
    w.source.emitCanary('MODIFIED', next(restarted, {}, '300'));
    w.source.emitCanary('MODIFIED', next(restarted, { phase: 'Failed', canaryWeight: 0, message: 'Rolled back' }, '301'));
    expect(await w.done).toBe(1);
  });

  it('times out with exit 2 and says where the rollout stood', async () => {
    const w = await startWatch(progressing(), { timeout: '10m' });
    await until(() => w.source.opened === 2 && w.clock.pending > 0, 'parked');
    await w.clock.advance(10 * 60_000);
    expect(await w.done).toBe(EXIT.error);
    expect(w.err.text).toBe('error: timed out after 10m waiting for canary "podinfo" to finish (phase Progressing, canary weight 20)\n');
  });

  it('exits 4 when the canary is deleted', async () => {
    const c0 = progressing();
    const w = await startWatch(c0);
    await until(() => w.source.opened === 2, 'streams open');
    w.source.emitCanary('DELETED', c0);
    expect(await w.done).toBe(EXIT.notFound);
    expect(w.err.text).toBe('error: canary "podinfo" not found in namespace "shop"\n');
  });

  it('relists on 410 Gone and goes on from the fresh object', async () => {
    const c0 = progressing();
    const w = await startWatch(c0);
    await until(() => w.source.opened === 2, 'streams open');
    w.store.put(next(c0, { canaryWeight: 60, stepIndex: 3 }, 'x'));
    w.source.failCanaryStream(new KubeApiError(410, 'watch: HTTP 410: too old resource version'));
    await until(() => w.source.canaryStreams.length === 2, 'reopened');
    expect(w.source.canaryStreams[1]?.rv).toBe(w.store.stored('shop', 'podinfo').metadata.resourceVersion);
    expect(w.out.text).toContain('stable=40 canary=60');
    w.interrupt.abort(new InterruptedError());
    expect(await w.done).toBe(EXIT.interrupted);
  });

  it('retries a dropped connection after a backoff, then gives up with exit 6', async () => {
    const w = await startWatch(progressing());
    await until(() => w.source.opened === 2, 'streams open');
    for (let attempt = 1; attempt <= 6; attempt++) {
      w.source.failCanaryStream(new KubeApiError(0, 'watch Canary shop/podinfo: socket hang up'));
      if (attempt === 6) break;
      await until(() => w.clock.pending >= 2, 'backing off'); // the timeout plus the backoff sleep
      await w.clock.advance(10_000);
      await until(() => w.source.canaryStreams.length === attempt + 1, `reopened ${attempt}`);
    }
    expect(await w.done).toBe(EXIT.unreachable);
    expect(w.err.text).toContain('socket hang up');
  });

  it('keeps going without events when Events cannot be read', async () => {
    const events = new FakeEvents();
    events.failWith = new KubeApiError(403, 'list Events: HTTP 403: events is forbidden');
    const c0 = progressing();
    const w = await startWatch(c0, { events });
    await until(() => w.source.opened === 1, 'canary stream open');
    expect(w.source.eventStreams).toHaveLength(0);
    expect(w.err.text).toContain('warning: cannot read Events');
    w.source.emitCanary('MODIFIED', next(c0, { phase: 'Succeeded', canaryWeight: 100 }, '205'));
    expect(await w.done).toBe(0);
  });

  it('Ctrl-C exits 130', async () => {
    const w = await startWatch(progressing());
    await until(() => w.source.opened === 2, 'streams open');
    w.interrupt.abort(new InterruptedError());
    expect(await w.done).toBe(130);
  });
});

describe('watch on a terminal', () => {
  it('redraws the view in place on each change', async () => {
    const c0 = progressing();
    const w = await startWatch(c0, { tty: true, events: new FakeEvents([event('old', 'RolloutStarted', 'Rollout started', -600_000)]) });
    await until(() => w.source.opened === 2, 'streams open');
    const firstFrame = w.out.text;
    expect(firstFrame).not.toContain('\x1b[');
    expect(firstFrame).toContain('stable ████████░░ 80 | canary 20');
    expect(firstFrame).toContain('RolloutStarted: Rollout started');
    w.source.emitCanary('MODIFIED', next(c0, { canaryWeight: 40, stepIndex: 2 }, '202'));
    const second = w.out.text.slice(firstFrame.length);
    expect(second.startsWith(`\x1b[${rowsOf(firstFrame, undefined)}A\r\x1b[J`)).toBe(true);
    expect(second).toContain('stable ██████░░░░ 60 | canary 40');
    w.source.emitEvent(event('ev9', 'CheckFailed', 'latency-p99 above 500', 30_000, { type: 'Warning' }));
    expect(w.out.text.slice(firstFrame.length + second.length)).toContain('CheckFailed: latency-p99 above 500');
    w.source.emitCanary('MODIFIED', next(c0, { phase: 'Succeeded', canaryWeight: 100, message: 'Promoted' }, '203'));
    expect(await w.done).toBe(0);
    expect(w.out.text.trimEnd().split('\n').at(-1)).toBe('rollout succeeded: Promoted');
  });

  it('counts wrapped lines when moving the cursor back', () => {
    expect(rowsOf('abc\ndefgh\n', 4)).toBe(3);
    expect(rowsOf('abc\n\n', 80)).toBe(2);
    expect(rowsOf('\x1b[31mabcd\x1b[39m\n', 4)).toBe(1);
  });
});
