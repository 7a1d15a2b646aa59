import { deployment } from '../mesh/test-fixtures.js';
import { deploymentStatusEqual, desiredDeploymentStatus } from './deployment-status.js';

describe('deployment status', () => {
  const d = deployment('backend-v1', { app: 'backend' }, { replicas: 3 });
  d.metadata.generation = 7;

  it('reports ready replicas, observedGeneration and Available', () => {
    const s = desiredDeploymentStatus(d, 3, 3, 'T0');
    expect(s).toMatchObject({ observedGeneration: 7, replicas: 3, readyReplicas: 3, availableReplicas: 3, updatedReplicas: 3, unavailableReplicas: 0 });
    expect(s.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable', lastTransitionTime: 'T0' });
    const partial = desiredDeploymentStatus(d, 3, 1, 'T0');
    expect(partial.conditions?.find((c) => c.type === 'Available')?.status).toBe('False');
    expect(partial.unavailableReplicas).toBe(2);
  });

  it('keeps condition times and compares equal when only time moved', () => {
    const first = desiredDeploymentStatus(d, 3, 3, 'T0');
    const again = desiredDeploymentStatus({ ...d, status: first }, 3, 3, 'T1');
    expect(again.conditions?.[0]?.lastTransitionTime).toBe('T0');
    expect(deploymentStatusEqual(first, again)).toBe(true);
    expect(deploymentStatusEqual(first, desiredDeploymentStatus(d, 2, 2, 'T1'))).toBe(false);
    expect(deploymentStatusEqual(undefined, first)).toBe(false);
  });
});
