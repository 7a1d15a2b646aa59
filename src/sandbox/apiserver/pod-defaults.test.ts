import { describe, expect, it } from '@jest/globals';
import type { JsonObject } from './json.js';
import { defaultPod, defaultPodSpec, defaultPullPolicy } from './pod-defaults.js';

describe('pod defaults', () => {
  it('pulls untagged and latest images Always, tagged and digested ones IfNotPresent', () => {
    expect(defaultPullPolicy('nginx')).toBe('Always');
    expect(defaultPullPolicy('registry:5000/team/nginx:latest')).toBe('Always');
    expect(defaultPullPolicy('registry:5000/team/nginx')).toBe('Always');
    expect(defaultPullPolicy('nginx:1.27')).toBe('IfNotPresent');
    expect(defaultPullPolicy('nginx@sha256:abc')).toBe('IfNotPresent');
  });

  it('fills a PodSpec and its containers, keeping what is set', () => {
    const spec: JsonObject = { containers: [{ name: 'c', image: 'nginx:1', ports: [{ containerPort: 80 }] }], restartPolicy: 'Never' };
    defaultPodSpec(spec);
    expect(spec).toEqual({
      containers: [
        { name: 'c', image: 'nginx:1', ports: [{ containerPort: 80, protocol: 'TCP' }], imagePullPolicy: 'IfNotPresent', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' },
      ],
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      securityContext: {},
      schedulerName: 'default-scheduler',
    });
  });

  it('adds what only Pods get: priority, service links, the two NoExecute tolerations and the QoS class', () => {
    const pod: JsonObject = { spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } }] } };
    defaultPod(pod);
    const spec = pod['spec'] as JsonObject;
    expect(spec).toMatchObject({ enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority', priority: 0 });
    expect((spec['tolerations'] as JsonObject[]).map((t) => t['key'])).toEqual(['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    expect(pod['status']).toEqual({ qosClass: 'Guaranteed' });
    const burst: JsonObject = { spec: { containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '1' } } }] } };
    defaultPod(burst);
    expect(burst['status']).toEqual({ qosClass: 'Burstable' });
  });
});
