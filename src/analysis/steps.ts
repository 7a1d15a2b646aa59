import type { AnalysisSpec } from '../api/canary.js';
import { stageWeight, stagesOf } from './shapes.js';

/** A problem found in a spec, located by its path (same shape as InvalidSpecError's problems). */
export interface Problem {
  path: string;
  message: string;
}

/** Used when the spec gives neither `stepWeights` nor `stepWeight` (Flagger's tutorial values). */
export const DEFAULT_STEP_WEIGHT = 10;
/** Used with `stepWeight` when `maxWeight` is absent. */
export const DEFAULT_MAX_WEIGHT = 50;

/**
 * The canary weights to walk through, in order. 100 is never a step: moving to 100 is the promotion.
 * `stepWeights` is used as given; otherwise stepWeight, 2·stepWeight, ... up to maxWeight, the last partial
 * step clamped to maxWeight (stepWeight 30, maxWeight 50 gives 30, 50). Assumes a spec that passed
 * validateSteps; on a broken one it still returns something sane (never an empty list).
 */
export function weightStepsOf(analysis: Pick<AnalysisSpec, 'stepWeights' | 'stepWeight' | 'maxWeight'>): number[] {
  if (analysis.stepWeights && analysis.stepWeights.length > 0) return [...analysis.stepWeights];
  const step = analysis.stepWeight ?? DEFAULT_STEP_WEIGHT;
  const max = Math.min(analysis.maxWeight ?? DEFAULT_MAX_WEIGHT, 99);
  if (!(step > 0) || !(max > 0)) return [Math.max(1, Math.min(max > 0 ? max : DEFAULT_MAX_WEIGHT, 99))];
  const steps: number[] = [];
  for (let w = step; w < max; w += step) steps.push(w);
  steps.push(max);
  return steps;
}

/**
 * The weighted rule's canary weight at each stage of the rollout (docs/traffic-shapes.md): 0 for each mirror and
 * A/B iteration, then the weight steps (none in an A/B test). decide() walks these stages one analysis at a time.
 */
export function stepsOf(analysis: Partial<AnalysisSpec>): number[] {
  const weights = weightStepsOf(analysis);
  if (!analysis.mirror && analysis.matchRule === undefined && !(analysis.match?.length ?? 0)) return weights;
  return stagesOf(analysis, weights).map(stageWeight);
}

/** The step after `stepIndex` (-1: before the first step), or undefined when the next move is promotion. */
export function nextStep(steps: readonly number[], stepIndex: number): { stepIndex: number; weight: number } | undefined {
  const next = Math.max(-1, stepIndex) + 1;
  const weight = steps[next];
  return weight === undefined ? undefined : { stepIndex: next, weight };
}

/** True when the step at `stepIndex` is the last one (or past it, e.g. after the spec lost steps). */
export function isLastStep(steps: readonly number[], stepIndex: number): boolean {
  return stepIndex >= steps.length - 1;
}

function isWeight(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 99;
}

const WEIGHT_RANGE = 'must be a whole number from 1 to 99 (100 is the promotion itself, not a step)';

/** Problems with the step settings of `analysis`; empty when stepsOf() will give what the user meant. */
export function validateSteps(
  analysis: Pick<AnalysisSpec, 'stepWeights' | 'stepWeight' | 'maxWeight'>,
  path = 'spec.analysis',
): Problem[] {
  const problems: Problem[] = [];
  const { stepWeights, stepWeight, maxWeight } = analysis;
  if (stepWeights !== undefined && stepWeight !== undefined) {
    problems.push({ path, message: 'set either stepWeights or stepWeight, not both' });
  }
  if (stepWeights !== undefined) {
    if (maxWeight !== undefined) {
      problems.push({
        path: `${path}.maxWeight`,
        message: 'maxWeight only applies to stepWeight; with stepWeights the last step is the highest weight',
      });
    }
    if (stepWeights.length === 0) problems.push({ path: `${path}.stepWeights`, message: 'must list at least one weight' });
    stepWeights.forEach((w, i) => {
      if (!isWeight(w)) problems.push({ path: `${path}.stepWeights[${i}]`, message: `${w} ${WEIGHT_RANGE}` });
      const prev = stepWeights[i - 1];
      if (i > 0 && prev !== undefined && isWeight(w) && isWeight(prev) && w <= prev) {
        problems.push({ path: `${path}.stepWeights[${i}]`, message: `${w} must be above the previous step ${prev} (steps ascend)` });
      }
    });
  }
  if (stepWeight !== undefined && !isWeight(stepWeight)) {
    problems.push({ path: `${path}.stepWeight`, message: `${stepWeight} ${WEIGHT_RANGE}` });
  }
  if (maxWeight !== undefined && !isWeight(maxWeight)) {
    problems.push({ path: `${path}.maxWeight`, message: `${maxWeight} ${WEIGHT_RANGE}` });
  }
  return problems;
}
