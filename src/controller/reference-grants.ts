import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { CANARY_KIND, GROUP as API_GROUP, type Canary } from '../api/canary.js';
import { RouteshiftError } from '../core/errors.js';
import { isNotFound, toKubeApiError } from '../kube/errors.js';
import { callOptions } from '../kube/options.js';

/**
 * A Canary borrows the controller's ClusterRole: without this check, whoever may create a Canary in
 * team-a could move the weights of a route in team-b. As Gateway API does for cross-namespace backendRefs,
 * the target namespace must say yes with a ReferenceGrant (gateway.networking.k8s.io/v1beta1) from
 * routeshift.io/Canary in the Canary's namespace.
 */

/** `grant`: a cross-namespace reference needs a ReferenceGrant; `forbid`: none is ever followed. */
export type CrossNamespacePolicy = 'grant' | 'forbid';

export const GRANT_GROUP = 'gateway.networking.k8s.io';
export const GRANT_VERSION = 'v1beta1';
/** How soon a refused Canary is checked again, so a grant created later takes effect without an edit. */
export const REFERENCE_RECHECK_MS = 10_000;

/** One object a Canary names in a namespace other than its own. */
export interface CrossReference {
  /** Where the Canary names it, e.g. `spec.routeRef`. */
  path: string;
  group: string;
  kind: string;
  name: string;
  namespace: string;
}

export interface ReferenceGrant {
  metadata?: { name?: string; namespace?: string };
  spec?: {
    from?: Array<{ group?: string; kind?: string; namespace?: string }>;
    to?: Array<{ group?: string; kind?: string; name?: string }>;
  };
}

/** A Canary names an object in another namespace that it may not use. */
export class RefNotPermittedError extends RouteshiftError {
  readonly problems: ReadonlyArray<{ path: string; message: string }>;
  constructor(problems: ReadonlyArray<{ path: string; message: string }>) {
    super('RefNotPermitted', problems.map((p) => `${p.path}: ${p.message}`).join('; '));
    this.problems = problems;
  }
}

/** Every object the Canary names outside its own namespace (none for a Canary that stays at home). */
export function crossNamespaceRefs(canary: Canary): CrossReference[] {
  const home = canary.metadata.namespace ?? 'default';
  const spec = canary.spec;
  const routeNs = spec.routeRef.namespace ?? home;
  const refs: CrossReference[] = [
    { path: 'spec.routeRef', group: spec.routeRef.group ?? GRANT_GROUP, kind: spec.routeRef.kind ?? 'HTTPRoute', name: spec.routeRef.name, namespace: routeNs },
    { path: 'spec.stable', group: '', kind: 'Service', name: spec.stable.name, namespace: spec.stable.namespace ?? routeNs },
    { path: 'spec.canary', group: '', kind: 'Service', name: spec.canary.name, namespace: spec.canary.namespace ?? routeNs },
  ];
  (spec.analysis?.metrics ?? []).forEach((m, i) => {
    if (m.templateRef?.namespace) {
      refs.push({ path: `spec.analysis.metrics[${i}].templateRef`, group: API_GROUP, kind: 'MetricTemplate', name: m.templateRef.name, namespace: m.templateRef.namespace });
    }
  });
  return refs.filter((r) => r.namespace !== home);
}

/** Whether one of `grants` (read in the reference's namespace) lets Canaries of `from` use it (Gateway API matching). */
export function permits(grants: ReferenceGrant[], from: string, ref: CrossReference): boolean {
  return grants.some(
    (g) =>
      (g.metadata?.namespace ?? ref.namespace) === ref.namespace &&
      (g.spec?.from ?? []).some((f) => f.group === API_GROUP && f.kind === CANARY_KIND && f.namespace === from) &&
      (g.spec?.to ?? []).some((t) => (t.group ?? '') === ref.group && t.kind === ref.kind && (!t.name || t.name === ref.name)),
  );
}

function describe(ref: CrossReference): string {
  const gk = ref.group ? `${ref.kind}.${ref.group}` : ref.kind;
  return `${gk} ${ref.namespace}/${ref.name}`;
}

/** The refusal for `refs` given the grants found per namespace; undefined when all are permitted. */
export function refusal(
  canary: Canary,
  refs: CrossReference[],
  grantsIn: (namespace: string) => ReferenceGrant[],
  policy: CrossNamespacePolicy,
  where = '',
): RefNotPermittedError | undefined {
  const home = canary.metadata.namespace ?? 'default';
  const problems = refs
    .filter((r) => policy === 'forbid' || !permits(grantsIn(r.namespace), home, r))
    .map((r) => ({
      path: r.path,
      message:
        policy === 'forbid'
          ? `${describe(r)} is in another namespace, and this controller forbids cross-namespace references`
          : `${describe(r)} is in another namespace; it needs a ReferenceGrant in ${r.namespace} from ${API_GROUP}/${CANARY_KIND} in ${home}${where}`,
    }));
  return problems.length ? new RefNotPermittedError(problems) : undefined;
}

export type ListGrants = (namespace: string, signal: AbortSignal) => Promise<ReferenceGrant[]>;

/**
 * The reconciler's check, before anything is read or patched. A Canary without cross-namespace references
 * makes no API call. A failed list throws (the tick is retried): it is no evidence either way.
 */
export function referenceCheck(list: ListGrants, policy: CrossNamespacePolicy) {
  return async (canary: Canary, signal: AbortSignal): Promise<RefNotPermittedError | undefined> => {
    const refs = crossNamespaceRefs(canary);
    if (refs.length === 0) return undefined;
    const found = new Map<string, ReferenceGrant[]>();
    if (policy === 'grant') {
      for (const ns of new Set(refs.map((r) => r.namespace))) found.set(ns, await list(ns, signal));
    }
    return refusal(canary, refs, (ns) => found.get(ns) ?? [], policy);
  };
}

export function kubeGrantLister(kc: KubeConfig): ListGrants {
  const api = kc.makeApiClient(CustomObjectsApi);
  return async (namespace, signal) => {
    try {
      const res = (await api.listNamespacedCustomObject({ group: GRANT_GROUP, version: GRANT_VERSION, namespace, plural: 'referencegrants' }, callOptions(signal))) as {
        items?: ReferenceGrant[];
      };
      return res.items ?? [];
    } catch (err) {
      // Without the ReferenceGrant CRD no grant can exist: the references are refused, not retried for ever.
      if (isNotFound(err)) return [];
      throw toKubeApiError(err, `list ReferenceGrants in ${namespace}`);
    }
  };
}
