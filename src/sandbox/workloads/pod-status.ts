import type { Condition, Pod } from '../mesh/kube/types.js';

/** The status a kubelet reports for a started, ready pod; condition times kept when unchanged. */
export function runningPodStatus(pod: Pod, ip: string, now: string): NonNullable<Pod['status']> & Record<string, unknown> {
  const old = pod.status?.conditions ?? [];
  const cond = (type: string): Condition => {
    const prev = old.find((c) => c.type === type);
    return { type, status: 'True', lastTransitionTime: prev?.status === 'True' && prev.lastTransitionTime ? prev.lastTransitionTime : now };
  };
  return {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    startTime: now,
    conditions: [cond('Initialized'), cond('Ready'), cond('ContainersReady'), cond('PodScheduled')],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}
