/**
 * The parts of Gateway API HTTPRoute / GRPCRoute (gateway.networking.k8s.io/v1) that routeshift reads.
 * Both kinds share the backendRef shape, so one set of types serves both. Everything not listed here
 * (matches, filters, timeouts, hostnames, annotations...) is carried through untouched: routeshift only
 * ever writes the two weights it owns, by JSON Patch, so it never needs to model those fields.
 */
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
export const GATEWAY_VERSION = 'v1';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

export const ROUTE_PLURALS: Readonly<Record<RouteKind, string>> = {
  HTTPRoute: 'httproutes',
  GRPCRoute: 'grpcroutes',
};

export interface RouteMetadata {
  name: string;
  namespace?: string;
  generation?: number;
  resourceVersion?: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** spec.parentRefs[]. The CRD defaults group to gateway.networking.k8s.io and kind to Gateway. */
export interface ParentReference {
  group?: string;
  kind?: string;
  namespace?: string;
  name: string;
  sectionName?: string;
  port?: number;
}

/** spec.rules[].backendRefs[]. The CRD defaults group to "", kind to Service and weight to 1. */
export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  /** Per-backend filters: never read nor written by routeshift. */
  filters?: unknown[];
}

export interface RouteRule {
  /** Optional rule name (Gateway API >= 1.2, feature NamedRouteRule). */
  name?: string;
  matches?: unknown[];
  filters?: unknown[];
  backendRefs?: BackendRef[];
  timeouts?: unknown;
  retry?: unknown;
  sessionPersistence?: unknown;
}

export interface RouteSpec {
  parentRefs?: ParentReference[];
  hostnames?: string[];
  rules?: RouteRule[];
}

export interface RouteCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
  /** Istio, Cilium and Kuma set it; Linkerd does not. */
  observedGeneration?: number;
  lastTransitionTime?: string;
}

/** status.parents[]: one entry per (parentRef, controllerName). */
export interface RouteParentStatus {
  parentRef: ParentReference;
  controllerName: string;
  conditions?: RouteCondition[];
}

export interface RouteStatus {
  parents?: RouteParentStatus[];
}

export interface Route {
  apiVersion?: string;
  kind?: string;
  metadata: RouteMetadata;
  spec: RouteSpec;
  status?: RouteStatus;
}

/** Where a route lives, fully resolved (no defaults left). */
export interface RouteKey {
  namespace: string;
  name: string;
  kind: RouteKind;
}

/** The stable/canary pair routeshift owns inside one rule, as located on a given read of the route. */
export interface OwnedBackends {
  ruleIndex: number;
  ruleName?: string;
  stableIndex: number;
  canaryIndex: number;
  /** The backendRefs exactly as found (before defaults), so patches can pin what was there. */
  stableRef: BackendRef;
  canaryRef: BackendRef;
}

/** The two owned weights, and the canary's share of the pair in whole percent. */
export interface Weights {
  stable: number;
  canary: number;
  canaryPercent: number;
}
