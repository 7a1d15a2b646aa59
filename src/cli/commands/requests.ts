import type { Canary, Phase } from '../../api/canary.js';
import { revisionOf } from '../../controller/revision.js';
import type { CommandContext } from './context.js';

/**
 * Helpers for the steering commands. The controller acts on an annotation when its value differs
 * from the one it last handled (status.handledAnnotations), so every request writes a fresh value.
 */

/** Phases in which a rollout is under way (the controller's ACTIVE set). */
const IN_FLIGHT: ReadonlySet<Phase> = new Set<Phase>(['Initializing', 'Progressing', 'Waiting', 'Paused', 'Promoting', 'RollingBack']);

/** True when the spec names a revision the controller has not started yet (new services, or a retry). */
export function rolloutPending(canary: Canary): boolean {
  // With spec.workloads the revision comes from the Deployments, which the CLI does not read: a release is
  // pending while the controller has not adopted the slots yet, or waits for the idle Deployment to roll out.
  if (canary.spec.workloads) return !canary.status?.workloads || canary.status.workloads.waiting !== undefined;
  return canary.status?.revision !== revisionOf(canary);
}

/** A rollout is under way, or about to start. */
export function rolloutInFlight(canary: Canary): boolean {
  const phase = canary.status?.phase;
  return (phase !== undefined && IN_FLIGHT.has(phase)) || rolloutPending(canary);
}

/**
 * A new, unique annotation value: the time of the request. Two requests within one millisecond (or a
 * clock that went back) get a suffix, since an unchanged value would be ignored as already handled.
 */
export function requestValue(now: number, ...previous: Array<string | undefined>): string {
  const base = new Date(now).toISOString();
  let value = base;
  for (let i = 2; previous.includes(value); i++) value = `${base}#${i}`;
  return value;
}

/** Merge-patches annotations (and optionally spec) and returns the Canary as stored. */
export async function patchCanary(
  ctx: CommandContext,
  canary: Canary,
  annotations: Record<string, string>,
  spec?: Record<string, unknown>,
): Promise<Canary> {
  const body: Record<string, unknown> = {};
  if (Object.keys(annotations).length > 0) body.metadata = { annotations };
  if (spec) body.spec = spec;
  return ctx.store.patch(ctx.namespace, canary.metadata.name, body, ctx.signal);
}

export function label(canary: Canary): string {
  return `canary ${canary.metadata.namespace ?? 'default'}/${canary.metadata.name}`;
}

export function phaseOf(canary: Canary): string {
  return canary.status?.phase ?? 'not started';
}
