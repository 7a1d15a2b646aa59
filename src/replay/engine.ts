import type { Canary, CanaryStatus, MeshProvider } from '../api/canary.js';
import { decide } from '../analysis/decide.js';
import { SEQUENTIAL_DEFAULTS } from '../analysis/sequential.js';
import { stepsOf } from '../analysis/steps.js';
import { thresholdText } from '../analysis/report.js';
import type { DecisionResult, Measurement } from '../analysis/types.js';
import { parseDuration } from '../core/duration.js';
import { AbortedError, errorMessage, RouteshiftError } from '../core/errors.js';
import { measureResolved } from '../metrics/measure.js';
import type { MetricProvider, QueryOutcome, RangeProvider } from '../metrics/provider.js';
import { resolveMetric, type ResolvedMetric, type TemplateSet } from '../metrics/templates.js';
import { ReplayInputError, ReplayNoDataError, ReplayUnavailableError } from './errors.js';
import { gridTime, makeGrid } from './grid.js';
import { prefetch } from './prefetch.js';
import { RecordedProvider } from './recorded-provider.js';
import type { ReplayMetricInfo, ReplayResult, ReplayRollout, ReplayStep, WeightSource } from './types.js';

export interface ReplayOptions {
  canary: Canary;
  templates: TemplateSet;
  provider: MetricProvider & Partial<Pick<RangeProvider, 'queryRange'>>;
  from: number;
  to: number;
  weights?: WeightSource;
  /** Judge the stable against itself: the canary side's queries name the stable Service. */
  stableOnly?: boolean;
  /** Read the history with range queries (default); false asks one instant query per step. */
  range?: boolean;
  defaultProvider?: MeshProvider;
  /** Root Service for `{{ parent }}`, when a template uses it. */
  parent?: string;
  signal: AbortSignal;
}

/** A replay past this many intervals is almost surely a mistake in --from/--to or the interval. */
export const MAX_INTERVALS = 200_000;

/**
 * Replays a Canary's analysis over [from, to]: at each analysis interval the metrics are measured at that
 * past instant by the controller's measure(), judged by the controller's decide(), and the status carried
 * to the next interval as the reconciler carries it. Rollouts run back to back: when one ends (promoted or
 * rolled back) the next starts at the following interval. Webhooks and gates are not called.
 */
export async function replay(o: ReplayOptions): Promise<ReplayResult> {
  const spec = o.canary.spec;
  const intervalMs = parseDuration(spec.analysis.interval, 'spec.analysis.interval');
  if (!(o.to > o.from)) throw new ReplayInputError('--to must be after --from');
  const grid = makeGrid(o.from, o.to, intervalMs);
  if (grid.count > MAX_INTERVALS) {
    throw new ReplayInputError(`${grid.count} analysis intervals between --from and --to (at most ${MAX_INTERVALS}): shorten the window`);
  }
  const weights = o.weights ?? 'plan';
  const judged = o.stableOnly ? againstItself(o.canary) : o.canary;
  try {
    await o.provider.ping(o.signal);
  } catch (err) {
    if (err instanceof AbortedError) throw err;
    throw new ReplayUnavailableError(`cannot replay: ${errorMessage(err)}`, err);
  }
  const resolved = resolveAll(judged, o);
  const weightQuery = weights === 'recorded' ? recordedWeightQuery(o.canary) : undefined;
  const useRange = o.range !== false && typeof o.provider.queryRange === 'function';
  const queries = [...resolved.flatMap(queriesOf), ...(weightQuery ? [weightQuery] : [])];
  const answers = useRange ? await prefetch(o.provider as RangeProvider, queries, grid, o.signal) : new Map<string, QueryOutcome[]>();
  const reader = new RecordedProvider(o.provider, answers, grid);

  const run = new Run(judged, resolved, reader, o.signal);
  for (let i = 0; i < grid.count; i++) {
    const t = gridTime(grid, i);
    if (weightQuery) await run.recordedTick(t, await reader.query(weightQuery, { signal: o.signal, time: new Date(t) }));
    else await run.plannedTick(t);
  }
  run.finish();
  run.requireData(o.canary, weights, new Date(o.from).toISOString(), new Date(o.to).toISOString());

  const steps = run.steps;
  const count = (a: string): number => steps.filter((s) => s.decision.action === a).length;
  return {
    canary: { name: o.canary.metadata.name, namespace: o.canary.metadata.namespace ?? 'default' },
    from: new Date(o.from).toISOString(),
    to: new Date(gridTime(grid, grid.count - 1)).toISOString(),
    interval: spec.analysis.interval,
    weights,
    stableOnly: o.stableOnly === true,
    reads: useRange ? 'range' : 'instant',
    metrics: (spec.analysis.metrics ?? []).map(metricInfo),
    steps,
    rollouts: run.rollouts,
    summary: {
      intervals: grid.count,
      analysed: steps.filter((s) => s.reports.length > 0).length,
      rollbacks: count('rollback'),
      promotions: count('promote'),
      holds: count('hold'),
      advances: count('advance'),
    },
  };
}

