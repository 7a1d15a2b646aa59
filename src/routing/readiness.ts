/**
 * Did the mesh take the route (and so our weights) in? Argo's Gateway API plugin never checks; we read
 * the route's status.parents entry for our parent and require Accepted=True and ResolvedRefs=True, for
 * a generation at least as new as the one our patch produced. Linkerd sets no observedGeneration, so
 * for it the conditions are all there is to compare. Entries written by other controllers (another
 * mesh watching the same Service) are ignored when a controllerName is given.
 */
import { GATEWAY_GROUP, type ParentReference, type Route, type RouteCondition, type RouteParentStatus } from './types.js';

export type ReadinessReason = 'NoStatus' | 'NotAccepted' | 'RefsNotResolved' | 'Stale' | 'Programmed';

export interface RouteReadiness {
  ready: boolean;
  reason: ReadinessReason;
  message: string;
  /** The failing condition's own reason (e.g. BackendNotFound, NotAllowedByListeners), when there is one. */
  conditionReason?: string;
  /** The status entry the verdict comes from. */
  controllerName?: string;
}

export interface ReadinessOptions {
  /** Our parent; default: the route's Service parentRefs (group "" or "core", kind Service), else all its parentRefs. */
  parentRef?: ParentReference;
  /** Only this controller's entry counts (e.g. "istio.io/gateway-controller"); default: any entry. */
  controllerName?: string;
  /** Conditions carrying an older observedGeneration are Stale. Default: the route's metadata.generation. */
  sinceGeneration?: number;
}

interface ParentIdentity {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  sectionName: string | undefined;
  port: number | undefined;
}

function parentIdentity(ref: ParentReference, routeNs: string): ParentIdentity {
  const group = ref.group ?? GATEWAY_GROUP;
  return {
    // Linkerd and Cilium accept "core" for the core group; it names the same thing as "".
    group: group === 'core' ? '' : group,
    kind: ref.kind ?? 'Gateway',
    namespace: ref.namespace ?? routeNs,
    name: ref.name,
    sectionName: ref.sectionName,
    port: ref.port,
  };
}

/** sectionName/port are compared only when both sides carry them: controllers echo the ref, some trimmed. */
function sameParent(a: ParentIdentity, b: ParentIdentity): boolean {
  const opt = <T>(x: T | undefined, y: T | undefined): boolean => x === undefined || y === undefined || x === y;
  return a.group === b.group && a.kind === b.kind && a.namespace === b.namespace && a.name === b.name && opt(a.sectionName, b.sectionName) && opt(a.port, b.port);
}

function describeParent(p: ParentIdentity, routeNs: string): string {
  const kind = p.group === '' ? p.kind : `${p.kind}.${p.group}`;
  const ns = p.namespace === routeNs ? '' : `${p.namespace}/`;
  return `${kind} ${ns}${p.name}${p.port === undefined ? '' : `:${p.port}`}${p.sectionName ? `#${p.sectionName}` : ''}`;
}

function cond(conditions: RouteCondition[] | undefined, type: string): RouteCondition | undefined {
  return Array.isArray(conditions) ? conditions.find((c) => c?.type === type) : undefined;
}

function condText(c: RouteCondition | undefined, type: string): string {
  if (!c) return `no ${type} condition yet`;
  return `${type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`;
}

function judgeEntry(entry: RouteParentStatus, parentText: string, since: number | undefined): RouteReadiness {
  const accepted = cond(entry.conditions, 'Accepted');
  const resolved = cond(entry.conditions, 'ResolvedRefs');
  const base = { controllerName: entry.controllerName };
  const where = `${parentText} (${entry.controllerName})`;
  if (since !== undefined) {
    const stale = [accepted, resolved].find((c) => c?.observedGeneration !== undefined && c.observedGeneration < since);
    if (stale) {
      return {
        ...base,
        ready: false,
        reason: 'Stale',
        message: `${where}: ${stale.type} is for generation ${stale.observedGeneration}, route is at ${since}; the controller has not processed it yet`,
      };
    }
  }
  if (accepted?.status !== 'True') {
    return { ...base, ready: false, reason: 'NotAccepted', message: `${where}: ${condText(accepted, 'Accepted')}`, ...(accepted?.reason ? { conditionReason: accepted.reason } : {}) };
  }
  if (resolved?.status !== 'True') {
    return {
      ...base,
      ready: false,
      reason: 'RefsNotResolved',
      message: `${where}: ${condText(resolved, 'ResolvedRefs')}`,
      ...(resolved?.reason ? { conditionReason: resolved.reason } : {}),
    };
  }
  return { ...base, ready: true, reason: 'Programmed', message: `${where}: Accepted and ResolvedRefs are True` };
}

export function routeProgrammed(route: Route, opts: ReadinessOptions = {}): RouteReadiness {
  const routeNs = route.metadata?.namespace ?? 'default';
  const since = opts.sinceGeneration ?? route.metadata?.generation;
  const specParents = Array.isArray(route.spec?.parentRefs) ? route.spec.parentRefs : [];
  let parents: ParentIdentity[];
  if (opts.parentRef) {
    parents = [parentIdentity(opts.parentRef, routeNs)];
  } else {
    const all = specParents.map((p) => parentIdentity(p, routeNs));
    const services = all.filter((p) => p.group === '' && p.kind === 'Service');
    parents = services.length ? services : all;
  }
  if (parents.length === 0) {
    return { ready: false, reason: 'NoStatus', message: 'the route has no parentRefs' };
  }
  const entries = Array.isArray(route.status?.parents) ? route.status.parents : [];
  const verdicts = parents.map((parent): RouteReadiness => {
    const text = describeParent(parent, routeNs);
    const mine = entries.filter(
      (e) =>
        e?.parentRef &&
        sameParent(parentIdentity(e.parentRef, routeNs), parent) &&
        (opts.controllerName === undefined || e.controllerName === opts.controllerName),
    );
    if (mine.length === 0) {
      const by = opts.controllerName ? ` from ${opts.controllerName}` : '';
      return { ready: false, reason: 'NoStatus', message: `no status${by} for parent ${text} yet` };
    }
    const judged = mine.map((e) => judgeEntry(e, text, since));
    return judged.find((v) => v.ready) ?? (judged[0] as RouteReadiness);
  });
  const notReady = verdicts.find((v) => !v.ready);
  if (notReady) return notReady;
  if (verdicts.length === 1) return verdicts[0] as RouteReadiness;
  return { ready: true, reason: 'Programmed', message: verdicts.map((v) => v.message).join('; ') };
}
