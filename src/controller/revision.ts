import { createHash } from 'node:crypto';
import { ANNOTATIONS, type Canary } from '../api/canary.js';

/**
 * What is being rolled out. In GAMMA each version has its own Service, so a release is a new
 * stable/canary pair; the retry annotation is part of it so that `routeshift retry` (a new
 * annotation value) reruns the same pair after a failure, which Flagger cannot do.
 */
export function revisionOf(canary: Canary): string {
  const { routeRef, stable, canary: canarySvc } = canary.spec;
  const retry = canary.metadata.annotations?.[ANNOTATIONS.retry] ?? '';
  const basis = JSON.stringify([routeRef.kind ?? 'HTTPRoute', routeRef.namespace ?? '', routeRef.name, routeRef.rule ?? '', stable, canarySvc, retry]);
  return createHash('sha256').update(basis).digest('hex').slice(0, 10);
}
