import { formatNumber } from '../analysis/report.js';
import type { Decision } from '../analysis/types.js';
import type { ReplayResult, ReplayStep } from './types.js';

/** The decision as one word and its reason, as the live Events name them. */
export function decisionLabel(d: Decision): string {
  if (d.action === 'advance') return `advance ${d.fromWeight}->${d.toWeight}`;
  if (d.action === 'promote') return 'promote';
  return `${d.action} (${d.reason})`;
}

function values(s: ReplayStep): string {
  return s.reports.map((r) => `${r.name}=${r.value === undefined ? '-' : formatNumber(r.value, 4)} ${r.verdict}`).join(', ');
}

/**
 * The replay as a terminal table: one row per analysis interval (or only the decisions asked for), then a
 * summary of the simulated rollouts. Pure: the command decides where it goes.
 */
export function renderReplayTable(r: ReplayResult, only?: ReadonlySet<string>): string {
  const rows = r.steps.filter((s) => !only || only.has(s.decision.action));
  const table = [['TIME', 'ROLLOUT', 'WEIGHT', 'DECISION', 'VALUES', 'MESSAGE']];
  for (const s of rows) table.push([s.time, String(s.rollout), String(s.weight), decisionLabel(s.decision), values(s), s.decision.message]);
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => (c === 5 ? 0 : row[c]!.length))));
  const lines = table.map((row) => row.map((cell, c) => (c === 5 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd());
  const rolledBack = r.rollouts.filter((x) => x.outcome === 'rolled-back');
  const sum = r.summary;
  const who = r.stableOnly ? `stable ${'against itself'}` : 'canary';
  lines.push(
    '',
    `Replayed ${r.canary.namespace}/${r.canary.name} (${who}) from ${r.from} to ${r.to} every ${r.interval}, ${r.weights} weights, ${r.reads} reads:`,
    `  ${sum.intervals} intervals, ${sum.analysed} analysed; ${r.rollouts.length} rollouts: ${sum.promotions} promoted, ${sum.rollbacks} rolled back, ` +
      `${r.rollouts.length - sum.promotions - sum.rollbacks} unfinished; ${sum.holds} holds`,
  );
  for (const x of rolledBack) lines.push(`  rollback at ${x.end ?? '?'} (${x.reason ?? ''}), rollout ${x.index} started ${x.start}`);
  if (r.stableOnly) lines.push(`  false alarms (rollbacks of the stable against itself): ${sum.rollbacks}`);
  return lines.join('\n') + '\n';
}
