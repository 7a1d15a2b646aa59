import type { Condition, HTTPRoute, ParentReference, RouteParentStatus, Service } from './kube/types.js';
import { backendNamespace, isServiceBackendRef, serviceParents } from './gamma.js';
import { mirrorFilters, routeProblems, UNSUPPORTED_REASON } from './route-support.js';

export type ServiceLookup = (namespace: string, name: string) => Service | undefined;

/** parentRefs compare equal when they name the same parent, with API defaults filled in. */
export function sameParentRef(a: ParentReference, b: ParentReference, routeNamespace: string): boolean {
  const norm = (r: ParentReference): string =>
    JSON.stringify([
      r.group === 'core' ? '' : (r.group ?? ''),
      r.kind ?? 'Gateway',
      r.namespace ?? routeNamespace,
      r.name,
      r.sectionName ?? '',
      r.port ?? 0,
    ]);
  return norm(a) === norm(b);
}

interface Problem {
  reason: 'InvalidKind' | 'BackendNotFound';
  message: string;
}

/**
 * Why the route's backendRefs (and RequestMirror backendRefs, which Istio resolves the same way)
 * do not all resolve, InvalidKind before BackendNotFound (first found wins the reason).
 */
export function backendProblems(route: HTTPRoute, lookup: ServiceLookup): Problem[] {
  const problems: Problem[] = [];
  for (const rule of route.spec?.rules ?? []) {
    for (const ref of [...(rule.backendRefs ?? []), ...mirrorFilters(rule).map((m) => m.backendRef)]) {
      const ns = backendNamespace(route, ref);
      if (!isServiceBackendRef(ref)) {
        problems.push({ reason: 'InvalidKind', message: `backendRef ${ref.name}: kind ${ref.group ?? ''}/${ref.kind ?? ''} is not supported` });
      } else if (!lookup(ns, ref.name)) {
        problems.push({ reason: 'BackendNotFound', message: `backend Service ${ns}/${ref.name} not found` });
      }
    }
  }
  problems.sort((a, b) => (a.reason === b.reason ? 0 : a.reason === 'InvalidKind' ? -1 : 1));
  return problems;
}

/**
 * The `status.parents[]` entries this mesh owns for a route: one per Service parentRef, with
 * Accepted and ResolvedRefs conditions carrying the route's generation. `now` is only used for
 * lastTransitionTime of conditions that are new or changed status (see mergeRouteStatus).
 */
export function desiredParentStatuses(route: HTTPRoute, lookup: ServiceLookup, controllerName: string, now: string): RouteParentStatus[] {
  const generation = route.metadata.generation;
  const problems = backendProblems(route, lookup);
  const unsupported = routeProblems(route);
  return serviceParents(route).map(({ ref, namespace }) => {
    const parent = lookup(namespace, ref.name);
    let accepted: Condition;
    if (!parent) {
      accepted = cond('Accepted', 'False', 'NoMatchingParent', `parent Service ${namespace}/${ref.name} not found`);
    } else if (ref.port !== undefined && !(parent.spec?.ports ?? []).some((p) => p.port === ref.port)) {
      accepted = cond('Accepted', 'False', 'NoMatchingParent', `parent Service ${namespace}/${ref.name} has no port ${ref.port}`);
    } else if (unsupported.length > 0) {
      accepted = cond('Accepted', 'False', UNSUPPORTED_REASON, unsupported.join('; '));
    } else {
      accepted = cond('Accepted', 'True', 'Accepted', 'Route was valid');
    }
    const first = problems[0];
    const resolved = first
      ? cond('ResolvedRefs', 'False', first.reason, problems.map((p) => p.message).join('; '))
      : cond('ResolvedRefs', 'True', 'ResolvedRefs', 'All references resolved');
    const conditions = [accepted, resolved].map((c) => ({
      ...c,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: now,
    }));
    return { parentRef: { ...ref }, controllerName, conditions };
  });

  function cond(type: string, status: 'True' | 'False', reason: string, message: string): Condition {
    return { type, status, reason, message };
  }
}

function conditionsEqual(a: readonly Condition[], b: readonly Condition[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((c, i) => {
    const d = b[i] as Condition;
    return (
      c.type === d.type &&
      c.status === d.status &&
      c.reason === d.reason &&
      c.message === d.message &&
      c.observedGeneration === d.observedGeneration
    );
  });
}

/**
 * Puts `desired` in place of this controller's entries, keeping other controllers' entries as they
 * are. A condition keeps its old lastTransitionTime unless its status changed (as
 * meta.SetStatusCondition does). `changed` ignores lastTransitionTime, so rewriting the same status
 * never triggers a write, and a write's own watch event settles.
 */
export function mergeRouteStatus(
  route: HTTPRoute,
  desired: readonly RouteParentStatus[],
  controllerName: string,
): { parents: RouteParentStatus[]; changed: boolean } {
  const routeNs = route.metadata.namespace ?? 'default';
  const existing = route.status?.parents ?? [];
  const mine = existing.filter((p) => p.controllerName === controllerName);
  const others = existing.filter((p) => p.controllerName !== controllerName);

  const merged = desired.map((d) => {
    const old = mine.find((m) => sameParentRef(m.parentRef, d.parentRef, routeNs));
    const conditions = d.conditions.map((c) => {
      const prev = old?.conditions.find((o) => o.type === c.type);
      return prev && prev.status === c.status && prev.lastTransitionTime ? { ...c, lastTransitionTime: prev.lastTransitionTime } : c;
    });
    return { ...d, conditions };
  });

  const changed =
    mine.length !== merged.length ||
    merged.some((m, i) => {
      const old = mine[i] as RouteParentStatus;
      return !sameParentRef(old.parentRef, m.parentRef, routeNs) || !conditionsEqual(old.conditions, m.conditions);
    });
  return { parents: [...others, ...merged], changed };
}
