import type { Deployment } from '../mesh/kube/types.js';
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
  const args = parseEchoArgs(container.args);
  const faults = parseFaults(d.spec?.template?.metadata?.annotations);
  const replicas = d.spec?.replicas ?? 1;
  return {
    name: d.metadata.name,
    namespace: d.metadata.namespace ?? 'default',
    replicas: Number.isInteger(replicas) && replicas > 0 ? replicas : 0,
    labels: d.spec?.template?.metadata?.labels ?? {},
    config: { text: args.text, statusCode: args.statusCode, faults: { errorRate: faults.errorRate, latency: faults.latency } },
    problems: [...args.ignored.map((a) => `ignored arg ${a}`), ...faults.problems],
  };
}
