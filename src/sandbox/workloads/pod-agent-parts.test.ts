import type { Pod } from '../mesh/kube/types.js';
import { PodIpPool } from './pod-ips.js';
import { runningPodStatus } from './pod-status.js';
import { echoPod } from './workload-spec.js';

const pod = (over: Partial<Pod['metadata']> = {}, image = 'hashicorp/http-echo:1.0'): Pod => ({
  metadata: {
    name: 'backend-v2-5d8f7c9b4-x7k2q',
    namespace: 'istio-test',
    uid: 'u-1',
    labels: { app: 'backend', 'pod-template-hash': '5d8f7c9b4' },
    annotations: { 'sandbox.routeshift.io/error-rate': '0.5' },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'backend-v2-5d8f7c9b4', uid: 'rs', controller: true }],
    ...over,
  },
  spec: { containers: [{ name: 'echo', image, args: ['-text=v2', '-status-code=503'] }] },
});

describe('the pod agent', () => {
  it('names the Deployment of a pod from its ReplicaSet less the template hash, and reads its settings', () => {
    const p = echoPod(pod());
    expect(p).toMatchObject({ uid: 'u-1', name: 'backend-v2-5d8f7c9b4-x7k2q', namespace: 'istio-test', deployment: 'backend-v2' });
    expect(p?.config).toEqual({ text: 'v2', statusCode: 503, faults: { errorRate: 0.5, latency: { min: 0, max: 0 } } });
  });

  it('runs only http-echo pods that have a uid', () => {
    expect(echoPod(pod({}, 'nginx'))).toBeUndefined();
    expect(echoPod(pod({ uid: undefined }))).toBeUndefined();
  });

  it('falls back to the owner name when the ReplicaSet name does not end in the hash', () => {
    expect(echoPod(pod({ labels: {}, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'odd', uid: 'r', controller: true }] }))?.deployment).toBe('odd');
  });

  it('hands out unique pod IPs in 10.244.0.0/16 and reuses released ones', () => {
    const pool = new PodIpPool();
    const ips = Array.from({ length: 300 }, () => pool.take());
    expect(new Set(ips).size).toBe(300);
    expect(ips[0]).toBe('10.244.0.1');
    expect(ips[255]).toBe('10.244.1.0');
    for (const ip of ips) expect(ip).toMatch(/^10\.244\.\d{1,3}\.\d{1,3}$/);
    pool.release('10.244.0.7');
    expect(pool.take()).toBe('10.244.0.7');
  });

  it('reports a pod Running and Ready with its IP, keeping condition times that did not change', () => {
    const p = pod();
    const first = runningPodStatus(p, '10.244.0.9', '2026-12-07T00:00:00Z');
    expect(first).toMatchObject({ phase: 'Running', podIP: '10.244.0.9', podIPs: [{ ip: '10.244.0.9' }] });
    expect(first.conditions?.find((c) => c.type === 'Ready')).toEqual({ type: 'Ready', status: 'True', lastTransitionTime: '2026-12-07T00:00:00Z' });
    const again = runningPodStatus({ ...p, status: first }, '10.244.0.9', '2026-12-07T00:05:00Z');
    expect(again.conditions?.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe('2026-12-07T00:00:00Z');
  });
});
