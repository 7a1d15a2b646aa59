import { AppsV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { callOptions } from '../kube/options.js';
import { isNotFound, toKubeApiError } from '../kube/errors.js';
import { dataDigest, type PodTemplate } from './pod-template-revision.js';

/** What routeshift reads of a Deployment: its template, and whether its latest rollout is done. */
export interface WorkloadState {
  generation: number;
  template: PodTemplate;
  desired: number;
  status: { observedGeneration: number; updated: number; available: number; replicas: number };
}

/**
 * Reads a slot's Deployment and the digests of the objects its template names. Only GETs of named
 * objects: no list or watch, so nothing caches every Deployment or (worse) every Secret of the cluster.
 */
export interface WorkloadReader {
  /** undefined when the Deployment does not exist. */
  deployment(namespace: string, name: string, signal: AbortSignal): Promise<WorkloadState | undefined>;
  /** dataDigest() of a ConfigMap or Secret; the Secret's data is dropped as soon as it is hashed. */
  digest(kind: 'configmap' | 'secret', namespace: string, name: string, signal: AbortSignal): Promise<string>;
}

/** observedGeneration current and updated == available == desired (and no old replicas left). */
export function rolledOut(w: WorkloadState): boolean {
  const s = w.status;
  return s.observedGeneration >= w.generation && s.updated === w.desired && s.available === w.desired && s.replicas === w.desired;
}

/** Digest standing for a Secret the controller may not read. */
export const UNREADABLE = 'unreadable';

export function kubeWorkloadReader(kc: KubeConfig): WorkloadReader {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async deployment(namespace, name, signal) {
      try {
        const d = await apps.readNamespacedDeployment({ namespace, name }, callOptions(signal));
        return {
          generation: d.metadata?.generation ?? 0,
          template: (d.spec?.template ?? {}) as PodTemplate,
          desired: d.spec?.replicas ?? 1,
          status: {
            observedGeneration: d.status?.observedGeneration ?? 0,
            updated: d.status?.updatedReplicas ?? 0,
            available: d.status?.availableReplicas ?? 0,
            replicas: d.status?.replicas ?? 0,
          },
        };
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw toKubeApiError(err, `get Deployment ${namespace}/${name}`);
      }
    },
    async digest(kind, namespace, name, signal) {
      try {
        const obj =
          kind === 'configmap'
            ? await core.readNamespacedConfigMap({ namespace, name }, callOptions(signal))
            : await core.readNamespacedSecret({ namespace, name }, callOptions(signal));
        return dataDigest({ data: obj.data ?? {}, binaryData: 'binaryData' in obj ? (obj.binaryData ?? {}) : {} });
      } catch (err) {
        if (isNotFound(err)) return dataDigest(undefined);
        // Without the grant (docs/install.md) a Secret counts as unchanged: its edits start nothing.
        if (kind === 'secret' && toKubeApiError(err, '').status === 403) return UNREADABLE;
        throw toKubeApiError(err, `get ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${namespace}/${name}`);
      }
    },
  };
}
