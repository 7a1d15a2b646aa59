import type { Canary, Condition, MetricReport, Phase, SequentialEvidence, Verdict } from '../api/canary.js';
import { formatPoints, formatShare } from '../analysis/report.js';
import { describePlan, isABTest } from '../analysis/shapes.js';
import { stepsOf, weightStepsOf } from '../analysis/steps.js';
import { revisionOf } from '../controller/revision.js';
import { orient } from '../controller/workload-slots.js';

/**
 * Terminal rendering for the operator CLI. Everything here is pure (objects in, strings out) so the
 * layout is tested with fixed Canary objects; the commands decide where the strings go.
 */

/** A core/v1 Event about a Canary, reduced to what the CLI shows. */
export interface EventSummary {
  /** metadata.name of the Event, to tell repeats of one Event (count bumps) from new ones. */
  name: string;
  type: string;
  reason: string;
  message: string;
  count: number;
  firstTimestamp?: string;
  /** The Event's last occurrence (lastTimestamp, else eventTime, else firstTimestamp). */
  lastTimestamp?: string;
  /** uid of the Canary the Event is about, when the Event records it. */
  involvedUid?: string;
}

// --- style ------------------------------------------------------------------------------------------

export interface Style {
  readonly color: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;

export function makeStyle(color: boolean): Style {
  if (!color) {
    const id = (s: string): string => s;
    return { color, bold: id, dim: id, red: id, green: id, yellow: id, cyan: id };
  }
  return { color, bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };
}

/** Colour only on a terminal, and never when NO_COLOR is set to something (https://no-color.org). */
export function useColor(stream: { isTTY?: boolean }, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && !env.NO_COLOR;
}

// Matching the escape character is the point: these are the colour codes we print.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** Width on screen: escape sequences take none. (All characters we print are one column wide.) */
export function visibleWidth(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

// --- small formatters ---------------------------------------------------------------------------------

/** Four significant digits below 1000, whole numbers above: enough to compare with a threshold. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  if (Math.abs(v) >= 1000) return String(Math.round(v));
  return String(Number(v.toPrecision(4)));
}

/** kubectl's short ages: 45s, 4m10s, 25m, 3h5m, 20h, 2d4h, 12d. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  return `${d}d`;
}

export function ageSince(iso: string | undefined, now: number): string {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? '-' : formatAge(now - t);
}

/** Columns padded to the widest cell (escape-aware); the last column is not padded. */
export function table(rows: ReadonlyArray<ReadonlyArray<string>>, indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleWidth(cell))));
  return rows
    .map((row) => {
      const cells = row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleWidth(cell))));
      return (indent + cells.join('   ')).trimEnd();
    })
    .join('\n');
}

// --- weights ------------------------------------------------------------------------------------------

function clampWeight(w: number | undefined): number {
  if (w === undefined || !Number.isFinite(w)) return 0;
  return Math.min(100, Math.max(0, Math.round(w)));
}

/**
 * `stable ████████░░ 80 | canary 20`: full cells are the stable's share, light cells the canary's.
 * A canary share between 0 and 100 always shows at least one cell of each, so 1% is visible.
 */
export function weightBar(canaryWeight: number | undefined, style: Style = makeStyle(false), width = 10): string {
  const canary = clampWeight(canaryWeight);
  const stable = 100 - canary;
  let canaryCells = Math.round((canary * width) / 100);
  if (canary > 0 && canary < 100) canaryCells = Math.min(width - 1, Math.max(1, canaryCells));
  const bar = style.green('█'.repeat(width - canaryCells)) + style.yellow('░'.repeat(canaryCells));
  return `stable ${bar} ${stable} | canary ${canary}`;
}

// --- metrics ------------------------------------------------------------------------------------------

const VERDICT_MARK: Record<Verdict, string> = { pass: '✔', fail: '✘', inconclusive: '?', error: '!' };

export function verdictText(verdict: Verdict, style: Style): string {
  const text = `${VERDICT_MARK[verdict]} ${verdict}`;
  if (verdict === 'pass') return style.green(text);
  if (verdict === 'fail') return style.red(text);
  return style.yellow(text);
}

/** The measured value: the canary's, and for relative checks the stable's beside it. */
export function metricValue(r: MetricReport): string {
  const canary = r.value === undefined ? '-' : formatNumber(r.value);
  return r.stableValue === undefined ? canary : `${canary} (stable ${formatNumber(r.stableValue)})`;
}

