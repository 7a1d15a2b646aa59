/**
 * Finds the rule and the two backendRefs routeshift owns in a route. Matching is by full identity
 * (group, kind, namespace, name, port with the API defaults applied), never by name alone: a route
 * can legitimately list `backend-v2:80` and `backend-v2:8080`, or the same name in two namespaces,
 * and shifting the wrong one would move traffic nobody asked to move.
 */
import type { RouteRef, ServiceRef } from '../api/canary.js';
import { RouteMismatchError } from './errors.js';
import type { BackendRef, OwnedBackends, Route, RouteRule } from './types.js';

export interface LocateInput {
  routeRef: RouteRef;
  stable: ServiceRef;
  canary: ServiceRef;
  /** The Canary's namespace: the default for routeRef.namespace, hence for the route's namespace. */
  canaryNamespace?: string;
}

/** A backendRef's identity with the CRD defaults applied. */
export interface BackendIdentity {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  port: number | undefined;
}

export function routeNamespace(route: Route, input?: Pick<LocateInput, 'routeRef' | 'canaryNamespace'>): string {
  return route.metadata?.namespace ?? input?.routeRef.namespace ?? input?.canaryNamespace ?? 'default';
}

export function routeLabel(route: Route, input?: Pick<LocateInput, 'routeRef' | 'canaryNamespace'>): string {
  const kind = route.kind ?? input?.routeRef.kind ?? 'HTTPRoute';
  return `${kind} ${routeNamespace(route, input)}/${route.metadata?.name ?? input?.routeRef.name ?? '?'}`;
}

export function backendIdentity(ref: BackendRef, routeNs: string): BackendIdentity {
  return {
    group: ref.group ?? '',
    kind: ref.kind ?? 'Service',
    namespace: ref.namespace ?? routeNs,
    name: ref.name,
    port: ref.port,
  };
}

export function serviceIdentity(svc: ServiceRef, routeNs: string): BackendIdentity {
  return { group: '', kind: 'Service', namespace: svc.namespace ?? routeNs, name: svc.name, port: svc.port };
}

export function sameBackend(a: BackendIdentity, b: BackendIdentity): boolean {
  return a.group === b.group && a.kind === b.kind && a.namespace === b.namespace && a.name === b.name && a.port === b.port;
}

/** Short human form, relative to the route's namespace: `backend-v1:80`, `other/backend-v1:80`, `Foo.example.com x`. */
export function describeBackend(id: BackendIdentity, routeNs: string): string {
  const kind = id.kind === 'Service' && id.group === '' ? '' : `${id.kind}${id.group ? '.' + id.group : ''} `;
  const ns = id.namespace === routeNs ? '' : `${id.namespace}/`;
  const port = id.port === undefined ? '' : `:${id.port}`;
  return `${kind}${ns}${id.name}${port}`;
}

function describeRule(rule: RouteRule | undefined, index: number): string {
  return rule?.name ? `rule ${index} ("${rule.name}")` : `rule ${index}`;
}

function backendRefsOf(rule: RouteRule | undefined): BackendRef[] {
  return Array.isArray(rule?.backendRefs) ? rule.backendRefs : [];
}

function indicesOf(rule: RouteRule | undefined, want: BackendIdentity, routeNs: string): number[] {
  const out: number[] = [];
  backendRefsOf(rule).forEach((ref, i) => {
    if (isBackendRefShaped(ref) && sameBackend(backendIdentity(ref, routeNs), want)) out.push(i);
  });
  return out;
}

function isBackendRefShaped(ref: unknown): ref is BackendRef {
  return typeof ref === 'object' && ref !== null && typeof (ref as BackendRef).name === 'string';
}

function rulesOf(route: Route, label: string): RouteRule[] {
  const rules = route?.spec?.rules;
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new RouteMismatchError('UnsupportedRoute', `${label} has no rules`, { path: 'spec.rules' });
  }
  return rules;
}

function pickRule(
  rules: RouteRule[],
  input: LocateInput,
  want: { stable: BackendIdentity; canary: BackendIdentity },
  label: string,
  routeNs: string,
): number {
  const sel = input.routeRef.rule;
  if (typeof sel === 'number') {
    if (!Number.isInteger(sel) || sel < 0 || sel >= rules.length) {
      throw new RouteMismatchError('RuleNotFound', `${label} has no rule ${sel} (it has ${rules.length} rule${rules.length === 1 ? '' : 's'})`, {
        path: 'spec.routeRef.rule',
      });
    }
    return sel;
  }
  if (typeof sel === 'string') {
    const byName = rules.findIndex((r) => r?.name === sel);
    if (byName >= 0) return byName;
    // int-or-string in the CRD: "1" written as a string still means index 1 when no rule has that name.
    if (/^(0|[1-9][0-9]*)$/.test(sel) && Number(sel) < rules.length) return Number(sel);
    const names = rules.map((r) => r?.name).filter((n): n is string => typeof n === 'string');
    throw new RouteMismatchError(
      'RuleNotFound',
      `${label} has no rule named "${sel}" (${names.length ? `rule names: ${names.join(', ')}` : 'its rules have no names'})`,
      { path: 'spec.routeRef.rule' },
    );
  }
  const both = rules
    .map((r, i) => (indicesOf(r, want.stable, routeNs).length && indicesOf(r, want.canary, routeNs).length ? i : -1))
    .filter((i) => i >= 0);
  if (both.length === 1) return both[0] as number;
  if (both.length > 1) {
    throw new RouteMismatchError(
      'AmbiguousRule',
      `${label} has ${both.length} rules holding both ${describeBackend(want.stable, routeNs)} and ${describeBackend(want.canary, routeNs)} ` +
        `(${both.map((i) => describeRule(rules[i], i)).join(', ')}); set routeRef.rule to the rule's name or index`,
      { path: 'spec.routeRef.rule' },
    );
  }
  // No rule holds both. With a single rule, let the backend lookup say precisely what is missing.
  if (rules.length === 1) return 0;
  const hasStable = rules.some((r) => indicesOf(r, want.stable, routeNs).length > 0);
  const hasCanary = rules.some((r) => indicesOf(r, want.canary, routeNs).length > 0);
  const side = !hasStable ? 'stable' : !hasCanary ? 'canary' : undefined;
  const what = side
    ? `no rule of ${label} has backendRef Service ${describeBackend(want[side], routeNs)} (${side})`
    : `no rule of ${label} holds both ${describeBackend(want.stable, routeNs)} and ${describeBackend(want.canary, routeNs)}`;
  const has = rules.map((r, i) => `${describeRule(r, i)}: ${listBackends(r, routeNs)}`).join('; ');
  throw new RouteMismatchError('BackendNotFound', `${what} (${has})`, side ? { side } : undefined);
}