/** The Canary with its canary side pointed at the stable, so every comparison is the stable with itself. */
export function againstItself(canary: Canary): Canary {
  const copy = structuredClone(canary);
  copy.spec.canary = { ...copy.spec.stable };
  for (const m of copy.spec.analysis.metrics ?? []) {
    const vars = m.templateVariables;
    if (vars && vars.stableWorkload !== undefined) vars.canaryWorkload = vars.stableWorkload;
    else if (vars) delete vars.canaryWorkload;
    if (m.stableProvider !== undefined) m.canaryProvider = m.stableProvider;
  }
  return copy;
}

/** The weight routeshift recorded (its routeshift_canary_weight gauge), one number even with several replicas. */
export function recordedWeightQuery(canary: Canary): string {
  const ns = canary.metadata.namespace ?? 'default';
  return `max(routeshift_canary_weight{namespace="${ns}",name="${canary.metadata.name}"})`;
}

function resolveAll(canary: Canary, o: ReplayOptions): ResolvedMetric[] {
  return (canary.spec.analysis.metrics ?? []).map((_, i) => {
    let m: ResolvedMetric;
    try {
      m = resolveMetric(canary, i, o.defaultProvider ?? 'istio', o.templates, o.parent ? { parent: o.parent } : {});
    } catch (err) {
      const where = err instanceof RouteshiftError && err.path ? `${err.path}: ` : '';
      throw new ReplayInputError(`${where}${errorMessage(err)}`);
    }
    if (m.canary.address || m.stable.address || m.baseline?.address) {
      throw new ReplayInputError(`${m.path}: template ${m.canary.template} names its own Prometheus; replay reads only --prometheus`);
    }
    return m;
  });
}

/** The queries measure() will run at every tick for this metric (the baseline is read once per rollout). */
function queriesOf(m: ResolvedMetric): string[] {
  const s = m.spec;
  const out = [m.canary.query];
  if (s.relative) out.push(m.stable.query);
  if ((s.minRequests ?? 0) > 0 && m.canary.requestsQuery) out.push(m.canary.requestsQuery);
  if (s.mode === 'sequential') {
    for (const q of [m.canary.totalQuery, m.canary.badQuery, m.stable.totalQuery, m.stable.badQuery]) if (q) out.push(q);
  }
  return out;
}

function metricInfo(m: NonNullable<Canary['spec']['analysis']['metrics']>[number]): ReplayMetricInfo {
  const info: ReplayMetricInfo = { name: m.name, threshold: thresholdText(m), mode: m.mode ?? 'threshold' };
  if (m.thresholdRange) info.thresholdRange = { ...m.thresholdRange };
  if (m.relative) info.relative = { ...m.relative };
  if (m.mode === 'sequential') info.tolerance = m.sequential?.tolerance ?? SEQUENTIAL_DEFAULTS.tolerance;
  return info;
}

/** The state the reconciler keeps in status between ticks, for one replay. */
class Run {
  readonly steps: ReplayStep[] = [];
  readonly rollouts: ReplayRollout[] = [];
  private status: CanaryStatus | undefined;
  private readonly steps_: number[];
  /** Metric name -> whether its canary side ever had a number in the window. */
  private readonly seen = new Map<string, boolean>();

  constructor(
    private readonly canary: Canary,
    private readonly metrics: readonly ResolvedMetric[],
    private readonly provider: MetricProvider,
    private readonly signal: AbortSignal,
  ) {
    this.steps_ = stepsOf(canary.spec.analysis);
    for (const m of metrics) this.seen.set(m.name, false);
  }

  /** Plan weights: a rollout starts (first step), then each interval is analysed and the decision carried out. */
  async plannedTick(t: number): Promise<void> {
    if (!this.status) {
      const status = this.start(t, 0);
      const result = decide({ spec: this.canary.spec, status, measurements: [], gates: [], now: t });
      const d = result.decision;
      // The controller's first move is its own (Reconciler.initialize), with this Event message.
      if (d.action === 'advance') d.message = `Shifted canary weight ${d.fromWeight} -> ${d.toWeight} (step 1/${this.steps_.length})`;
      this.apply(t, 0, result);
      return;
    }
    await this.analyse(t);
  }

  /**
   * Recorded weights: the weight at each interval is the one routeshift recorded. Intervals at 0 or 100 (no
   * rollout in progress) are not analysed; a rollout is judged from its first interval with a canary share.
   */
  async recordedTick(t: number, recorded: QueryOutcome): Promise<void> {
    if (recorded.kind === 'error' && recorded.transient) throw new ReplayUnavailableError(`Prometheus did not answer (${recorded.code}: ${recorded.message})`);
    const w = recorded.kind === 'value' ? recorded.value : 0;
    if (!(w > 0 && w < 100)) {
      if (this.status) this.end(t, 'unfinished', 'the recorded weight left the rollout range');
      return;
    }
    if (!this.status) {
      this.start(t, w);
      return;
    }
    if (this.status.canaryWeight !== w) {
      const at = this.steps_.findIndex((s) => s >= w);
      this.status = { ...this.status, canaryWeight: w, stepIndex: at < 0 ? this.steps_.length - 1 : at, stepStartTime: new Date(t).toISOString() };
    }
    await this.analyse(t, true);
  }

