/**
 * Builds the JSON Patch that moves the owned pair's weights and nothing else. Flagger rewrites whole
 * routes and drops user rules/filters; here `test` ops first pin what we read (rule name, both
 * backendRefs' identity and current weights at their indices), so if anyone reordered, renamed or
 * re-weighted them since our read, the API server rejects the whole patch instead of us writing a
 * weight onto someone else's backend.
 */
import { WeightError } from './errors.js';
import { formatPointer, type JsonPatchOp } from './json-patch.js';
import { ownedRefsAt, routeLabel } from './locate.js';
import { effectiveWeight, MAX_WEIGHT } from './weights.js';
import type { BackendRef, OwnedBackends, Route } from './types.js';

export interface TargetWeights {
  stable: number;
  canary: number;
}

function checkTarget(name: string, w: number): void {
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > MAX_WEIGHT) {
    throw new WeightError('UnsafeWeights', `target ${name} weight ${w} is not an integer in 0..${MAX_WEIGHT}`);
  }
}

function pinOps(base: ReadonlyArray<string | number>, ref: BackendRef): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [{ op: 'test', path: formatPointer([...base, 'name']), value: ref.name }];
  // Only fields present on the object can be tested: RFC 6902 has no "absent" test.
  for (const field of ['port', 'kind', 'group', 'namespace'] as const) {
    if (ref[field] !== undefined) ops.push({ op: 'test', path: formatPointer([...base, field]), value: ref[field] });
  }
  if (ref.weight !== undefined) ops.push({ op: 'test', path: formatPointer([...base, 'weight']), value: ref.weight });
  return ops;
}

function writeOp(base: ReadonlyArray<string | number>, ref: BackendRef, value: number): JsonPatchOp {
  const path = formatPointer([...base, 'weight']);
  return ref.weight === undefined ? { op: 'add', path, value } : { op: 'replace', path, value };
}

/**
 * RFC 6902 ops setting the owned pair to `target`, or [] when it already holds those weights.
 * Throws WeightError 'UnsafeWeights' for an out-of-range target or one that leaves the rule at total 0.
 */
export function buildWeightPatch(route: Route, owned: OwnedBackends, target: TargetWeights): JsonPatchOp[] {
  checkTarget('stable', target.stable);
  checkTarget('canary', target.canary);
  const { rule, stable, canary } = ownedRefsAt(route, owned);
  const label = routeLabel(route);
  const others = (rule.backendRefs ?? []).reduce(
    (sum, ref, i) => (i === owned.stableIndex || i === owned.canaryIndex ? sum : sum + effectiveWeight(ref, `${label} backendRef ${i}`)),
    0,
  );
  if (target.stable + target.canary + others === 0) {
    throw new WeightError(
      'UnsafeWeights',
      `refusing to set every backendRef of rule ${owned.ruleIndex} of ${label} to weight 0 (all-zero traffic split is undefined in Gateway API)`,
    );
  }
  const cur = { stable: effectiveWeight(stable, `${label} stable`), canary: effectiveWeight(canary, `${label} canary`) };
  if (cur.stable === target.stable && cur.canary === target.canary) return [];

  const rulePath = ['spec', 'rules', owned.ruleIndex] as const;
  const stableBase = [...rulePath, 'backendRefs', owned.stableIndex];
  const canaryBase = [...rulePath, 'backendRefs', owned.canaryIndex];
  const ops: JsonPatchOp[] = [];
  if (rule.name !== undefined) ops.push({ op: 'test', path: formatPointer([...rulePath, 'name']), value: rule.name });
  ops.push(...pinOps(stableBase, stable), ...pinOps(canaryBase, canary));
  ops.push(writeOp(stableBase, stable, target.stable), writeOp(canaryBase, canary, target.canary));
  return ops;
}