/** Cells of one metric row: name, value, threshold, verdict, and why when it did not pass. */
export function metricRow(r: MetricReport, style: Style): string[] {
  return [r.name, metricValue(r), r.threshold, verdictText(r.verdict, style), r.verdict === 'pass' ? '' : r.message];
}

/** One metric on one line, e.g. `✔ pass  request-success-rate 99.71 (>= 99)`. */
export function metricLine(r: MetricReport, style: Style): string {
  const why = r.verdict === 'pass' || !r.message ? '' : ` - ${r.message}`;
  return `${verdictText(r.verdict, style)}  ${r.name} ${metricValue(r)} (${r.threshold})${why}`;
}

// --- the status model ---------------------------------------------------------------------------------

/** Everything `status` shows; also its -o json / -o yaml output. */
export interface StatusView {
  namespace: string;
  name: string;
  /** Absent until the controller has written status. */
  phase?: Phase;
  message?: string;
  suspended: boolean;
  route: string;
  services: { stable: string; canary: string };
  /** spec.workloads: which slot is live, which Deployment receives the next release. */
  slots?: string;
  weights: { stable: number; canary: number };
  /** `current` counts from 1; 0 before the first step. */
  step: { current: number; total: number; weights: number[]; plan?: string };
  failedChecks: number;
  threshold: number;
  inconclusiveChecks: number;
  revision?: string;
  /** Set when the spec names a revision the controller has not started yet. */
  pendingRevision?: string;
  rolloutStartTime?: string;
  lastAnalysisTime?: string;
  metrics: MetricReport[];
  /** The sequential test's accumulated counts and verdict, per sequential metric. */
  evidence: SequentialEvidence[];
  conditions: Condition[];
  events: EventSummary[];
}

export function statusView(canary: Canary, events: EventSummary[] = []): StatusView {
  const s = canary.status ?? {};
  const steps = stepsOf(canary.spec.analysis ?? {});
  const canaryWeight = clampWeight(s.canaryWeight);
  const stepIndex = s.stepIndex ?? -1;
  // With spec.workloads the desired revision comes from the Deployments (not read here), and the live slot is stable.
  const desired = canary.spec.workloads ? s.revision : revisionOf(canary);
  const { routeRef, stable, canary: canarySvc } = orient(canary).spec;
  const ns = canary.metadata.namespace ?? 'default';
  return {
    namespace: ns,
    name: canary.metadata.name,
    ...(s.phase ? { phase: s.phase } : {}),
    ...(s.message ? { message: s.message } : {}),
    suspended: canary.spec.suspend === true,
    route: `${routeRef.kind ?? 'HTTPRoute'} ${routeRef.namespace && routeRef.namespace !== ns ? `${routeRef.namespace}/` : ''}${routeRef.name}${routeRef.rule !== undefined ? ` (rule ${routeRef.rule})` : ''}`,
    services: { stable: `${stable.name}:${stable.port}`, canary: `${canarySvc.name}:${canarySvc.port}` },
    ...(canary.spec.workloads ? { slots: slotsText(orient(canary)) } : {}),
    weights: { stable: 100 - canaryWeight, canary: canaryWeight },
    step: { current: Math.min(steps.length, Math.max(0, stepIndex + 1)), total: steps.length, weights: steps, ...shapePlan(canary) },
    failedChecks: s.failedChecks ?? 0,
    threshold: canary.spec.analysis?.threshold ?? 0,
    inconclusiveChecks: s.inconclusiveChecks ?? 0,
    ...(s.revision ? { revision: s.revision } : {}),
    ...(s.revision !== desired ? { pendingRevision: desired } : {}),
    ...(s.rolloutStartTime ? { rolloutStartTime: s.rolloutStartTime } : {}),
    ...(s.lastAnalysisTime ? { lastAnalysisTime: s.lastAnalysisTime } : {}),
    metrics: s.lastAnalysis ?? [],
    evidence: s.evidence ?? [],
    conditions: s.conditions ?? [],
    events,
  };
}

function slotsText(c: Canary): string {
  const w = c.spec.workloads;
  const waiting = c.status?.workloads?.waiting;
  const base = `live ${c.spec.stable.name} (Deployment ${w?.stable.name}), idle ${c.spec.canary.name} (Deployment ${w?.canary.name}): a new template there is the next release`;
  return waiting ? `${base}; one is waiting for that Deployment to roll out since ${waiting.since}` : base;
}

