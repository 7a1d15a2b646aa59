import type { AnalysisSpec } from '../api/canary.js';
import { errorMessage } from '../core/errors.js';
import { parseDuration } from '../core/duration.js';
import { validateShapes } from './shapes.js';
import { validateSteps, type Problem } from './steps.js';

/** Longest stableBaseline window. */
export const MAX_BASELINE_MS = 24 * 3_600_000;

/**
 * Problems with the settings decide() reads, beyond what the CRD schema enforces. Query and template
 * problems belong to the measuring half. An empty list means decide() will do what the spec says.
 */
export function validateDecisionSettings(analysis: AnalysisSpec, path = 'spec.analysis'): Problem[] {
  const problems: Problem[] = [...validateSteps(analysis, path), ...validateShapes(analysis, path)];
  if (!(Number.isInteger(analysis.threshold) && analysis.threshold >= 1)) {
    problems.push({ path: `${path}.threshold`, message: `${analysis.threshold} must be a whole number of failed checks, at least 1` });
  }
  if (analysis.inconclusiveLimit !== undefined && !(Number.isInteger(analysis.inconclusiveLimit) && analysis.inconclusiveLimit >= 1)) {
    problems.push({ path: `${path}.inconclusiveLimit`, message: `${analysis.inconclusiveLimit} must be a whole number, at least 1` });
  }
  const onLimit = analysis.onInconclusiveLimit as string | undefined;
  if (onLimit !== undefined && onLimit !== 'rollback' && onLimit !== 'pause') {
    problems.push({ path: `${path}.onInconclusiveLimit`, message: `"${onLimit}" must be rollback or pause` });
  }
  if (analysis.progressDeadline !== undefined) {
    try {
      parseDuration(analysis.progressDeadline, `${path}.progressDeadline`);
    } catch (err) {
      problems.push({ path: `${path}.progressDeadline`, message: errorMessage(err) });
    }
  }
  const seen = new Set<string>();
  (analysis.metrics ?? []).forEach((m, i) => {
    const at = `${path}.metrics[${i}]`;
    if (seen.has(m.name)) problems.push({ path: `${at}.name`, message: `"${m.name}" is used by another metric: names key the error streaks and evidence` });
    seen.add(m.name);
    const range = (r: { min?: number; max?: number } | undefined, where: string): void => {
      if (r?.min !== undefined && r.max !== undefined && r.min > r.max) problems.push({ path: `${at}.${where}`, message: `min ${r.min} is above max ${r.max}` });
    };
    range(m.thresholdRange, 'thresholdRange');
    range(m.relative, 'relative');
    if (m.errorsBeforeFailure !== undefined && !(Number.isInteger(m.errorsBeforeFailure) && m.errorsBeforeFailure >= 1)) {
      problems.push({ path: `${at}.errorsBeforeFailure`, message: `${m.errorsBeforeFailure} must be a whole number, at least 1` });
    }
    if (m.mode === 'sequential') {
      for (const key of ['thresholdRange', 'relative', 'minRequests'] as const) {
        if (m[key] !== undefined) problems.push({ path: `${at}.${key}`, message: `not used in sequential mode (the test judges the request counts); remove it or use mode: threshold` });
      }
      const s = m.sequential ?? {};
      if (s.tolerance !== undefined && !(s.tolerance > 0 && s.tolerance < 100)) {
        problems.push({ path: `${at}.sequential.tolerance`, message: `${s.tolerance} must be above 0 and below 100 (percentage points)` });
      }
      for (const key of ['falseRollback', 'badPromotion'] as const) {
        const value = s[key];
        if (value !== undefined && !(value > 0 && value <= 0.5)) problems.push({ path: `${at}.sequential.${key}`, message: `${value} must be above 0 and at most 0.5` });
      }
      const cat = s.catastrophicErrorRate;
      if (cat !== undefined && !(cat > 0 && cat <= 100)) {
        problems.push({ path: `${at}.sequential.catastrophicErrorRate`, message: `${cat} must be above 0 and at most 100 (percent)` });
      }
      if (s.stableBaseline !== undefined) {
        const where = `${at}.sequential.stableBaseline`;
        try {
          const ms = parseDuration(s.stableBaseline, where);
          // Longer windows reach across a day's traffic pattern, which the stationarity assumption cannot cover.
          if (!(ms >= 1000 && ms <= MAX_BASELINE_MS)) problems.push({ path: where, message: `${s.stableBaseline} must be from 1s to 24h` });
        } catch (err) {
          problems.push({ path: where, message: errorMessage(err) });
        }
      }
    } else if (m.sequential !== undefined) {
      problems.push({ path: `${at}.sequential`, message: 'only used with mode: sequential' });
    }
  });
  return problems;
}
