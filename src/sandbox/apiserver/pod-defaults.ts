import { isObject, type Json, type JsonObject } from './json.js';

/**
 * The defaults kube-apiserver fills into a PodSpec (SetDefaults_PodSpec, SetDefaults_Container) and,
 * for a Pod itself, what SetDefaults_Pod and the default admission plugins (Priority,
 * DefaultTolerationSeconds) add, so a Pod or a Deployment's template reads back as from the real one.
 */
function obj(parent: JsonObject, key: string): JsonObject {
  const v = parent[key];
  if (isObject(v)) return v;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function setDefault(o: JsonObject, key: string, value: Json): void {
  if (o[key] === undefined) o[key] = value;
}

/** `Always` for an image without a tag or tagged `latest`, `IfNotPresent` otherwise (digests included). */
export function defaultPullPolicy(image: Json | undefined): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastPart = image.slice(image.lastIndexOf('/') + 1);
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.lastIndexOf(':') + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainer(c: Json): void {
  if (!isObject(c)) return;
  setDefault(c, 'imagePullPolicy', defaultPullPolicy(c['image']));
  setDefault(c, 'terminationMessagePath', '/dev/termination-log');
  setDefault(c, 'terminationMessagePolicy', 'File');
  setDefault(c, 'resources', {});
  if (Array.isArray(c['ports'])) for (const p of c['ports']) if (isObject(p)) setDefault(p, 'protocol', 'TCP');
}

export function defaultPodSpec(spec: JsonObject): void {
  for (const key of ['initContainers', 'containers']) {
    const list = spec[key];
    if (Array.isArray(list)) for (const c of list) defaultContainer(c);
  }
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
}

/** A new Pod: the PodSpec defaults, then what only Pods get. */
export function defaultPod(pod: JsonObject): void {
  const spec = obj(pod, 'spec');
  defaultPodSpec(spec);
  setDefault(spec, 'enableServiceLinks', true);
  setDefault(spec, 'preemptionPolicy', 'PreemptLowerPriority');
  setDefault(spec, 'priority', 0);
  const tolerations = Array.isArray(spec['tolerations']) ? spec['tolerations'] : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => isObject(t) && t['key'] === key && t['effect'] === 'NoExecute')) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec['tolerations'] = tolerations;
  const status = obj(pod, 'status');
  setDefault(status, 'qosClass', qosClass(spec));
}

/** BestEffort without requests or limits; Guaranteed when every container's requests equal its limits for cpu and memory; Burstable otherwise. */
function qosClass(spec: JsonObject): string {
  const containers = [...(Array.isArray(spec['containers']) ? spec['containers'] : []), ...(Array.isArray(spec['initContainers']) ? spec['initContainers'] : [])].filter(isObject);
  const res = containers.map((c) => (isObject(c['resources']) ? c['resources'] : {}));
  const has = (r: JsonObject, k: string): boolean => isObject(r[k]) && Object.keys(r[k] as JsonObject).length > 0;
  if (res.every((r) => !has(r, 'requests') && !has(r, 'limits'))) return 'BestEffort';
  const guaranteed = res.every((r) => {
    const limits = isObject(r['limits']) ? r['limits'] : {};
    const requests = isObject(r['requests']) ? r['requests'] : {};
    return ['cpu', 'memory'].every((k) => limits[k] !== undefined && (requests[k] === undefined || requests[k] === limits[k]));
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
