import type { AnalysisSpec, CanarySpec, CanaryStatus } from '../api/canary.js';
import type { Problem } from './steps.js';

/**
 * Traffic shapes beyond two weights (docs/traffic-shapes.md). Each shape is a rule or filter the user wrote in the
 * route; routeshift only moves its weights (or the mirror filter's percent). What every rule and filter holds at
 * each point of the rollout is decided here, so the controller only writes it.
 */

/** One analysis stage: mirrored copies, the A/B flip, or a weight step. */
export type TrafficStage = { kind: 'mirror'; iteration: number; of: number } | { kind: 'ab'; iteration: number; of: number } | { kind: 'weight'; weight: number; step: number; of: number };

/** True when the Canary runs an A/B test (a rule with matches flipped to the canary) instead of weight steps. */
export function isABTest(analysis: Pick<AnalysisSpec, 'matchRule' | 'match'>): boolean {
  return analysis.matchRule !== undefined || (analysis.match?.length ?? 0) > 0;
}

/**
 * The stages in order: the mirror phase (`iterations` analyses), then the A/B iterations or the weight steps.
 * `weightSteps`: the weights of stepsOf() without shapes.
 */
export function stagesOf(analysis: Partial<AnalysisSpec>, weightSteps: readonly number[]): TrafficStage[] {
  const n = analysis.iterations ?? 1;
  const out: TrafficStage[] = [];
  if (analysis.mirror) for (let i = 1; i <= n; i++) out.push({ kind: 'mirror', iteration: i, of: n });
  if (isABTest(analysis)) {
    for (let i = 1; i <= n; i++) out.push({ kind: 'ab', iteration: i, of: n });
    return out;
  }
  weightSteps.forEach((weight, i) => out.push({ kind: 'weight', weight, step: i + 1, of: weightSteps.length }));
  return out;
}

/** The canary weight of the weighted rule during a stage: the mirror and A/B stages leave it at 0. */
export function stageWeight(stage: TrafficStage): number {
  return stage.kind === 'weight' ? stage.weight : 0;
}

/** "mirror iteration 2/3", "A/B iteration 1/5", "canary weight 20 (step 2/4)". */
export function describeStage(stage: TrafficStage): string {
  switch (stage.kind) {
    case 'mirror':
      return `mirror iteration ${stage.iteration}/${stage.of}`;
    case 'ab':
      return `A/B iteration ${stage.iteration}/${stage.of}`;
    case 'weight':
      return `canary weight ${stage.weight} (step ${stage.step}/${stage.of})`;
  }
}

/** What routeshift writes to the route: the weighted rule's canary share, and the shapes' rules and filter. */
export interface TrafficTarget {
  /** Canary percent of the weighted rule (routeRef.rule). */
  canary: number;
  /** Canary percent of the A/B rule (0 or 100), when the Canary runs an A/B test. */
  matchRule?: number;
  /** Canary percent of the session-affinity cookie rule (0 or 100), when it has one. */
  affinityRule?: number;
  /** The RequestMirror filter's percent (0: no copies), when the Canary mirrors first. */
  mirrorPercent?: number;
}

const ENDED = new Set(['RollingBack', 'Failed', 'TimedOut', 'Invalid']);

/**
 * The whole traffic state for a canary weight of the weighted rule `canary` at the stage status names. A rollback
 * (canary 0 with an ended or ending phase) takes every shape back to the stable; a promotion (100) takes every
 * rule to the canary and stops the copies.
 */
export function trafficFor(spec: CanarySpec, status: Pick<CanaryStatus, 'phase' | 'stepIndex'>, canary: number): TrafficTarget {
  const analysis = spec.analysis;
  const target: TrafficTarget = { canary };
  const ending = ENDED.has(status.phase ?? '') || status.phase === 'Promoting' || status.phase === 'Succeeded';
  const stage = ending ? undefined : stageKind(analysis, status.stepIndex ?? -1);
  if (isABTest(analysis)) target.matchRule = canary === 100 || stage === 'ab' ? 100 : 0;
  if (analysis.sessionAffinity?.rule !== undefined) target.affinityRule = canary > 0 ? 100 : 0;
  if (analysis.mirror) target.mirrorPercent = stage === 'mirror' && canary === 0 ? (analysis.mirrorWeight ?? 100) : 0;
  return target;
}

/** The kind of the stage at `stepIndex` (-1: before the first), without the weight steps. */
function stageKind(analysis: AnalysisSpec, stepIndex: number): TrafficStage['kind'] | undefined {
  if (stepIndex < 0) return undefined;
  if (analysis.mirror && stepIndex < (analysis.iterations ?? 1)) return 'mirror';
  return isABTest(analysis) ? 'ab' : 'weight';
}

