import { isObject, meta, type JsonObject } from './json.js';
import { labelSelectorString } from './selectors.js';
import { invalid } from './status.js';

/**
 * The autoscaling/v1 Scale view of an object with spec.replicas (apps/v1 Deployment), as the real
 * server's scale subresource shows it: the owner's name, namespace, uid, resourceVersion and
 * creationTimestamp; spec.replicas; status.replicas and the selector as a string.
 */
export function toScale(obj: JsonObject): JsonObject {
  const m = meta(obj);
  const spec = isObject(obj['spec']) ? obj['spec'] : {};
  const status = isObject(obj['status']) ? obj['status'] : {};
  const metadata: JsonObject = {};
  for (const k of ['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp']) if (m[k] !== undefined) metadata[k] = m[k];
  const scaleStatus: JsonObject = { replicas: typeof status['replicas'] === 'number' ? status['replicas'] : 0 };
  const selector = labelSelectorString(spec['selector']);
  if (selector) scaleStatus['selector'] = selector;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata,
    spec: typeof spec['replicas'] === 'number' ? { replicas: spec['replicas'] } : {},
    status: scaleStatus,
  };
}

/** spec.replicas of a Scale written by a client; 422 with the real server's wording when negative. */
export function scaleReplicas(scale: JsonObject, name: string): number {
  const spec = isObject(scale['spec']) ? scale['spec'] : {};
  const r = spec['replicas'];
  const n = typeof r === 'number' && Number.isInteger(r) ? r : 0;
  if (n < 0) {
    throw invalid('Scale', 'autoscaling', name, [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${n}: must be greater than or equal to 0` }]);
  }
  return n;
}
