import type { Condition, Deployment, DeploymentStatus } from '../mesh/kube/types.js';

/**
 * The status the Deployment controller would report once `ready` of the wanted replicas are
 * listening. Condition times are kept from `current` unless the condition's status changed.
 */
export function desiredDeploymentStatus(d: Deployment, wanted: number, ready: number, now: string): DeploymentStatus {
  const old = d.status?.conditions ?? [];
  const available = ready >= wanted;
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string): Condition => {
    const prev = old.find((c) => c.type === type);
    const keep = prev && prev.status === status;
    return {
      type,
      status,
      reason,
      message,
      lastUpdateTime: keep && prev.reason === reason && prev.lastUpdateTime ? prev.lastUpdateTime : now,
      lastTransitionTime: keep && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    };
  };
  return {
    observedGeneration: d.metadata.generation ?? 1,
    replicas: ready,
    updatedReplicas: ready,
    readyReplicas: ready,
    availableReplicas: ready,
    // Always present (even 0) so a merge patch clears an earlier non-zero value.
    unavailableReplicas: Math.max(0, wanted - ready),
    conditions: [
      available
        ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
      available
        ? cond('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${d.metadata.name}" has successfully progressed.`)
        : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${d.metadata.name}" is progressing.`),
    ],
  };
}

/** Equal apart from condition timestamps, and with absent counters read as 0 (as the API omits zeros). */
export function deploymentStatusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus | undefined): boolean {
  const norm = (s: DeploymentStatus | undefined): string =>
    JSON.stringify({
      observedGeneration: s?.observedGeneration ?? 0,
      replicas: s?.replicas ?? 0,
      updatedReplicas: s?.updatedReplicas ?? 0,
      readyReplicas: s?.readyReplicas ?? 0,
      availableReplicas: s?.availableReplicas ?? 0,
      unavailableReplicas: s?.unavailableReplicas ?? 0,
      conditions: (s?.conditions ?? []).map((c) => [c.type, c.status, c.reason ?? '', c.message ?? '']),
    });
  return norm(a) === norm(b);
}