/** Problems with the shape settings, offline (the route itself is checked by routing when it is read). */
export function validateShapes(analysis: AnalysisSpec, path = 'spec.analysis'): Problem[] {
  const problems: Problem[] = [];
  const ab = isABTest(analysis);
  const it = analysis.iterations;
  if (it !== undefined && !(Number.isInteger(it) && it >= 1)) problems.push({ path: `${path}.iterations`, message: `${it} must be a whole number of analyses, at least 1` });
  if ((ab || analysis.mirror) && it === undefined) {
    problems.push({ path: `${path}.iterations`, message: `${ab ? 'an A/B test (matchRule or match)' : 'mirror'} needs iterations: how many analyses run before ${ab ? 'the promotion' : 'the weights move'}` });
  }
  if (it !== undefined && !ab && !analysis.mirror) {
    problems.push({ path: `${path}.iterations`, message: 'iterations count the A/B test (set matchRule or match) or the mirror phase (set mirror: true); alone it does nothing' });
  }
  if (ab) {
    for (const key of ['stepWeights', 'stepWeight', 'maxWeight'] as const) {
      if (analysis[key] !== undefined) problems.push({ path: `${path}.${key}`, message: 'an A/B test has no weight steps: after its iterations the weighted rule is promoted to 100; remove it' });
    }
    if (analysis.mirror) problems.push({ path: `${path}.mirror`, message: 'mirror first is for weight steps; an A/B test already limits the canary to the matched traffic' });
    if (analysis.sessionAffinity) problems.push({ path: `${path}.sessionAffinity`, message: 'an A/B test already keeps each user on one side (by the match); sessionAffinity is for weight steps' });
  }
  (analysis.match ?? []).forEach((m, i) => {
    if ((m.headers?.length ?? 0) + (m.queryParams?.length ?? 0) === 0) problems.push({ path: `${path}.match[${i}]`, message: 'must name at least one header or query parameter' });
  });
  if (analysis.mirrorWeight !== undefined) {
    const w = analysis.mirrorWeight;
    if (!analysis.mirror) problems.push({ path: `${path}.mirrorWeight`, message: 'only used with mirror: true' });
    if (!(Number.isInteger(w) && w >= 1 && w <= 100)) problems.push({ path: `${path}.mirrorWeight`, message: `${w} must be a whole percent from 1 to 100` });
  }
  const sa = analysis.sessionAffinity;
  if (sa) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(sa.cookieName ?? '')) {
      problems.push({ path: `${path}.sessionAffinity.cookieName`, message: `"${sa.cookieName}" is not a cookie name (RFC 6265 token characters)` });
    }
    if (sa.maxAge !== undefined && !(Number.isInteger(sa.maxAge) && sa.maxAge >= 1)) {
      problems.push({ path: `${path}.sessionAffinity.maxAge`, message: `${sa.maxAge} must be a whole number of seconds, at least 1` });
    }
  }
  if (ab || analysis.mirror) {
    (analysis.metrics ?? []).forEach((m, i) => {
      if (m.mode === 'sequential') {
        problems.push({
          path: `${path}.metrics[${i}].mode`,
          message: `sequential mode sizes its evidence by the canary's weight; the ${ab ? 'A/B' : 'mirror'} phase has none: use threshold checks`,
        });
      }
    });
  }
  return problems;
}

/** The rollout's plan in words, for the RolloutStarted Event: "3 mirror iterations, then steps 10, 20 then 100". */
export function describePlan(analysis: AnalysisSpec, weightSteps: readonly number[]): string {
  const n = analysis.iterations ?? 1;
  const mirror = analysis.mirror ? `${n} mirror iteration${n === 1 ? '' : 's'}, then ` : '';
  return isABTest(analysis) ? `${mirror}${n} A/B iteration${n === 1 ? '' : 's'} then 100` : `${mirror}steps ${weightSteps.join(', ')} then 100`;
}

/** "canary 0, A/B rule canary 100, mirror 50%": the target in words, for Events. */
export function describeTarget(target: TrafficTarget): string {
  const parts = [`canary ${target.canary}`];
  if (target.matchRule !== undefined) parts.push(`A/B rule canary ${target.matchRule}`);
  if (target.affinityRule !== undefined) parts.push(`cookie rule canary ${target.affinityRule}`);
  if (target.mirrorPercent !== undefined) parts.push(`mirror ${target.mirrorPercent}%`);
  return parts.join(', ');
}