  finish(): void {
    if (this.status) this.end(undefined, 'unfinished');
  }

  /** A metric whose canary side had no number anywhere in the window gives no verdict: refuse to make one up. */
  requireData(original: Canary, weights: WeightSource, from: string, to: string): void {
    const analysed = this.steps.some((s) => s.reports.length > 0);
    if (!analysed) {
      const why = weights === 'recorded' ? `no recorded canary weight between 0 and 100 (${recordedWeightQuery(original)})` : 'the window is shorter than two analysis intervals';
      throw new ReplayNoDataError(`nothing to replay between ${from} and ${to}: ${why}`);
    }
    const empty = [...this.seen].filter(([, had]) => !had).map(([name]) => name);
    if (empty.length > 0) {
      const m = this.metrics.find((x) => x.name === empty[0]) as ResolvedMetric;
      throw new ReplayNoDataError(
        `no data between ${from} and ${to} for metric${empty.length > 1 ? 's' : ''} ${empty.join(', ')} (first query: ${m.canary.query.replace(/\s+/g, ' ')}); ` +
          'check the window and the labels: a replay of a window with no data gives no verdict',
      );
    }
  }

  private start(t: number, weight: number): CanaryStatus {
    const iso = new Date(t).toISOString();
    const at = this.steps_.findIndex((s) => s >= weight);
    this.status = {
      phase: 'Initializing',
      canaryWeight: weight,
      stepIndex: weight > 0 ? (at < 0 ? this.steps_.length - 1 : at) : -1,
      failedChecks: 0,
      inconclusiveChecks: 0,
      errorStreaks: {},
      evidence: [],
      rolloutStartTime: iso,
      stepStartTime: iso,
    };
    this.rollouts.push({ index: this.rollouts.length + 1, start: iso, outcome: 'unfinished' });
    return this.status;
  }

  private async analyse(t: number, recordedWeights = false): Promise<void> {
    const status = this.status as CanaryStatus;
    const measurements = this.canary.spec.skipAnalysis
      ? []
      : await measureResolved(this.metrics, { canary: { ...this.canary, status }, provider: this.provider, signal: this.signal, time: new Date(t) });
    this.check(measurements);
    const result = decide({ spec: this.canary.spec, status, measurements, gates: [], now: t });
    this.apply(t, status.canaryWeight ?? 0, result, recordedWeights);
  }

  /** Prometheus failing mid-replay is not history: stop rather than record the hold the controller would make. */
  private check(measurements: Measurement[]): void {
    for (const m of measurements) {
      const outcomes = [m.canary, m.stable, m.requests, m.counts?.canaryTotal, m.counts?.canaryBad, m.counts?.stableTotal, m.counts?.stableBad];
      const down = outcomes.find((x) => x?.kind === 'error' && x.transient);
      if (down?.kind === 'error') throw new ReplayUnavailableError(`Prometheus did not answer (${down.code}: ${down.message})`);
      if (m.canary.kind === 'value' || m.counts?.canaryTotal.kind === 'value') this.seen.set(m.name, true);
    }
  }

  private apply(t: number, weight: number, result: DecisionResult, recordedWeights = false): void {
    const iso = new Date(t).toISOString();
    const d = result.decision;
    const next: CanaryStatus = { ...(this.status as CanaryStatus), ...result.status };
    if (result.reports.length > 0) {
      next.lastAnalysis = result.reports;
      next.lastAnalysisTime = iso;
    }
    this.steps.push({
      time: iso,
      rollout: this.rollouts.length,
      weight,
      decision: d,
      reports: result.reports,
      failedChecks: next.failedChecks ?? 0,
      inconclusiveChecks: next.inconclusiveChecks ?? 0,
      ...(result.status.evidence && result.status.evidence.length > 0 ? { evidence: result.status.evidence } : {}),
    });
    this.status = next;
    if (d.action === 'advance' && !recordedWeights) this.status = { ...next, phase: 'Progressing', stepIndex: d.stepIndex, canaryWeight: d.toWeight, stepStartTime: iso };
    if (d.action === 'promote') this.end(t, 'promoted', d.message);
    if (d.action === 'rollback') this.end(t, 'rolled-back', d.reason);
  }

  private end(t: number | undefined, outcome: ReplayRollout['outcome'], reason?: string): void {
    const r = this.rollouts[this.rollouts.length - 1];
    if (r) {
      r.outcome = outcome;
      if (t !== undefined) r.end = new Date(t).toISOString();
      if (reason !== undefined && outcome === 'rolled-back') r.reason = reason;
    }
    this.status = undefined;
  }
}
