import type {
  Deployment,
  EndpointSlice,
  HTTPHeaderFilter,
  HTTPRequestMirrorFilter,
  HTTPRoute,
  HTTPRouteFilter,
  HTTPRouteRule,
  Service,
  ServicePort,
} from './kube/types.js';
import { backendNamespace, isServiceBackendRef, producerRouteBinds } from './gamma.js';
import { orderCandidates, selectMatch, type CandidateMatch, type RequestFacts } from './route-match.js';
import { pickWeighted } from './weighted-pick.js';
import { mirrorFilters, mirrorShare, ruleProblems } from './route-support.js';
import type { ServiceAddress } from './host.js';

/** Label the workloads put on their EndpointSlices so the mesh knows which Deployment serves an endpoint. */
export const DEPLOYMENT_LABEL = 'routeshift.sandbox/deployment';
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Everything the proxy routes by; one immutable snapshot is "live" at a time. */
export interface MeshSnapshot {
  services: readonly Service[];
  routes: readonly HTTPRoute[];
  endpointSlices: readonly EndpointSlice[];
  deployments: readonly Deployment[];
}

export interface WorkloadIdentity {
  name: string;
  namespace: string;
  app: string;
  version: string;
}

/**
 * Where an endpoint address really listens. The default dials loopback addresses as they are; on
 * the real control plane pods have pod-network IPs that only the sandbox's pod agent can map to
 * its loopback servers (the mesh never dials anything but loopback).
 */
export type EndpointResolver = (address: string, port: number) => { address: string; port: number; deployment?: string } | undefined;

export const loopbackOnly: EndpointResolver = (address, port) => (isLoopback(address) ? { address, port } : undefined);

export interface ResolvedEndpoint {
  address: string;
  port: number;
  workload: WorkloadIdentity;
}

export interface ServiceRef {
  name: string;
  namespace: string;
}

/** Where one mirrored copy of a request goes (RequestMirror filter); its answer is discarded. */
export interface MirrorTarget {
  destination: ServiceRef;
  endpoint: ResolvedEndpoint;
}

/** Envoy response flags the sandbox reproduces. */
export type ResponseFlag = '-' | 'NR' | 'UH' | 'NC' | 'UF' | 'DC';

export type RouteDecision =
  | {
      kind: 'forward';
      /** The Service the request is finally sent to (a backendRef, or the addressed Service without routes). */
      destination: ServiceRef;
      endpoint: ResolvedEndpoint;
      requestFilters: HTTPHeaderFilter[];
      responseFilters: HTTPHeaderFilter[];
      /** Copies to send, already sampled by each filter's percent/fraction. */
      mirrors: MirrorTarget[];
      /** "ns/name" of the HTTPRoute used, if any. */
      route: string | undefined;
    }
  | {
      kind: 'reject';
      status: number;
      flag: ResponseFlag;
      /** Known when the failure is about one backend (missing Service, no ready endpoints). */
      destination: ServiceRef | undefined;
      message: string;
      route: string | undefined;
    };

/** Chooses among equivalent endpoints; the proxy keeps round-robin counters across snapshots. */
export interface Pickers {
  random(): number;
  roundRobin(key: string, size: number): number;
}

const UNKNOWN = 'unknown';