export function phaseText(phase: Phase | undefined, style: Style): string {
  if (!phase) return style.dim('(not started)');
  if (phase === 'Succeeded') return style.green(phase);
  if (phase === 'Failed' || phase === 'Invalid' || phase === 'RollingBack') return style.red(phase);
  if (phase === 'TimedOut') return style.yellow(phase);
  if (phase === 'Waiting' || phase === 'Paused') return style.yellow(phase);
  return style.cyan(phase);
}

/** A Canary with mirror or A/B iterations says so ("2 mirror iterations, then steps 10, 50 then 100"), not "steps 0, 0, 10, 50". */
function shapePlan(canary: Canary): { plan?: string } {
  const a = canary.spec.analysis;
  return a && (a.mirror || isABTest(a)) ? { plan: describePlan(a, weightStepsOf(a)) } : {};
}

function stepText(v: StatusView): string {
  return `${v.step.current}/${v.step.total}`;
}

function checksText(v: StatusView, style: Style): string {
  const failed = `${v.failedChecks}/${v.threshold}`;
  return v.failedChecks > 0 ? style.red(failed) : failed;
}

function when(iso: string | undefined, now: number): string {
  return iso ? `${iso} (${ageSince(iso, now)} ago)` : '-';
}

/** Sorts by last occurrence, oldest first, and keeps the last `limit`. */
export function recentEvents(events: EventSummary[], limit = 10): EventSummary[] {
  const at = (e: EventSummary): number => Date.parse(e.lastTimestamp ?? e.firstTimestamp ?? '') || 0;
  return [...events].sort((a, b) => at(a) - at(b)).slice(-limit);
}

function eventType(type: string, style: Style): string {
  return type === 'Warning' ? style.yellow(type) : type;
}

/** One sequential metric's evidence: counts with shares, the estimate, the promotion bound and the verdict. */
export function evidenceRow(e: SequentialEvidence): string[] {
  const side = (bad: number, total: number): string => `${bad}/${total}${total > 0 ? ` (${formatShare(bad / total)})` : ''}`;
  const stable = side(e.stableBad, e.stableTotal) + (e.baseline ? `, ${e.baseline.total} from the ${e.baseline.window} before` : '');
  const num = (v: number | undefined, f: (x: number) => string): string => (v === undefined || !Number.isFinite(v) ? '-' : f(v));
  return [
    e.name,
    side(e.canaryBad, e.canaryTotal),
    stable,
    num(e.estimate, (x) => formatPoints(x / 100)),
    num(e.bound, (x) => `<= ${formatPoints(x / 100)}`),
    num(e.logLR, (x) => x.toFixed(2)),
    e.verdict,
  ];
}

/** `kubectl describe`-like page for one Canary. */
export function renderStatus(v: StatusView, now: number, style: Style = makeStyle(false)): string {
  const phase = phaseText(v.phase, style) + (v.suspended ? style.yellow('  (suspended: spec.suspend=true)') : '');
  const revision = (v.revision ?? '-') + (v.pendingRevision ? style.yellow(`  (revision ${v.pendingRevision} not started yet)`) : '');
  const summary: string[][] = [
    ['Canary:', `${v.namespace}/${v.name}`],
    ['Route:', `${v.route}: stable ${v.services.stable}, canary ${v.services.canary}`],
    ...(v.slots ? [['Slots:', v.slots]] : []),
    ['Phase:', phase],
    ...(v.message ? [['Message:', v.message]] : []),
    ['Weights:', weightBar(v.weights.canary, style)],
    ['Step:', `${stepText(v)}  (${v.step.plan ?? `steps ${v.step.weights.join(', ')}, then 100`})`],
    ['Failed checks:', `${checksText(v, style)}  (failed / threshold; ${v.inconclusiveChecks} inconclusive in a row)`],
    ['Revision:', revision],
    ['Started:', when(v.rolloutStartTime, now)],
    ['Last analysis:', when(v.lastAnalysisTime, now)],
  ];
  const out = [table(summary)];

  out.push('', style.bold('Metrics:'));
  if (v.metrics.length === 0) out.push('  (no analysis yet)');
  else out.push(table([['METRIC', 'VALUE', 'THRESHOLD', 'VERDICT', 'DETAIL'], ...v.metrics.map((m) => metricRow(m, style))], '  '));

  if (v.evidence.length > 0) {
    out.push('', style.bold('Evidence (sequential, since the rollout started):'));
    out.push(table([['METRIC', 'CANARY BAD', 'STABLE BAD', 'CANARY - STABLE', 'UPPER BOUND', 'LN E (WORSE)', 'VERDICT'], ...v.evidence.map(evidenceRow)], '  '));
  }

  out.push('', style.bold('Conditions:'));
  if (v.conditions.length === 0) out.push('  (none)');
  else {
    const rows = v.conditions.map((c) => [c.type, c.status, c.reason, ageSince(c.lastTransitionTime, now), c.message]);
    out.push(table([['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'], ...rows], '  '));
  }

  out.push('', style.bold('Events:'));
  if (v.events.length === 0) out.push('  (none)');
  else {
    const rows = v.events.map((e) => [
      ageSince(e.lastTimestamp, now) + (e.count > 1 ? ` (x${e.count})` : ''),
      eventType(e.type, style),
      e.reason,
      e.message,
    ]);
    out.push(table([['LAST SEEN', 'TYPE', 'REASON', 'MESSAGE'], ...rows], '  '));
  }
  return out.join('\n') + '\n';
}

