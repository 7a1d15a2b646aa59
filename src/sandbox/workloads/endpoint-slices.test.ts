import { service } from '../mesh/test-fixtures.js';
import { desiredSlices, diffSlices } from './endpoint-slices.js';

const workloads = [
  { name: 'backend-v1', namespace: 'istio-test', labels: { app: 'backend', version: 'v1' }, ports: [41001, 41002, 41003] },
  { name: 'backend-v2', namespace: 'istio-test', labels: { app: 'backend', version: 'v2' }, ports: [42001, 42002] },
  { name: 'other-ns', namespace: 'elsewhere', labels: { app: 'backend', version: 'v1' }, ports: [43001] },
];

describe('desiredSlices', () => {
  const services = [service('backend', { app: 'backend' }), service('backend-v1', { app: 'backend', version: 'v1' }), service('backend-v2', { app: 'backend', version: 'v2' }), service('headless-no-selector', undefined)];
  const slices = desiredSlices(services, workloads);

  it('writes one slice per matching Service and replica, in the Service namespace only', () => {
    const names = slices.map((s) => s.metadata.name).sort();
    expect(names).toEqual([
      'backend-backend-v1-0', 'backend-backend-v1-1', 'backend-backend-v1-2', 'backend-backend-v2-0', 'backend-backend-v2-1',
      'backend-v1-backend-v1-0', 'backend-v1-backend-v1-1', 'backend-v1-backend-v1-2',
      'backend-v2-backend-v2-0', 'backend-v2-backend-v2-1',
    ]);
  });

  it('shapes each slice as the endpoint controller would', () => {
    const s = slices.find((x) => x.metadata.name === 'backend-v2-backend-v2-1');
    expect(s).toMatchObject({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        namespace: 'istio-test',
        labels: { 'kubernetes.io/service-name': 'backend-v2', 'routeshift.sandbox/deployment': 'backend-v2', 'endpointslice.kubernetes.io/managed-by': 'sandbox.routeshift.io' },
        ownerReferences: [{ kind: 'Service', name: 'backend-v2', uid: 'uid-backend-v2' }],
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'backend-v2-1' } }],
      ports: [{ name: 'http', port: 42002, protocol: 'TCP' }],
    });
  });

  it('skips replicas that are not listening', () => {
    const s = desiredSlices([service('backend-v1', { app: 'backend', version: 'v1' })], [{ ...workloads[0]!, ports: [41001, undefined] }]);
    expect(s.map((x) => x.metadata.name)).toEqual(['backend-v1-backend-v1-0']);
  });
});

describe('diffSlices', () => {
  it('creates new, updates changed, deletes stale', () => {
    const svc = [service('backend-v1', { app: 'backend', version: 'v1' })];
    const before = desiredSlices(svc, [workloads[0]!]);
    const after = desiredSlices(svc, [{ ...workloads[0]!, ports: [41001, 49999] }]);
    const diff = diffSlices(before, after);
    expect(diff.create).toEqual([]);
    expect(diff.update.map((s) => s.metadata.name)).toEqual(['backend-v1-backend-v1-1']);
    expect(diff.delete.map((s) => s.metadata.name)).toEqual(['backend-v1-backend-v1-2']);
    expect(diffSlices([], after).create).toHaveLength(2);
    expect(diffSlices(after, after)).toEqual({ create: [], update: [], delete: [] });
  });
});
