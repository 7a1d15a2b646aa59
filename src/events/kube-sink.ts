import { CoreV1Api, type KubeConfig, type CoreV1Event } from '@kubernetes/client-node';
import { callOptions, CONTENT_TYPE } from '../kube/options.js';
import { toKubeApiError } from '../kube/errors.js';
import type { CoreEvent, EventSink } from './recorder.js';

/** Writes core/v1 Events, so `kubectl describe canary` shows them. */
export function kubeEventSink(kc: KubeConfig): EventSink {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async create(namespace: string, event: CoreEvent, signal: AbortSignal): Promise<void> {
      try {
        await api.createNamespacedEvent({ namespace, body: event as unknown as CoreV1Event }, callOptions(signal));
      } catch (err) {
        throw toKubeApiError(err, `create Event ${namespace}/${event.metadata.name}`);
      }
    },
    async update(namespace, name, patch, signal): Promise<void> {
      try {
        await api.patchNamespacedEvent({ namespace, name, body: patch }, callOptions(signal, { 'Content-Type': CONTENT_TYPE.mergePatch }));
      } catch (err) {
        throw toKubeApiError(err, `patch Event ${namespace}/${name}`);
      }
    },
  };
}