// --- list ---------------------------------------------------------------------------------------------

export function renderList(canaries: Canary[], now: number, style: Style = makeStyle(false)): string {
  const sorted = [...canaries].sort(
    (a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || a.metadata.name.localeCompare(b.metadata.name),
  );
  const rows = sorted.map((c) => {
    const s = c.status ?? {};
    return [
      c.metadata.namespace ?? 'default',
      c.metadata.name,
      phaseText(s.phase, style) + (c.spec.suspend ? ' (suspended)' : ''),
      s.canaryWeight === undefined ? '-' : String(s.canaryWeight),
      `${s.failedChecks ?? 0}/${c.spec.analysis?.threshold ?? 0}`,
      ageSince(c.metadata.creationTimestamp, now),
    ];
  });
  return table([['NAMESPACE', 'NAME', 'PHASE', 'WEIGHT', 'FAILED', 'AGE'], ...rows]) + '\n';
}

// --- watch --------------------------------------------------------------------------------------------

/** The live view `watch` redraws on a terminal. */
export function renderWatchFrame(v: StatusView, events: EventSummary[], now: number, style: Style, maxEvents = 8): string {
  const head =
    `${style.bold(`${v.namespace}/${v.name}`)}  ${phaseText(v.phase, style)}${v.suspended ? style.yellow(' (suspended)') : ''}` +
    `  step ${stepText(v)}  failed ${checksText(v, style)}  revision ${v.revision ?? '-'}`;
  const lines = [head, `  ${weightBar(v.weights.canary, style)}`];
  if (v.message) lines.push(`  ${style.dim(v.message)}`);
  if (v.metrics.length > 0) {
    lines.push(style.bold('Metrics:') + (v.lastAnalysisTime ? style.dim(` (${ageSince(v.lastAnalysisTime, now)} ago)`) : ''));
    for (const m of v.metrics) lines.push(`  ${metricLine(m, style)}`);
  }
  const shown = recentEvents(events, maxEvents);
  if (shown.length > 0) {
    lines.push(style.bold('Events:'));
    for (const e of shown) lines.push(`  ${eventLine(e, style)}`);
  }
  return lines.join('\n') + '\n';
}

/** One line summing up the Canary, for logs (non-TTY watch). */
export function watchLine(v: StatusView): string {
  const parts = [
    `${v.namespace}/${v.name}`,
    `phase=${v.phase ?? '-'}${v.suspended ? ' (suspended)' : ''}`,
    `stable=${v.weights.stable}`,
    `canary=${v.weights.canary}`,
    `step=${stepText(v)}`,
    `failed=${v.failedChecks}/${v.threshold}`,
  ];
  if (v.metrics.length > 0) parts.push(`metrics: ${v.metrics.map((m) => `${m.name}=${metricValue(m)} ${m.verdict}`).join(', ')}`);
  let line = parts.join(' ');
  if (v.message) line += ` - ${v.message}`;
  return line;
}

export function eventLine(e: EventSummary, style: Style = makeStyle(false)): string {
  return `${e.lastTimestamp ?? '-'} ${eventType(e.type, style)} ${e.reason}: ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}`;
}
