import type { AlertSpec } from '../api/canary.js';
import type { Severity } from './types.js';

const RANK: Record<Severity, number> = { info: 0, warn: 1, error: 2 };

/**
 * An alert's severity is the least severe notification it wants: `info` (the default) gets
 * everything, `warn` gets warn and error, `error` only error.
 */
export function admits(alert: Pick<AlertSpec, 'severity'>, severity: Severity): boolean {
  return RANK[severity] >= RANK[alert.severity ?? 'info'];
}