function listBackends(rule: RouteRule | undefined, routeNs: string): string {
  const refs = backendRefsOf(rule).filter(isBackendRefShaped);
  return refs.length ? refs.map((r) => describeBackend(backendIdentity(r, routeNs), routeNs)).join(', ') : 'no backendRefs';
}

/**
 * Locates the rule and the stable/canary backendRefs routeshift owns.
 * Throws RouteMismatchError (RuleNotFound, AmbiguousRule, BackendNotFound, DuplicateBackend, UnsupportedRoute).
 */
export function locateOwnedBackends(route: Route, input: LocateInput): OwnedBackends {
  const label = routeLabel(route, input);
  const kind = route?.kind;
  if (kind !== undefined && kind !== 'HTTPRoute' && kind !== 'GRPCRoute') {
    throw new RouteMismatchError('UnsupportedRoute', `${label}: kind ${kind} is not supported (HTTPRoute or GRPCRoute)`);
  }
  const routeNs = routeNamespace(route, input);
  const want = { stable: serviceIdentity(input.stable, routeNs), canary: serviceIdentity(input.canary, routeNs) };
  if (sameBackend(want.stable, want.canary)) {
    throw new RouteMismatchError(
      'DuplicateBackend',
      `stable and canary name the same backend ${describeBackend(want.stable, routeNs)}; they must differ`,
      { path: 'spec.canary' },
    );
  }
  const rules = rulesOf(route, label);
  const ruleIndex = pickRule(rules, input, want, label, routeNs);
  const rule = rules[ruleIndex];
  const ruleText = `${describeRule(rule, ruleIndex)} of ${label}`;
  if (!Array.isArray(rule?.backendRefs) || rule.backendRefs.length === 0) {
    throw new RouteMismatchError('UnsupportedRoute', `${ruleText} has no backendRefs (routeshift needs the stable Service listed explicitly)`);
  }
  const find = (side: 'stable' | 'canary'): number => {
    const found = indicesOf(rule, want[side], routeNs);
    if (found.length === 0) {
      throw new RouteMismatchError(
        'BackendNotFound',
        `${ruleText} has no backendRef Service ${describeBackend(want[side], routeNs)} for ${side} (it has ${listBackends(rule, routeNs)})`,
        { side },
      );
    }
    if (found.length > 1) {
      throw new RouteMismatchError(
        'DuplicateBackend',
        `${ruleText} lists backendRef ${describeBackend(want[side], routeNs)} (${side}) ${found.length} times (indices ${found.join(', ')}); ` +
          'routeshift cannot tell which weight it owns',
        { side },
      );
    }
    return found[0] as number;
  };
  const stableIndex = find('stable');
  const canaryIndex = find('canary');
  const refs = rule.backendRefs;
  const owned: OwnedBackends = {
    ruleIndex,
    stableIndex,
    canaryIndex,
    stableRef: refs[stableIndex] as BackendRef,
    canaryRef: refs[canaryIndex] as BackendRef,
  };
  if (typeof rule.name === 'string') owned.ruleName = rule.name;
  return owned;
}

/**
 * Checks that `owned` (located on an earlier read) still points at the same backendRefs in `route`,
 * so weights are never read from or written to whatever now sits at those indices.
 */
export function ownedRefsAt(route: Route, owned: OwnedBackends): { rule: RouteRule; stable: BackendRef; canary: BackendRef } {
  const label = routeLabel(route);
  const routeNs = routeNamespace(route);
  const rule = route?.spec?.rules?.[owned.ruleIndex];
  const stable = rule?.backendRefs?.[owned.stableIndex];
  const canary = rule?.backendRefs?.[owned.canaryIndex];
  const same = (ref: BackendRef | undefined, was: BackendRef): ref is BackendRef =>
    isBackendRefShaped(ref) && sameBackend(backendIdentity(ref, routeNs), backendIdentity(was, routeNs));
  if (!rule || (owned.ruleName !== undefined && rule.name !== owned.ruleName) || !same(stable, owned.stableRef) || !same(canary, owned.canaryRef)) {
    throw new RouteMismatchError(
      'RouteChanged',
      `${label}: rule ${owned.ruleIndex} no longer holds ${describeBackend(backendIdentity(owned.stableRef, routeNs), routeNs)} / ` +
        `${describeBackend(backendIdentity(owned.canaryRef, routeNs), routeNs)} at indices ${owned.stableIndex} / ${owned.canaryIndex}; re-reading`,
    );
  }
  return { rule, stable, canary };
}
