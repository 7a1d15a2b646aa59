/**
 * Decision benchmark: drives the real decide() with synthetic traffic and reports how often, and how fast,
 * each analysis mode rolls back bad canaries and promotes good ones.
 *
 *   npm run bench:decisions            # full run, writes its table into docs/benchmarks.md
 *   node dist/bench/decisions.js --runs 500 --no-write
 *
 * Traffic model: requests arrive as a Poisson process at `rps`; each goes to the canary with probability
 * weight/100 and fails with the side's error rate, so per interval the four counts (canary good/bad,
 * stable good/bad) are independent Poisson variables (thinning). One tick = one analysis interval (1m).
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CanarySpec, CanaryStatus, MetricSpec } from '../api/canary.js';
import type { QueryOutcome } from '../metrics/provider.js';
import { decide } from '../analysis/decide.js';
import { logGamma } from '../analysis/special.js';
import { parseDuration } from '../core/duration.js';
import type { Measurement, RollbackReason } from '../analysis/types.js';
import { idealIntervals, promotionBounds, promotionBoundsMarkdown, rollbackBounds, rollbackBoundsMarkdown, type PromotionBound, type RollbackBound } from './feasibility.js';

// ---------------------------------------------------------------------------------------------------------
// Random numbers: seeded, so a run can be repeated.

/** xoshiro128** (Blackman & Vigna): small, fast, good enough for Monte Carlo. */
export function rng(seed: number): () => number {
  let a = seed >>> 0 || 1;
  // splitmix32 to spread the seed over the state
  const next = (): number => {
    a = (a + 0x9e3779b9) | 0;
    let z = a;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = next();
  let s1 = next();
  let s2 = next();
  let s3 = next();
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return (result + 0.5) / 4294967296;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Poisson variate: inversion for small means, PTRS (Hörmann 1993) above. */
export function poisson(lambda: number, rand: () => number): number {
  if (!(lambda > 0)) return 0;
  if (lambda < 12) {
    let k = 0;
    let p = Math.exp(-lambda);
    let cdf = p;
    const u = rand();
    while (u > cdf) {
      k++;
      p *= lambda / k;
      cdf += p;
      if (k > 1000) break;
    }
    return k;
  }
  const slam = Math.sqrt(lambda);
  const loglam = Math.log(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invalpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rand() - 0.5;
    const v = rand();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + lambda + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (Math.log(v) + Math.log(invalpha) - Math.log(a / (us * us) + b) <= -lambda + k * loglam - logGamma(k + 1)) return k;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Cells and modes.

export interface Cell {
  /** Total requests per second over both sides. */
  rps: number;
  /** Canary success share, 0..1. */
  canarySuccess: number;
  /** Stable success share, 0..1 (default 0.999). */
  stableSuccess: number;
  /**
   * good: promoting it is right; bad: rolling it back is right; edge: worse than stable by less than the
   * sequential tolerance but by more than its rollback margin, where either outcome is acceptable.
   */
  kind: 'good' | 'bad' | 'edge';
  /**
   * Requests per second the load source adds, all to the canary (a hey hook aimed at the canary Service) whatever
   * its weight; they fail at the canary's rate but reach no user, so they count as evidence and not as harm.
   */
  load?: number;
  /**
   * The recipe's second hook: the same rate aimed at the stable Service too, so the stable's share is as well
   * measured as the canary's (what the sequential test compares).
   */
  loadStable?: boolean;
}

export type ModeId = 'flagger' | 'threshold' | 'sequential' | 'sequential-rollback' | 'sequential-baseline';

export interface Mode {
  id: ModeId;
  label: string;
  spec: CanarySpec;
}

const INTERVAL_MS = 60_000;

function baseSpec(metric: MetricSpec, analysis: Partial<CanarySpec['analysis']> = {}): CanarySpec {
  return {
    routeRef: { name: 'bench' },
    stable: { name: 'app-stable', port: 80 },
    canary: { name: 'app-canary', port: 80 },
    analysis: { interval: '1m', threshold: 5, stepWeight: 10, maxWeight: 50, metrics: [metric], ...analysis },
  };
}

/**
 * Flagger's tutorial analysis, our threshold mode with noData=hold, and the sequential mode: by default a
 * time-out hands the rollout to a person; `sequential-rollback` is the user's choice to roll back instead.
 */
export const MODES: readonly Mode[] = [
  {
    id: 'flagger',
    label: 'Flagger defaults (threshold, no data = failed check)',
    spec: baseSpec({ name: 'request-success-rate', thresholdRange: { min: 99 }, noData: 'fail' }),
  },
  {
    id: 'threshold',
    label: 'threshold mode, noData=hold',
    spec: baseSpec({ name: 'request-success-rate', thresholdRange: { min: 99 }, noData: 'hold' }),
  },
  {
    id: 'sequential',
    label: 'sequential mode (defaults)',
    spec: baseSpec({ name: 'request-success-rate', mode: 'sequential' }),
  },
  {
    id: 'sequential-rollback',
    label: 'sequential mode, onInconclusiveLimit: rollback',
    spec: baseSpec({ name: 'request-success-rate', mode: 'sequential' }, { onInconclusiveLimit: 'rollback' }),
  },
  {
    id: 'sequential-baseline',
    label: 'sequential mode, stableBaseline: 1h',
    spec: baseSpec({ name: 'request-success-rate', mode: 'sequential', sequential: { stableBaseline: '1h' } }),
  },
];

const cell = (rps: number, canarySuccess: number, kind: Cell['kind'], load?: number, loadStable?: boolean): Cell => ({
  rps,
  canarySuccess,
  stableSuccess: 0.999,
  kind,
  ...(load ? { load } : {}),
  ...(loadStable ? { loadStable } : {}),
});

/** The load source of the quiet-service recipe (docs/webhooks.md): `hey -z 2m -q 5 -c 1 <canary Service>`. */
export const LOAD_RPS = 5;

export const CELLS: readonly Cell[] = [
  ...[0.2, 1, 5, 20].map((rps) => cell(rps, 0.97, 'bad')),
  cell(5, 0.995, 'good'),
  cell(5, 0.985, 'edge'),
  cell(2, 0.92, 'bad'),
  ...[0.2, 1, 5, 20].map((rps) => cell(rps, 0.5, 'bad')),
  ...[0.2, 1, 5, 20].map((rps) => cell(rps, 0.998, 'good')),
  // Quiet services with the load source (issue 16, goal 4).
  ...[0.2, 1].flatMap((rps) => [cell(rps, 0.97, 'bad', LOAD_RPS), cell(rps, 0.5, 'bad', LOAD_RPS), cell(rps, 0.998, 'good', LOAD_RPS)]),
  ...[0.2, 1].flatMap((rps) => [cell(rps, 0.97, 'bad', LOAD_RPS, true), cell(rps, 0.998, 'good', LOAD_RPS, true)]),
];

// ---------------------------------------------------------------------------------------------------------
// One simulated rollout.

/** 'handed-over': the time-out handed the decision to a person (onInconclusiveLimit: pause); the run ends there. */
export type RunEnd = 'promoted' | 'rolled-back' | 'timed-out' | 'handed-over' | 'unfinished';

export interface RunResult {
  end: RunEnd;
  reason?: RollbackReason;
  /** Analysis intervals until the rollout ended (or maxTicks). */
  intervals: number;
  /**
   * Harm: requests the canary served until the decision times its excess bad share over the stable's
   * (expected bad requests beyond what the stable would have served; negative for a canary better than it).
   */
  harm: number;
  /** The highest weight the canary held before the decision (100 only if promoted). */
  highestWeight: number;
}

const value = (v: number): QueryOutcome => ({ kind: 'value', value: v });
const NO_DATA: QueryOutcome = { kind: 'no-data' };

export function simulateRun(mode: Mode, cell: Cell, rand: () => number, maxTicks: number): RunResult {
  const spec = mode.spec;
  const metric = spec.analysis.metrics?.[0] as MetricSpec;
  const sequential = metric.mode === 'sequential';
  const status: CanaryStatus = { stepIndex: 0, canaryWeight: 10, failedChecks: 0, inconclusiveChecks: 0, errorStreaks: {}, stepStartTime: new Date(0).toISOString(), rolloutStartTime: new Date(0).toISOString() };
  const perInterval = cell.rps * (INTERVAL_MS / 1000);
  const loadPerInterval = (cell.load ?? 0) * (INTERVAL_MS / 1000);
  const excess = cell.stableSuccess - cell.canarySuccess;
  let harm = 0;
  let highestWeight = 10;
  for (let tick = 1; tick <= maxTicks; tick++) {
    const w = (status.canaryWeight as number) / 100;
    const userBad = poisson(perInterval * w * (1 - cell.canarySuccess), rand);
    const userGood = poisson(perInterval * w * cell.canarySuccess, rand);
    const loadBad = loadPerInterval > 0 ? poisson(loadPerInterval * (1 - cell.canarySuccess), rand) : 0;
    const loadGood = loadPerInterval > 0 ? poisson(loadPerInterval * cell.canarySuccess, rand) : 0;
    const canaryBad = userBad + loadBad;
    const canaryGood = userGood + loadGood;
    const stableLoad = cell.loadStable ? loadPerInterval : 0;
    const stableBad = poisson((perInterval * (1 - w) + stableLoad) * (1 - cell.stableSuccess), rand);
    const stableGood = poisson((perInterval * (1 - w) + stableLoad) * cell.stableSuccess, rand);
    const canaryTotal = canaryBad + canaryGood;
    const stableTotal = stableBad + stableGood;
    // Harm counts users' requests only: the load source's reach no one.
    harm += (userBad + userGood) * excess;
    let m: Measurement;
    if (sequential) {
      m = {
        name: metric.name,
        canary: NO_DATA,
        counts: {
          canaryTotal: canaryTotal > 0 ? value(canaryTotal) : NO_DATA,
          canaryBad: canaryBad > 0 ? value(canaryBad) : NO_DATA,
          stableTotal: stableTotal > 0 ? value(stableTotal) : NO_DATA,
          stableBad: stableBad > 0 ? value(stableBad) : NO_DATA,
        },
      };
    } else {
      // Prometheus' success-rate query over an interval without requests is 0/0 = NaN.
      m = {
        name: metric.name,
        canary: canaryTotal > 0 ? value((100 * canaryGood) / canaryTotal) : { kind: 'not-a-number', raw: 'NaN' },
      };
    }
    const window = metric.sequential?.stableBaseline;
    if (sequential && window !== undefined && !status.evidence?.some((e) => e.baseline)) {
      // The hour before the rollout: the stable alone, at the full rate and its own share.
      const before = cell.rps * (parseDuration(window) / 1000);
      const bad = poisson(before * (1 - cell.stableSuccess), rand);
      const total = bad + poisson(before * cell.stableSuccess, rand);
      m.baseline = { window, time: new Date(0).toISOString(), stableTotal: total > 0 ? value(total) : NO_DATA, stableBad: bad > 0 ? value(bad) : NO_DATA };
    }
    const r = decide({ spec, status, measurements: [m], gates: [], now: tick * INTERVAL_MS });
    status.failedChecks = r.status.failedChecks;
    status.inconclusiveChecks = r.status.inconclusiveChecks;
    status.errorStreaks = r.status.errorStreaks;
    if (r.status.evidence) status.evidence = r.status.evidence;
    const d = r.decision;
    if (d.action === 'advance') {
      status.stepIndex = d.stepIndex;
      status.canaryWeight = d.toWeight;
      status.stepStartTime = new Date(tick * INTERVAL_MS).toISOString();
      highestWeight = Math.max(highestWeight, d.toWeight);
    } else if (d.action === 'promote') {
      return { end: 'promoted', intervals: tick, harm, highestWeight: 100 };
    } else if (d.action === 'rollback') {
      return { end: d.reason === 'InconclusiveLimit' ? 'timed-out' : 'rolled-back', reason: d.reason, intervals: tick, harm, highestWeight };
    } else if (d.reason === 'AwaitingDecision') {
      return { end: 'handed-over', intervals: tick, harm, highestWeight };
    }
  }
  return { end: 'unfinished', intervals: maxTicks, harm, highestWeight };
}

// ---------------------------------------------------------------------------------------------------------
// Many runs per cell.

export interface Distribution {
  mean: number;
  median: number;
  p90: number;
}

export interface CellResult {
  cell: Cell;
  mode: ModeId;
  runs: number;
  promoted: number;
  rolledBack: number;
  timedOut: number;
  /** Handed to a person at the time-out (onInconclusiveLimit: pause): neither a rollback nor a promotion. */
  handedOver: number;
  unfinished: number;
  reasons: Partial<Record<RollbackReason, number>>;
  /** Mean harm per rollout (RunResult.harm). */
  harm: number;
  /** Highest weight any run reached before its decision, and the share of runs past weight 30. */
  highestWeight: number;
  past30: number;
  toRollback?: Distribution;
  toPromotion?: Distribution;
}

export interface BenchOptions {
  runs?: number;
  seed?: number;
  cells?: readonly Cell[];
  modes?: readonly Mode[];
  maxTicks?: number;
}

export interface BenchReport {
  runs: number;
  seed: number;
  maxTicks: number;
  results: CellResult[];
  elapsedMs: number;
}

function distribution(values: number[]): Distribution | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
  return { mean: values.reduce((s, v) => s + v, 0) / values.length, median: at(0.5), p90: at(0.9) };
}

export function runCell(mode: Mode, cell: Cell, runs: number, seed: number, maxTicks: number): CellResult {
  const rand = rng(seed);
  const res: CellResult = { cell, mode: mode.id, runs, promoted: 0, rolledBack: 0, timedOut: 0, handedOver: 0, unfinished: 0, reasons: {}, harm: 0, highestWeight: 0, past30: 0 };
  const toRollback: number[] = [];
  const toPromotion: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = simulateRun(mode, cell, rand, maxTicks);
    res.harm += r.harm / runs;
    res.highestWeight = Math.max(res.highestWeight, r.highestWeight);
    if (r.highestWeight > 30) res.past30++;
    if (r.end === 'promoted') {
      res.promoted++;
      toPromotion.push(r.intervals);
    } else if (r.end === 'unfinished') {
      res.unfinished++;
    } else if (r.end === 'handed-over') {
      res.handedOver++;
    } else {
      if (r.end === 'timed-out') res.timedOut++;
      else res.rolledBack++;
      toRollback.push(r.intervals);
      if (r.reason) res.reasons[r.reason] = (res.reasons[r.reason] ?? 0) + 1;
    }
  }
  const dr = distribution(toRollback);
  const dp = distribution(toPromotion);
  if (dr) res.toRollback = dr;
  if (dp) res.toPromotion = dp;
  return res;
}

export function runDecisionBench(opts: BenchOptions = {}): BenchReport {
  const runs = opts.runs ?? 10_000;
  const seed = opts.seed ?? 20_260_101;
  const maxTicks = opts.maxTicks ?? 200;
  const cells = opts.cells ?? CELLS;
  const modes = opts.modes ?? MODES;
  const started = performance.now();
  const results: CellResult[] = [];
  cells.forEach((cell, ci) => {
    modes.forEach((mode, mi) => {
      // Same seed per cell across modes: each mode sees statistically identical (not identical) traffic.
      results.push(runCell(mode, cell, runs, seed + ci * 1000 + mi, maxTicks));
    });
  });
  return { runs, seed, maxTicks, results, elapsedMs: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------------------
// Output.

function pct(n: number, of: number): string {
  if (of === 0) return '-';
  const v = (100 * n) / of;
  return `${v < 10 && v > 0 ? v.toFixed(2) : v.toFixed(1)}%`;
}

function dist(d: Distribution | undefined): string {
  return d ? `${d.mean.toFixed(1)} / ${d.median} / ${d.p90}` : '-';
}

function cellLabel(c: Cell): string {
  const canary = `${+(c.canarySuccess * 100).toFixed(2)}%`;
  const stable = c.stableSuccess === 0.999 ? '' : `, stable ${+(c.stableSuccess * 100).toFixed(2)}%`;
  const load = c.load ? ` + load source ${c.load} rps${c.loadStable ? ' to each Service' : ''}` : '';
  return `${c.kind} ${canary}${stable} @ ${c.rps} rps${load}`;
}

export function formatMarkdown(report: BenchReport, modes: readonly Mode[] = MODES): string {
  const lines: string[] = [];
  lines.push(
    '| cell (canary success @ total rps) | mode | rolled back | promoted | timed out | handed to a person | harm | highest weight (past 30) | intervals to rollback (mean / median / p90) | intervals to promotion (mean / median / p90) |',
  );
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |');
  for (const r of report.results) {
    const mode = modes.find((m) => m.id === r.mode);
    const rolled = r.unfinished > 0 ? `${pct(r.rolledBack, r.runs)} (+${pct(r.unfinished, r.runs)} unfinished)` : pct(r.rolledBack, r.runs);
    const bold = (s: string, wrong: boolean): string => (wrong && s !== '0.0%' ? `**${s}**` : s);
    lines.push(
      `| ${cellLabel(r.cell)} | ${mode?.id ?? r.mode} | ${bold(rolled, r.cell.kind === 'good')} | ${bold(pct(r.promoted, r.runs), r.cell.kind === 'bad')} | ${bold(pct(r.timedOut, r.runs), r.cell.kind === 'good')} | ${pct(r.handedOver, r.runs)} | ${r.cell.kind === 'good' ? '-' : r.harm.toFixed(2)} | ${r.highestWeight} (${pct(r.past30, r.runs)}) | ${dist(r.toRollback)} | ${dist(r.toPromotion)} |`,
    );
  }
  return lines.join('\n');
}

/** Exact bounds for the report's cells (feasibility.ts): what any test could reach under the same traffic. */
export interface Bounds {
  rollback: RollbackBound[];
  promotion: PromotionBound[];
}

export function computeBounds(all: readonly Cell[]): Bounds {
  // A report lists each cell once per mode.
  // The exact bounds model users' traffic only; the load source's cells are read against the table instead.
  const cells = [...new Set(all)].filter((c) => !c.load);
  const rates = [...new Set(cells.filter((c) => c.kind === 'good').map((c) => c.rps))].sort((a, b) => a - b);
  return { rollback: rollbackBounds(cells), promotion: promotionBounds(rates) };
}

function boundFor(bounds: Bounds, cell: Cell, against: RollbackBound['against']): RollbackBound | undefined {
  return bounds.rollback.find((b) => b.cell.rps === cell.rps && b.cell.canarySuccess === cell.canarySuccess && b.against === against);
}

/**
 * "Rolled back within k intervals at the median/p90", next to what any test could do: the bound with the fastest
 * steps is the largest probability any rule has of rolling back by interval k (docs/analysis.md), so a bound below
 * 50% (90%) proves the median (p90) goal unreachable under this traffic.
 */
function withinGoal(r: CellResult, k: number, bounds: Bounds): string {
  const median = r.toRollback?.median;
  const p90 = r.toRollback?.p90;
  const ok = median !== undefined && median <= k;
  const best = boundFor(bounds, r.cell, 'margin')?.fastest[k - 1] ?? 1;
  const tol = boundFor(bounds, r.cell, 'tolerance')?.fastest[k - 1];
  const at = (v: number): string => pct(v * 100, 100);
  let note = '';
  if (best < 0.5) {
    const earliest = idealIntervals(r.cell, 'margin', 0.5);
    note = `; **unreachable by any test**: at most ${at(best)} rolled back by interval ${k}, the earliest median any test can reach is ${earliest ?? '> 60'}`;
  } else if (best < 0.9) {
    note = `; any test: at most ${at(best)} by interval ${k}${tol !== undefined ? ` (${at(tol)} against stable + tolerance)` : ''}, so a p90 of ${k} is unreachable`;
  } else if (!ok || (p90 ?? Infinity) > k) {
    note = `; any test: up to ${at(best)} by interval ${k}${tol !== undefined ? ` (${at(tol)} against stable + tolerance)` : ''}`;
  }
  return `${r.cell.rps} rps ${ok ? 'reached' : '**not reached**'} (median ${median ?? '-'}, p90 ${p90 ?? '-'}${note})`;
}

/** The sequential mode's goals (issue 8), measured on this report: each line says whether it was reached. */
export function goalSummary(report: BenchReport, bounds: Bounds = computeBounds(report.results.map((r) => r.cell))): string[] {
  const withLoad = report.results.filter((r) => r.cell.load);
  report = { ...report, results: report.results.filter((r) => !r.cell.load) };
  const seq = report.results.filter((r) => r.mode === 'sequential');
  const thr = report.results.filter((r) => r.mode === 'threshold');
  const share = (n: number, of: number): string => pct(n, of);
  const mark = (ok: boolean): string => (ok ? 'reached' : '**not reached**');
  const lines: string[] = [];
  const rollbackMode = report.results.filter((r) => r.mode === 'sequential-rollback');
  const based = report.results.filter((r) => r.mode === 'sequential-baseline');
  const worst = (rs: CellResult[], f: (r: CellResult) => number): number => Math.max(0, ...rs.map((r) => f(r) / r.runs));
  const bad = (rs: CellResult[]): CellResult[] => rs.filter((r) => r.cell.kind === 'bad');
  const good = (rs: CellResult[]): CellResult[] => rs.filter((r) => r.cell.kind === 'good');
  const allSeq = [...seq, ...rollbackMode, ...based];
  const worstPromo = worst(bad(allSeq), (r) => r.promoted);
  lines.push(`- Bad promotions <= 1% in every cell (all sequential rows): ${mark(worstPromo <= 0.01)} (worst ${share(worstPromo * 100, 100)}).`);
  const worstFalse = worst(good(allSeq), (r) => r.rolledBack);
  const timeouts = good(rollbackMode)
    .filter((r) => r.timedOut > 0)
    .map((r) => `${cellLabel(r.cell)}: ${share(r.timedOut, r.runs)}`);
  lines.push(
    `- False rollbacks <= 1% (rolled back on evidence, all sequential rows): ${mark(worstFalse <= 0.01)} (worst ${share(worstFalse * 100, 100)}). ` +
      `Time-outs rolled back only where the user chose it (\`sequential-rollback\`, onInconclusiveLimit: rollback)${timeouts.length ? `: ${timeouts.join('; ')}` : ': none'}.`,
  );
  const handed = good(seq)
    .filter((r) => r.handedOver > 0)
    .map((r) => `${cellLabel(r.cell)}: ${share(r.handedOver, r.runs)}`);
  const worstDefault = worst(good(seq), (r) => r.rolledBack + r.timedOut);
  lines.push(
    `- By default (\`sequential\`) no time-out rolls back: good canaries rolled back ${share(worstDefault * 100, 100)} at worst; ` +
      `handed to a person instead${handed.length ? ` (${handed.join('; ')})` : ': none'}. A hand-over is neither a rollback nor a promotion: the canary keeps its weight until someone decides.`,
  );
  const find = (rs: CellResult[], rps: number, success: number): CellResult | undefined => rs.find((r) => r.cell.rps === rps && r.cell.canarySuccess === success);
  const c995 = find(seq, 5, 0.995);
  if (c995) {
    const wrong = (c995.rolledBack + c995.timedOut) / c995.runs;
    lines.push(
      `- good 99.5% @ 5 rps, at most 1% wrong outcomes, time-outs included: ${mark(wrong <= 0.01)} (rolled back ${share(c995.rolledBack, c995.runs)}, timed out into a rollback ${share(c995.timedOut, c995.runs)}; handed to a person ${share(c995.handedOver, c995.runs)}, promoted ${share(c995.promoted, c995.runs)}).`,
    );
  }
  const c998 = find(seq, 1, 0.998);
  if (c998) {
    const rolled = c998.rolledBack + c998.timedOut;
    lines.push(`- good 99.8% @ 1 rps, 0% rolled back: ${mark(rolled === 0)} (${share(rolled, c998.runs)}; promoted ${share(c998.promoted, c998.runs)}, handed to a person ${share(c998.handedOver, c998.runs)}).`);
  }
  const flagger = report.results.filter((r) => r.mode === 'flagger');
  const harmRows = bad(seq).map((r) => ({ r, f: flagger.find((x) => x.cell === r.cell) }));
  const worseHarm = harmRows.filter(({ r, f }) => f !== undefined && r.harm > f.harm + 1e-9);
  if (harmRows.length > 0 && flagger.length > 0) {
    lines.push(
      `- Harm (bad requests beyond the stable's rate, until the decision), sequential <= Flagger's rule in every bad cell: ${mark(worseHarm.length === 0)} (` +
        harmRows.map(({ r, f }) => `${cellLabel(r.cell)}: ${r.harm.toFixed(2)} vs ${f?.harm.toFixed(2) ?? '-'}`).join('; ') +
        ').',
    );
  }
  const c92 = find(seq, 2, 0.92);
  if (c92) {
    lines.push(
      `- An 8%-bad canary at 2 rps never past weight 30: ${mark(c92.highestWeight <= 30)} (highest weight in ${c92.runs} rollouts: ${c92.highestWeight}; past 30 in ${share(c92.past30, c92.runs)}; rolled back ${share(c92.rolledBack, c92.runs)}, promoted ${share(c92.promoted, c92.runs)}).`,
    );
  }
  const fifty = seq.filter((r) => r.cell.kind === 'bad' && r.cell.canarySuccess === 0.5);
  const withBaseline = (cells: CellResult[], k: number): string => {
    const rows = based.filter((b) => cells.some((r) => r.cell === b.cell));
    return rows.length ? ` With \`stableBaseline: 1h\` (\`sequential-baseline\`): ${rows.map((r) => withinGoal(r, k, bounds)).join('; ')}.` : '';
  };
  lines.push(
    `- A 50%-error canary rolled back in 1 interval (at the median; intervals to rollback include time-outs): ${fifty.map((r) => withinGoal(r, 1, bounds)).join('; ')}.` +
      withBaseline(fifty, 1),
  );
  const ninety7 = seq.filter((r) => r.cell.canarySuccess === 0.97 && r.cell.kind === 'bad');
  lines.push(
    `- 97% success at >= 5 rps rolled back within 3 intervals (at the median): ${ninety7
      .filter((r) => r.cell.rps >= 5)
      .map((r) => withinGoal(r, 3, bounds))
      .join('; ')}. (Below 5 rps, not a goal: ${ninety7
      .filter((r) => r.cell.rps < 5)
      .map((r) => withinGoal(r, 3, bounds))
      .join('; ')}.)` + withBaseline(ninety7, 3),
  );
  const goodFast = seq.filter((r) => r.cell.kind === 'good' && r.cell.canarySuccess === 0.998 && r.cell.rps >= 5);
  lines.push(
    `- Time to promote a good canary at >= 5 rps at most 1.5x the threshold mode's: ` +
      goodFast
        .map((r) => {
          const t = thr.find((x) => x.cell === r.cell);
          const ratio = r.toPromotion && t?.toPromotion ? r.toPromotion.mean / t.toPromotion.mean : Infinity;
          return `${r.cell.rps} rps ${mark(ratio <= 1.5)} (${r.toPromotion?.mean.toFixed(1) ?? '-'} vs ${t?.toPromotion?.mean.toFixed(1) ?? '-'} intervals, ${ratio.toFixed(2)}x)`;
        })
        .join('; ') +
      '.',
  );
  const slow = bounds.promotion.filter((b) => b.rps < 5);
  if (slow.length > 0) {
    lines.push(
      `- Good canaries below 5 rps: any test needs ${slow[0]?.idealClean} clean canary requests to promote at the bad-promotion bound, ` +
        slow
          .map((b) => `at ${b.rps} rps expected by interval ${b.idealCleanInterval ?? '-'} (a 99.8% canary promoted at the median after ${b.idealMedian ?? '-'} at best; the sequential mode after ${b.oursInterval ?? '-'})`)
          .join(', ') +
        '. The default time-out (10 inconclusive intervals in a row) waits while the forecast says the answer is coming within three times the time spent at the weight, and hands the rest to a person; the load source (last line) is what promotes them.',
    );
  }
  lines.push(...loadSummary(withLoad));
  return lines;
}

/** What the load source changes for quiet services (sequential mode, its defaults), next to the same cells without it. */
function loadSummary(rows: CellResult[]): string[] {
  const seq = rows.filter((r) => r.mode === 'sequential');
  if (seq.length === 0) return [];
  const share = (n: number, of: number): string => pct(n, of);
  const parts = seq.map((r) => {
    const outcome = r.cell.kind === 'good' ? `promoted ${share(r.promoted, r.runs)} (median ${r.toPromotion?.median ?? '-'} intervals), handed to a person ${share(r.handedOver, r.runs)}, rolled back ${share(r.rolledBack + r.timedOut, r.runs)}` : `rolled back ${share(r.rolledBack + r.timedOut, r.runs)} (median ${r.toRollback?.median ?? '-'} intervals), promoted ${share(r.promoted, r.runs)}, harm ${r.harm.toFixed(2)}`;
    return `${cellLabel(r.cell)}: ${outcome}`;
  });
  return [`- Quiet services with the load source (\`sequential\`): ${parts.join('; ')}.`];
}

export const START_MARKER = '<!-- bench:decisions:start -->';
export const END_MARKER = '<!-- bench:decisions:end -->';

/** Replaces the text between the markers (creating the file, or appending the markers, when absent). */
export function replaceSection(doc: string, section: string): string {
  const start = doc.indexOf(START_MARKER);
  const end = doc.indexOf(END_MARKER);
  const block = `${START_MARKER}\n${section}\n${END_MARKER}`;
  if (start >= 0 && end > start) return doc.slice(0, start) + block + doc.slice(end + END_MARKER.length);
  const sep = doc.length === 0 || doc.endsWith('\n\n') ? '' : doc.endsWith('\n') ? '\n' : '\n\n';
  return `${doc}${sep}${block}\n`;
}

function section(report: BenchReport, command: string, bounds: Bounds): string {
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores shared), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
  return [
    '## Decisions: rollback and promotion under synthetic traffic',
    '',
    `Command: \`${command}\` · date: ${new Date().toISOString().slice(0, 10)} · machine: ${machine} · ` +
      `${report.runs} runs per cell and mode, seed ${report.seed}, ${(report.elapsedMs / 1000).toFixed(0)} s.`,
    '',
    'Each run drives the real `decide()` tick by tick (1 tick = 1 interval of 1m) with Poisson traffic at the given total rate, ' +
      'the canary getting its current weight; stable succeeds 99.9%. Steps 10..50 by 10, threshold 5. ' +
      '`flagger`: success rate >= 99% per interval, an interval without canary requests is a failed check (Flagger counts NaN as a failure). ' +
      '`threshold`: the same with noData=hold (inconclusive; at 10 in a row the default time-out hands the rollout to a person). `sequential`: mode sequential with its defaults ' +
      '(exposure-aware steps; the time-out considered at 10 inconclusive intervals in a row, waiting while the forecast says the answer comes within three times the time spent at the weight, then handing the decision to a person: the run ends there). ' +
      '`sequential-rollback`: the same with `onInconclusiveLimit: rollback`, the user\'s choice to roll back at the time-out (phase TimedOut). ' +
      '`sequential-baseline`: the defaults plus `stableBaseline: 1h`, the stable\'s requests of the hour before the rollout (at the full rate) counted with its evidence. ' +
      '"timed out" = rolled back at the time-out; "handed to a person" = held there for a decision instead; "rolled back" counts the other rollbacks. ' +
      '"harm" = the mean, over runs, of the canary\'s requests until the decision (or hand-over) times its excess bad share over the stable\'s (expected bad requests beyond the stable\'s rate; shown for bad and edge cells). ' +
      '"highest weight" = the highest weight any run reached before its decision (100: some run was promoted), with the share of runs past weight 30. ' +
      '"edge" is 1.4 pp worse than stable: inside the sequential tolerance (2 pp) but beyond its rollback margin (0.25 pp), where either outcome is acceptable. ' +
      'Bold: the wrong outcome for the cell (a promoted bad canary, a rolled-back or timed-out good one). ' +
      'Intervals count analysis ticks from the first step (weight 10) to the decision; the fastest promotion is 5 (10, 20, 30, 40, 50, then 100). ' +
      `"+ load source ${LOAD_RPS} rps": the quiet-service recipe of [webhooks.md](webhooks.md#traffic-for-quiet-services), a hey hook sending ${LOAD_RPS} requests per second to the canary Service whatever its weight; ` +
      'they fail at the canary\'s rate and count as canary evidence, but reach no user, so they add nothing to harm. "to each Service": a second hook at the same rate aimed at the stable Service, whose requests count as stable evidence. ' +
      'The exact bounds below model users\' traffic alone and leave these cells out.',
    '',
    formatMarkdown(report),
    '',
    '### Best any test can do (exact, no simulation)',
    '',
    'The same traffic model, computed exactly ([analysis.md](analysis.md#what-any-test-can-do) derives it): the largest probability that *any* rule, ' +
      'sequential or not, rolls a bad canary back by interval k while rolling back a canary at the null share with probability at most 1% ' +
      '(the false-rollback bound). It is the power of the Neyman–Pearson test that knows the stable\'s and the canary\'s true shares, on the canary\'s ' +
      'requests up to interval k: "held at 10" keeps the canary at its first weight until an answer, "steps" moves it up every interval ' +
      '(more requests; no schedule of these steps gets more). Nulls: stable + margin is what the sequential "worse" test rejects (0.25 pp), ' +
      'stable + tolerance (2 pp) the worst acceptable canary. Interval 1 is at weight 10 for every rule. Below 50% by interval k, a median ' +
      'of k intervals is out of reach for every test; below 90%, a p90 of k. The last column is not a bound but a reference: Wald\'s SPRT ' +
      'told both shares, checked at the end of every interval with the steps and valid at every interval at once like the sequential mode ' +
      '(exact, `sprtPower`): what a test with nothing to learn reaches; the rest of the gap to the sequential mode is the price of learning the shares.',
    '',
    rollbackBoundsMarkdown(bounds.rollback),
    '',
    'Promotion: to promote at the 1% bad-promotion bound, a test must rule out a canary at stable + tolerance (2.1% bad). A canary at 2.1% ' +
      'serves n good requests in a row with probability 0.979^n, so any test that promotes on a clean record needs n with 0.979^n <= 1%. ' +
      '"Expected by interval" uses the fastest steps; "promoted at the median" is where the Neyman–Pearson power for a 99.8% canary ' +
      'reaches 50% (never before interval 5, the steps). The sequential mode\'s column is its own test on expected counts (canary clean, ' +
      'stable at 0.1%): the price of not knowing the stable\'s share and of being valid at every interval.',
    '',
    promotionBoundsMarkdown(bounds.promotion),
    '',
    'Goals for the sequential mode (computed from the tables above):',
    '',
    ...goalSummary(report, bounds),
  ].join('\n');
}

function parseArgs(argv: string[]): { runs?: number; seed?: number; write: boolean; out: string } {
  const out: { runs?: number; seed?: number; write: boolean; out: string } = { write: true, out: 'docs/benchmarks.md' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--runs' && v) {
      out.runs = Number(v);
      i++;
    } else if (a === '--seed' && v) {
      out.seed = Number(v);
      i++;
    } else if (a === '--out' && v) {
      out.out = v;
      i++;
    } else if (a === '--no-write') {
      out.write = false;
    } else {
      // An unknown flag (even --help) would otherwise run the whole bench and rewrite the docs under its name.
      throw new Error(`unknown argument ${a}; usage: node dist/bench/decisions.js [--runs N] [--seed N] [--out FILE] [--no-write]`);
    }
  }
  if (out.runs !== undefined && !(Number.isInteger(out.runs) && out.runs > 0)) throw new Error('--runs needs a positive whole number');
  return out;
}

export function main(argv: string[]): void {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const opts: BenchOptions = {};
  if (args.runs !== undefined) opts.runs = args.runs;
  if (args.seed !== undefined) opts.seed = args.seed;
  const report = runDecisionBench(opts);
  const bounds = computeBounds(report.results.map((r) => r.cell));
  const table = formatMarkdown(report);
  process.stdout.write(`${table}\n\n${goalSummary(report, bounds).join('\n')}\n\n${report.runs} runs per cell and mode in ${(report.elapsedMs / 1000).toFixed(1)} s\n`);
  if (args.write) {
    const path = resolve(process.cwd(), args.out);
    const command = `node dist/bench/decisions.js${argv.length ? ` ${argv.join(' ')}` : ''}`;
    const doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n\n';
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, replaceSection(doc, section(report, command, bounds)));
    process.stdout.write(`wrote ${path}\n`);
  }
}

const invokedAs = process.argv[1] ? resolve(process.argv[1]) : '';
if (invokedAs === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
