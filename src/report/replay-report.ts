import { formatNumber } from '../analysis/report.js';
import type { ReplayMetricInfo, ReplayResult, ReplayStep } from '../replay/types.js';
import { decisionLabel } from '../replay/table.js';
import { chartElements, type ChartLine, type ChartMark, type ChartSpec } from './charts.js';

/** Rows of the decision list in the page; a week of holds would otherwise make it megabytes of table. */
const MAX_ROWS = 1000;

const COLORS = { value: '#1f6fd1', stable: '#7a7a7a', bound: '#d62728', fail: '#d62728', rollback: '#d62728', promote: 'rgba(44,160,44,0.45)' };

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Where a relative check's bound lies in the canary's unit, given the stable's value at that interval. */
function relativeBound(stable: number | undefined, compare: 'difference' | 'ratio', b: number | undefined): number | null {
  if (stable === undefined || b === undefined) return null;
  return compare === 'ratio' ? stable * b : stable + b;
}

/** One chart per metric: its value at each analysed interval, its bounds, failed checks, and rollbacks and promotions. */
export function replayCharts(r: ReplayResult): ChartSpec[] {
  const analysed = r.steps.filter((s) => s.reports.length > 0);
  const marks: ChartMark[] = r.steps
    .filter((s) => s.decision.action === 'rollback' || s.decision.action === 'promote')
    .map((s) => ({ t: Date.parse(s.time) / 1000, label: decisionLabel(s.decision), ...(s.decision.action === 'rollback' ? { color: COLORS.rollback, width: 2.5 } : { color: COLORS.promote, width: 1 }) }));
  const x = analysed.map((s) => Date.parse(s.time) / 1000);
  return r.metrics.map((m, i) => chartFor(m, i, analysed, x, marks));
}

function chartFor(m: ReplayMetricInfo, i: number, analysed: ReplayStep[], x: number[], marks: ChartMark[]): ChartSpec {
  const reports = analysed.map((s) => s.reports.find((q) => q.name === m.name));
  const value = reports.map((q) => q?.value ?? null);
  const lines: ChartLine[] = [{ label: m.name, color: COLORS.value, values: value }];
  if (reports.some((q) => q?.stableValue !== undefined)) lines.push({ label: 'stable', color: COLORS.stable, values: reports.map((q) => q?.stableValue ?? null) });
  const range = m.thresholdRange;
  if (range?.min !== undefined) lines.push({ label: `min ${formatNumber(range.min, 6)}`, color: COLORS.bound, dash: true, values: x.map(() => range.min as number) });
  if (range?.max !== undefined) lines.push({ label: `max ${formatNumber(range.max, 6)}`, color: COLORS.bound, dash: true, values: x.map(() => range.max as number) });
  const rel = m.relative;
  if (rel) {
    for (const [name, b] of [['min', rel.min], ['max', rel.max]] as const) {
      if (b === undefined) continue;
      lines.push({ label: `relative ${name} (${rel.compare} ${formatNumber(b, 6)})`, color: COLORS.bound, dash: true, values: reports.map((q) => relativeBound(q?.stableValue, rel.compare, b)) });
    }
  }
  if (m.tolerance !== undefined) {
    // The sequential value is the canary's bad share so far (percent); "worse" is judged against stable + tolerance.
    const tol = m.tolerance;
    lines.push({ label: `stable + tolerance ${formatNumber(tol, 4)}`, color: COLORS.bound, dash: true, values: reports.map((q) => (q?.stableValue === undefined ? null : q.stableValue + tol)) });
  }
  lines.push({ label: 'failed check', color: COLORS.fail, pointsOnly: true, values: reports.map((q) => (q?.verdict === 'fail' ? (q.value ?? null) : null)) });
  const failed = reports.filter((q) => q?.verdict === 'fail').length;
  return {
    id: `metric-${i}`,
    title: m.name,
    subtitle: `threshold ${m.threshold} (${m.mode}); ${failed} failed checks in ${analysed.length} analysed intervals; red lines: rollbacks, green: promotions`,
    x,
    lines,
    marks,
  };
}


/** A self-contained HTML page: summary, one chart per metric, and the decisions that were not a plain advance. */
export function renderReplayHtml(r: ReplayResult): string {
  const rows = r.steps.filter((s) => s.decision.action !== 'advance');
  const shown = rows.slice(0, MAX_ROWS);
  const sum = r.summary;
  const who = r.stableOnly ? 'the stable judged against itself' : 'the canary against the stable';
  const table = shown
    .map((s) => {
      const cls = s.decision.action === 'rollback' ? 'rb' : s.decision.action === 'promote' ? 'pr' : '';
      return `<tr class="${cls}"><td>${escape(s.time)}</td><td>${s.rollout}</td><td>${s.weight}</td><td>${escape(decisionLabel(s.decision))}</td><td>${escape(s.decision.message)}</td></tr>`;
    })
    .join('\n');
  const more = rows.length > shown.length ? `<p>${rows.length - shown.length} more rows not shown; use <code>routeshift replay -o json</code> for all.</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>routeshift replay: ${escape(r.canary.namespace)}/${escape(r.canary.name)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5em 2em;color:#222}table{border-collapse:collapse;font-size:12px}td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}tr.rb td{background:#fde8e8}tr.pr td{background:#e6f6e6}.sum{background:#f4f6f8;padding:.6em 1em;border-radius:4px}</style>
</head><body>
<h1>Replay of ${escape(r.canary.namespace)}/${escape(r.canary.name)}</h1>
<div class="sum"><p>${escape(r.from)} to ${escape(r.to)}, every ${escape(r.interval)}: ${who}, ${r.weights} weights.</p>
<p id="summary">${sum.intervals} intervals, ${sum.analysed} analysed. ${r.rollouts.length} rollouts: <b>${sum.promotions} promoted</b>, <b>${sum.rollbacks} rolled back</b>, ${r.rollouts.length - sum.promotions - sum.rollbacks} unfinished; ${sum.holds} holds.</p></div>
<div id="charts"></div>
<h2>Decisions other than advance</h2>
<table><thead><tr><th>time</th><th>rollout</th><th>weight</th><th>decision</th><th>message</th></tr></thead><tbody>
${table}
</tbody></table>${more}
${chartElements(replayCharts(r), 'charts')}
</body></html>
`;
}
