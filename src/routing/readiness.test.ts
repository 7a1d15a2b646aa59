import { routeProgrammed } from './readiness.js';
import { seedRoute } from './testing.js';
import type { Route, RouteCondition, RouteParentStatus } from './types.js';

const ISTIO = 'istio.io/gateway-controller';
const LINKERD = 'linkerd.io/policy-controller';

function cond(type: string, status: string, reason: string, observedGeneration?: number, message?: string): RouteCondition {
  return { type, status, reason, ...(message ? { message } : {}), ...(observedGeneration === undefined ? {} : { observedGeneration }) };
}

function withStatus(parents: RouteParentStatus[], generation = 2): Route {
  const r = seedRoute();
  r.metadata.generation = generation;
  r.status = { parents };
  return r;
}

const serviceParent = { group: '', kind: 'Service', name: 'backend', port: 80 };

function istioEntry(gen: number, resolved = cond('ResolvedRefs', 'True', 'ResolvedRefs', gen)): RouteParentStatus {
  return { parentRef: serviceParent, controllerName: ISTIO, conditions: [cond('Accepted', 'True', 'Accepted', gen), resolved] };
}

describe('routeProgrammed', () => {
  it('Istio-like: Programmed when both conditions are True for the current generation', () => {
    const v = routeProgrammed(withStatus([istioEntry(2)]));
    expect(v).toMatchObject({ ready: true, reason: 'Programmed', controllerName: ISTIO });
  });

  it('Istio-like: Stale while observedGeneration is behind (default: the route generation, or sinceGeneration)', () => {
    const stale = routeProgrammed(withStatus([istioEntry(2)], 3));
    expect(stale).toMatchObject({ ready: false, reason: 'Stale' });
    expect(stale.message).toContain('generation 2');
    expect(routeProgrammed(withStatus([istioEntry(2)], 2), { sinceGeneration: 3 }).reason).toBe('Stale');
    expect(routeProgrammed(withStatus([istioEntry(4)], 3)).reason).toBe('Programmed');
  });

  it('Linkerd-like: no observedGeneration, "core" group: conditions are all that is compared', () => {
    const r = withStatus(
      [
        {
          parentRef: { group: 'core', kind: 'Service', name: 'backend', port: 80 },
          controllerName: LINKERD,
          conditions: [cond('Accepted', 'True', 'Accepted'), cond('ResolvedRefs', 'True', 'ResolvedRefs')],
        },
      ],
      9,
    );
    r.spec.parentRefs = [{ group: 'core', kind: 'Service', name: 'backend', port: 80 }];
    expect(routeProgrammed(r, { sinceGeneration: 9 })).toMatchObject({ ready: true, reason: 'Programmed', controllerName: LINKERD });
    expect(routeProgrammed(r, { controllerName: LINKERD })).toMatchObject({ ready: true });
  });

  it("ignores another controller's entry when a controllerName is given", () => {
    const linkerdBroken: RouteParentStatus = {
      parentRef: serviceParent,
      controllerName: LINKERD,
      conditions: [cond('Accepted', 'True', 'Accepted'), cond('ResolvedRefs', 'False', 'BackendNotFound', undefined, 'backend-v2 not found')],
    };
    const r = withStatus([linkerdBroken, istioEntry(2)]);
    expect(routeProgrammed(r, { controllerName: ISTIO })).toMatchObject({ ready: true, controllerName: ISTIO });
    expect(routeProgrammed(r, { controllerName: LINKERD })).toMatchObject({ ready: false, reason: 'RefsNotResolved' });
    expect(routeProgrammed(r, { controllerName: 'gateways.kuma.io/controller' })).toMatchObject({ ready: false, reason: 'NoStatus' });
    // no controllerName: any ready entry will do
    expect(routeProgrammed(r).ready).toBe(true);
  });

  it('ResolvedRefs False BackendNotFound → RefsNotResolved carrying the condition reason and message', () => {
    const r = withStatus([istioEntry(2, cond('ResolvedRefs', 'False', 'BackendNotFound', 2, 'backend-v2.istio-test:80 not found'))]);
    const v = routeProgrammed(r, { controllerName: ISTIO });
    expect(v).toMatchObject({ ready: false, reason: 'RefsNotResolved', conditionReason: 'BackendNotFound' });
    expect(v.message).toContain('ResolvedRefs=False (BackendNotFound): backend-v2.istio-test:80 not found');
  });

  it('Accepted False → NotAccepted; missing conditions are not ready', () => {
    const r = withStatus([
      { parentRef: serviceParent, controllerName: ISTIO, conditions: [cond('Accepted', 'False', 'NoMatchingParent', 2), cond('ResolvedRefs', 'True', 'ResolvedRefs', 2)] },
    ]);
    expect(routeProgrammed(r)).toMatchObject({ ready: false, reason: 'NotAccepted', conditionReason: 'NoMatchingParent' });
    const bare = withStatus([{ parentRef: serviceParent, controllerName: ISTIO, conditions: [cond('Accepted', 'True', 'Accepted', 2)] }]);
    expect(routeProgrammed(bare)).toMatchObject({ ready: false, reason: 'RefsNotResolved' });
    expect(routeProgrammed(bare).message).toContain('no ResolvedRefs condition yet');
  });

  it('NoStatus when there is no entry for our parent (none at all, or only for another parent)', () => {
    expect(routeProgrammed(seedRoute())).toMatchObject({ ready: false, reason: 'NoStatus' });
    const other = withStatus([{ ...istioEntry(2), parentRef: { group: '', kind: 'Service', name: 'frontend', port: 80 } }]);
    expect(routeProgrammed(other)).toMatchObject({ ready: false, reason: 'NoStatus' });
  });

  it('looks only at Service parents by default, or at the parentRef given', () => {
    const gatewayParent = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'edge' };
    const r = withStatus([
      istioEntry(2),
      { parentRef: { name: 'edge' }, controllerName: ISTIO, conditions: [cond('Accepted', 'False', 'NotAllowedByListeners', 2)] },
    ]);
    r.spec.parentRefs = [gatewayParent, serviceParent];
    expect(routeProgrammed(r).ready).toBe(true);
    // The Gateway entry's parentRef omits group/kind: the defaults make it the same parent.
    expect(routeProgrammed(r, { parentRef: gatewayParent })).toMatchObject({ ready: false, reason: 'NotAccepted' });
  });
});
