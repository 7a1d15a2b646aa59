import type { Container, Deployment, Pod } from '../mesh/kube/types.js';
import { parseEchoArgs } from './echo-args.js';
import type { EchoConfig } from './echo-server.js';
import { parseFaults } from './faults.js';

/** `hashicorp/http-echo` with any registry prefix, tag or digest. */
const ECHO_IMAGE = /^(?:[^/]+\/)*hashicorp\/http-echo(?::[^@/]+)?(?:@.+)?$/;

export function isEchoImage(image: string | undefined): boolean {
  return image !== undefined && ECHO_IMAGE.test(image.trim());
}

export interface EchoWorkload {
  name: string;
  namespace: string;
  replicas: number;
  labels: Record<string, string>;
  config: EchoConfig;
  /** Unreadable args or annotations, for a log line. */
  problems: string[];
}

/** What the sandbox runs for a Deployment, or undefined if it has no http-echo container. */
export function echoWorkload(d: Deployment): EchoWorkload | undefined {
  const container = d.spec?.template?.spec?.containers?.find((c) => isEchoImage(c.image));
  if (!container) return undefined;
  const replicas = d.spec?.replicas ?? 1;
  return {
    name: d.metadata.name,
    namespace: d.metadata.namespace ?? 'default',
    replicas: Number.isInteger(replicas) && replicas > 0 ? replicas : 0,
    labels: d.spec?.template?.metadata?.labels ?? {},
    ...echoSettings(container, d.spec?.template?.metadata?.annotations),
  };
}

function echoSettings(container: Container, annotations: Record<string, string> | undefined): Pick<EchoWorkload, 'config' | 'problems'> {
  const args = parseEchoArgs(container.args);
  const faults = parseFaults(annotations);
  return {
    config: { text: args.text, statusCode: args.statusCode, faults: { errorRate: faults.errorRate, latency: faults.latency } },
    problems: [...args.ignored.map((a) => `ignored arg ${a}`), ...faults.problems],
  };
}

export interface EchoPod {
  uid: string;
  name: string;
  namespace: string;
  /** The Deployment that owns the pod's ReplicaSet (the ReplicaSet's name less its template hash). */
  deployment: string;
  /** The container's first containerPort, else http-echo's default 5678: where a pod listens on its own IP. */
  containerPort: number;
  config: EchoWorkload['config'];
  problems: string[];
}

/** http-echo's default `-listen=:5678`. */
export const ECHO_DEFAULT_PORT = 5678;

/** What the pod agent runs for a Pod, or undefined if it has no http-echo container. */
export function echoPod(pod: Pod): EchoPod | undefined {
  const container = pod.spec?.containers?.find((c) => isEchoImage(c.image));
  if (!container || !pod.metadata.uid) return undefined;
  const owner = pod.metadata.ownerReferences?.find((o) => o.controller && o.kind === 'ReplicaSet');
  const hash = pod.metadata.labels?.['pod-template-hash'];
  const deployment = owner && hash && owner.name.endsWith(`-${hash}`) ? owner.name.slice(0, -hash.length - 1) : (owner?.name ?? pod.metadata.name);
  return {
    uid: pod.metadata.uid,
    name: pod.metadata.name,
    namespace: pod.metadata.namespace ?? 'default',
    deployment,
    containerPort: container.ports?.[0]?.containerPort ?? ECHO_DEFAULT_PORT,
    ...echoSettings(container, pod.metadata.annotations),
  };
}
