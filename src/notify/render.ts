import type { NotificationMetric, RolloutNotification, Severity } from './types.js';

/** Shared wording for all providers, so Slack, Teams and Discord say the same thing. */

export interface Fact {
  label: string;
  value: string;
}

/** e.g. "RolledBack: test/podinfo" */
export function title(n: RolloutNotification): string {
  return `${n.reason}: ${n.canary.namespace}/${n.canary.name}`;
}

export function facts(n: RolloutNotification): Fact[] {
  const out: Fact[] = [
    { label: 'Phase', value: n.phase },
    { label: 'Weight', value: `${n.weight}%` },
  ];
  if (n.revision) out.push({ label: 'Revision', value: n.revision });
  out.push({ label: 'Severity', value: n.severity });
  return out;
}

/** e.g. "97.2 (>= 99): fail", "no value (>= 99): inconclusive" */
export function metricLine(m: NotificationMetric): string {
  return `${formatValue(m.value)} (${m.threshold}): ${m.verdict}`;
}

export function formatValue(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return 'no value';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toFixed(4)));
}

/** Hex colours by severity (green / amber / red), used by Slack and, as integers, Discord. */
export const SEVERITY_COLOR: Record<Severity, string> = { info: '#2EB886', warn: '#DAA038', error: '#A30200' };

export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}