function isLoopback(address: string): boolean {
  return address === '::1' || address === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function groupBy<T>(items: readonly T[], keyOf: (t: T) => string | undefined): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = keyOf(item);
    if (k === undefined) continue;
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

function headerFilters(filters: readonly HTTPRouteFilter[] | undefined, type: 'request' | 'response'): HTTPHeaderFilter[] {
  const out: HTTPHeaderFilter[] = [];
  for (const f of filters ?? []) {
    if (type === 'request' && f.type === 'RequestHeaderModifier' && f.requestHeaderModifier) out.push(f.requestHeaderModifier);
    if (type === 'response' && f.type === 'ResponseHeaderModifier' && f.responseHeaderModifier) out.push(f.responseHeaderModifier);
  }
  return out;
}

/**
 * The routing table of one snapshot: which Service a Host means, which producer HTTPRoutes bind it,
 * and the ready loopback endpoints of every Service (from EndpointSlices).
 */
export class MeshConfig {
  private readonly services: Map<string, Service>;
  private readonly slicesByService: Map<string, EndpointSlice[]>;
  private readonly deployments: Map<string, Deployment>;
  private readonly routes: readonly HTTPRoute[];
  private readonly orderedCache = new Map<string, CandidateMatch[]>();
  private readonly problemCache = new WeakMap<HTTPRouteRule, string[]>();

  constructor(
    readonly snapshot: MeshSnapshot,
    private readonly resolveEndpoint: EndpointResolver = loopbackOnly,
  ) {
    this.services = new Map(snapshot.services.map((s) => [key(s.metadata.namespace ?? 'default', s.metadata.name), s]));
    this.slicesByService = groupBy(snapshot.endpointSlices, (s) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      return svc === undefined ? undefined : key(s.metadata.namespace ?? 'default', svc);
    });
    this.deployments = new Map(snapshot.deployments.map((d) => [key(d.metadata.namespace ?? 'default', d.metadata.name), d]));
    this.routes = snapshot.routes;
  }

  service(namespace: string, name: string): Service | undefined {
    return this.services.get(key(namespace, name));
  }

  /**
   * The Service port a request uses: the Host's port, else 80. Without a port in the Host and no
   * port 80 on the Service, the Service's first port (a convenience for single-port Services).
   */
  servicePort(svc: Service, requested: number | undefined): ServicePort | undefined {
    const ports = svc.spec?.ports ?? [];
    const wanted = requested ?? 80;
    return ports.find((p) => p.port === wanted) ?? (requested === undefined ? ports[0] : undefined);
  }

  /** Ready endpoints with a loopback address (the sandbox never forwards elsewhere), in a stable order. */
  endpoints(namespace: string, name: string, servicePort: number): ResolvedEndpoint[] {
    const svc = this.service(namespace, name);
    const sp = svc?.spec?.ports?.find((p) => p.port === servicePort);
    if (!svc || !sp) return [];
    const portName = sp.name ?? '';
    const out: Array<ResolvedEndpoint & { sortKey: string }> = [];
    for (const slice of this.slicesByService.get(key(namespace, name)) ?? []) {
      const port = (slice.ports ?? []).find((p) => (p.name ?? '') === portName)?.port;
      if (port === undefined) continue;
      const sliceDeployment = slice.metadata.labels?.[DEPLOYMENT_LABEL];
      for (const ep of slice.endpoints ?? []) {
        if (ep.conditions?.ready === false) continue;
        const target = ep.addresses.map((a) => this.resolveEndpoint(a, port)).find((t) => t !== undefined && isLoopback(t.address));
        if (!target) continue;
        const workload = this.workloadIdentity(sliceDeployment ?? target.deployment ?? ep.targetRef?.name, slice.metadata.namespace ?? namespace);
        out.push({ address: target.address, port: target.port, workload, sortKey: `${slice.metadata.name}/${ep.addresses[0] ?? ''}/${port}` });
      }
    }
    out.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    return out.map(({ sortKey: _sortKey, ...ep }) => ep);
  }

  private workloadIdentity(deploymentName: string | undefined, namespace: string): WorkloadIdentity {
    if (!deploymentName) return { name: UNKNOWN, namespace, app: UNKNOWN, version: UNKNOWN };
    const labels = this.deployments.get(key(namespace, deploymentName))?.spec?.template?.metadata?.labels ?? {};
    return { name: deploymentName, namespace, app: labels['app'] ?? UNKNOWN, version: labels['version'] ?? UNKNOWN };
  }

  /** Producer routes bound to the Service port, in precedence order (cached per snapshot). */
  orderedMatches(namespace: string, name: string, port: number): CandidateMatch[] {
    const k = `${namespace}/${name}:${port}`;
    let ordered = this.orderedCache.get(k);
    if (!ordered) {
      ordered = orderCandidates(this.routes.filter((r) => producerRouteBinds(r, name, namespace, port)));
      this.orderedCache.set(k, ordered);
    }
    return ordered;
  }

  resolve(addr: ServiceAddress, req: RequestFacts, pick: Pickers): RouteDecision {
    const svc = this.service(addr.namespace, addr.name);
    const addressed = { name: addr.name, namespace: addr.namespace };
    if (!svc) return reject(404, 'NR', addressed, `no Service ${addr.namespace}/${addr.name}`, undefined);
    const sp = this.servicePort(svc, addr.port);
    if (!sp) return reject(404, 'NR', addressed, `Service ${addr.namespace}/${addr.name} has no port ${addr.port}`, undefined);

    const boundRoutes = this.orderedMatches(addr.namespace, addr.name, sp.port);
    if (boundRoutes.length === 0) return this.toService(addressed, sp.port, pick, [], [], undefined);

    const chosen = selectMatch(boundRoutes, req);
    if (!chosen) return reject(404, 'NR', addressed, 'no HTTPRoute rule matches the request', undefined);
    const routeName = key(chosen.route.metadata.namespace ?? 'default', chosen.route.metadata.name);
    const problems = this.problemsOf(chosen.rule);
    if (problems.length > 0) return reject(500, 'NC', undefined, `rule ${chosen.ruleIndex} of ${routeName} cannot be programmed: ${problems.join('; ')}`, routeName);
    const backend = pickWeighted(chosen.rule.backendRefs ?? [], pick.random);
    if (!backend) return reject(500, 'NC', undefined, `rule ${chosen.ruleIndex} of ${routeName} has no backend with weight > 0`, routeName);
    const backendRef = { name: backend.name, namespace: backendNamespace(chosen.route, backend) };
    if (!isServiceBackendRef(backend)) {
      return reject(500, 'NC', backendRef, `backendRef ${backend.group ?? ''}/${backend.kind ?? ''} ${backend.name} is not a Service`, routeName);
    }
    const backendSvc = this.service(backendRef.namespace, backendRef.name);
    if (!backendSvc) return reject(500, 'NC', backendRef, `backend Service ${backendRef.namespace}/${backendRef.name} not found`, routeName);
    const backendPort = backend.port === undefined ? this.servicePort(backendSvc, undefined) : this.servicePort(backendSvc, backend.port);
    if (!backendPort) {
      return reject(500, 'NC', backendRef, `backend Service ${backendRef.namespace}/${backendRef.name} has no port ${backend.port}`, routeName);
    }
    // Envoy applies weighted-cluster (backendRef) header mutations first and route (rule) ones
    // after, so on a clash the rule's value wins; Istio puts the filters at those two levels.
    const decision = this.toService(
      backendRef,
      backendPort.port,
      pick,
      [...headerFilters(backend.filters, 'request'), ...headerFilters(chosen.rule.filters, 'request')],
      [...headerFilters(backend.filters, 'response'), ...headerFilters(chosen.rule.filters, 'response')],
      routeName,
    );
    if (decision.kind === 'forward') decision.mirrors = this.sampleMirrors(chosen.route, chosen.rule, pick);
    return decision;
  }

  private problemsOf(rule: HTTPRouteRule): string[] {
    let problems = this.problemCache.get(rule);
    if (!problems) {
      problems = ruleProblems(rule);
      this.problemCache.set(rule, problems);
    }
    return problems;
  }

  /** The mirrors this request is copied to: each filter samples on its own; unresolvable mirrors are skipped. */
  private sampleMirrors(route: HTTPRoute, rule: HTTPRouteRule, pick: Pickers): MirrorTarget[] {
    const out: MirrorTarget[] = [];
    for (const f of mirrorFilters(rule)) {
      const share = mirrorShare(f);
      if (share <= 0 || (share < 1 && pick.random() >= share)) continue;
      const target = this.mirrorTarget(route, f, pick);
      if (target) out.push(target);
    }
    return out;
  }

  /** A mirror to a missing Service or port goes nowhere (Istio: the shadow cluster does not exist); status says why. */
  mirrorTarget(route: HTTPRoute, f: HTTPRequestMirrorFilter, pick: Pickers): MirrorTarget | undefined {
    const ref = f.backendRef;
    if (!isServiceBackendRef(ref)) return undefined;
    const destination = { name: ref.name, namespace: ref.namespace ?? route.metadata.namespace ?? 'default' };
    const svc = this.service(destination.namespace, destination.name);
    const port = svc && this.servicePort(svc, ref.port);
    if (!port) return undefined;
    const eps = this.endpoints(destination.namespace, destination.name, port.port);
    if (eps.length === 0) return undefined;
    const endpoint = eps[pick.roundRobin(`${destination.namespace}/${destination.name}:${port.port}`, eps.length) % eps.length] as ResolvedEndpoint;
    return { destination, endpoint };
  }

  private toService(
    dest: ServiceRef,
    port: number,
    pick: Pickers,
    requestFilters: HTTPHeaderFilter[],
    responseFilters: HTTPHeaderFilter[],
    route: string | undefined,
  ): RouteDecision {
    const eps = this.endpoints(dest.namespace, dest.name, port);
    if (eps.length === 0) return reject(503, 'UH', dest, `no healthy upstream for ${dest.namespace}/${dest.name}:${port}`, route);
    const endpoint = eps[pick.roundRobin(`${dest.namespace}/${dest.name}:${port}`, eps.length) % eps.length] as ResolvedEndpoint;
    return { kind: 'forward', destination: dest, endpoint, requestFilters, responseFilters, mirrors: [], route };
  }
}

function reject(status: number, flag: ResponseFlag, destination: ServiceRef | undefined, message: string, route: string | undefined): RouteDecision {
  return { kind: 'reject', status, flag, destination, message, route };
}

/** Round-robin counters that survive config snapshots, so a new snapshot does not reset the rotation. */
export function roundRobinCounters(): (key: string, size: number) => number {
  const counters = new Map<string, number>();
  return (k, size) => {
    const n = counters.get(k) ?? 0;
    counters.set(k, (n + 1) % Math.max(1, size));
    return n % Math.max(1, size);
  };
}
