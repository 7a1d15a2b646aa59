import { createHash, type Hash } from 'node:crypto';

/**
 * The revision of a workload: its pod template plus the ConfigMaps and Secrets the template names
 * (env, envFrom, volumes, projected volumes), as Flagger tracks them. A new image, a new env value or
 * a new ConfigMap key all change it; replicas and the Deployment's own metadata do not.
 */

/** The parts of a pod template this module reads; anything else in it is hashed as it is. */
export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    containers?: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
    [k: string]: unknown;
  };
}

interface Container {
  env?: Array<{ name?: string; valueFrom?: { configMapKeyRef?: { name?: string }; secretKeyRef?: { name?: string } } }>;
  envFrom?: Array<{ configMapRef?: { name?: string }; secretRef?: { name?: string } }>;
  [k: string]: unknown;
}

interface Volume {
  configMap?: { name?: string };
  secret?: { secretName?: string };
  projected?: { sources?: Array<{ configMap?: { name?: string }; secret?: { name?: string } }> };
  [k: string]: unknown;
}

export interface ConfigRefs {
  configMaps: string[];
  secrets: string[];
}

/** The ConfigMaps and Secrets a template names, sorted and without duplicates. */
export function configRefsOf(template: PodTemplate): ConfigRefs {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const add = (set: Set<string>, name: string | undefined): void => {
    if (name) set.add(name);
  };
  for (const c of [...(template.spec?.containers ?? []), ...(template.spec?.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      add(configMaps, e.valueFrom?.configMapKeyRef?.name);
      add(secrets, e.valueFrom?.secretKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add(configMaps, e.configMapRef?.name);
      add(secrets, e.secretRef?.name);
    }
  }
  for (const v of template.spec?.volumes ?? []) {
    add(configMaps, v.configMap?.name);
    add(secrets, v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) {
      add(configMaps, s.configMap?.name);
      add(secrets, s.secret?.name);
    }
  }
  return { configMaps: [...configMaps].sort(), secrets: [...secrets].sort() };
}

/** A ConfigMap's or Secret's contents as read from the API; undefined when it does not exist. */
export type DataObject = { data?: Record<string, string>; binaryData?: Record<string, string> } | undefined;

/**
 * Digest of a ConfigMap's or Secret's data. Keys are fed in sorted order, each length-prefixed so
 * that {a: "bc"} and {ab: "c"} differ. Only the digest leaves this function: a Secret's values are
 * never kept in memory or written to status.
 */
export function dataDigest(obj: DataObject): string {
  const h = createHash('sha256');
  if (!obj) return h.update('absent').digest('hex');
  feed(h, 'data', obj.data);
  feed(h, 'binaryData', obj.binaryData);
  return h.digest('hex');
}

function feed(h: Hash, label: string, map: Record<string, string> | undefined): void {
  h.update(`${label}:${Object.keys(map ?? {}).length};`);
  for (const k of Object.keys(map ?? {}).sort()) {
    const v = map?.[k] ?? '';
    h.update(`${k.length}:${k}${Buffer.byteLength(v)}:`).update(v);
  }
}

/** JSON with object keys sorted, so the same template always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The revision: a short digest of the template and of each referenced object's digest, by kind and
 * name. `digests` maps `configmap/<name>` and `secret/<name>` to dataDigest() of that object.
 */
export function podTemplateRevision(template: PodTemplate, digests: ReadonlyMap<string, string>): string {
  const refs = configRefsOf(template);
  const h = createHash('sha256').update(canonical(template));
  for (const name of refs.configMaps) h.update(`\nconfigmap/${name}=${digests.get(`configmap/${name}`) ?? 'absent'}`);
  for (const name of refs.secrets) h.update(`\nsecret/${name}=${digests.get(`secret/${name}`) ?? 'absent'}`);
  return h.digest('hex').slice(0, 12);
}
