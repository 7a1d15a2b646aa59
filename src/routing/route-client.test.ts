import { AbortedError } from '../core/errors.js';
import { RouteApiError, RouteMismatchError, RouteNotFoundError } from './errors.js';
import { abortable, mapRouteApiError, routeKeyFor, setWeights } from './route-client.js';
import { FakeRouteClient, SEED_LOCATE_INPUT, SEED_ROUTE_KEY, seedRoute } from './testing.js';

const ref = SEED_ROUTE_KEY;
const input = SEED_LOCATE_INPUT;
const live = (): AbortSignal => new AbortController().signal;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('setWeights', () => {
  it('GET → locate → patch: 10% → 25%, verified on the stored route, generation bumped', async () => {
    const client = new FakeRouteClient([seedRoute()]);
    const res = await setWeights(client, ref, input, 25, live());
    expect(res.changed).toBe(true);
    expect(res.before).toEqual({ stable: 90, canary: 10, canaryPercent: 10 });
    expect(res.after).toEqual({ stable: 75, canary: 25, canaryPercent: 25 });
    expect(res.route.metadata.generation).toBe(2);
    expect(client.calls.map((c) => c.verb)).toEqual(['get', 'patch']);
    expect(client.calls[1]?.ops).toEqual(res.ops);
    const stored = client.peek(ref);
    expect(stored?.spec.rules?.[0]?.backendRefs?.map((b) => b.weight)).toEqual([75, 25]);
  });

  it('does not write when the route already holds the target', async () => {
    const client = new FakeRouteClient([seedRoute()]);
    const res = await setWeights(client, ref, input, 10, live());
    expect(res).toMatchObject({ changed: false, ops: [], before: { canaryPercent: 10 }, after: { canaryPercent: 10 } });
    expect(client.calls.map((c) => c.verb)).toEqual(['get']);
  });

  it('a concurrent edit between read and write makes the patch fail with RouteChanged and leaves the route as edited', async () => {
    const client = new FakeRouteClient([seedRoute()]);
    client.afterGet = () =>
      client.update(ref, (r) => {
        const refs = r.spec.rules?.[0]?.backendRefs;
        if (refs?.[1]) refs[1].name = 'backend-v3';
      });
    const err = await rejection(setWeights(client, ref, input, 25, live()));
    expect(err).toBeInstanceOf(RouteMismatchError);
    expect(err).toMatchObject({ code: 'RouteChanged' });
    const stored = client.peek(ref);
    expect(stored?.spec.rules?.[0]?.backendRefs?.map((b) => [b.name, b.weight])).toEqual([
      ['backend-v1', 90],
      ['backend-v3', 10],
    ]);
    // The next attempt (the controller's next tick) re-reads and reports what is wrong now.
    client.afterGet = undefined;
    expect(await rejection(setWeights(client, ref, input, 25, live()))).toMatchObject({ code: 'BackendNotFound', side: 'canary' });
  });

  it('reports WeightNotApplied when the stored route does not hold what was written', async () => {
    const client = new FakeRouteClient([seedRoute()]);
    client.mutate = (r) => {
      const refs = r.spec.rules?.[0]?.backendRefs;
      if (refs?.[1]) refs[1].weight = 10;
      return r;
    };
    expect(await rejection(setWeights(client, ref, input, 25, live()))).toMatchObject({ code: 'WeightNotApplied' });
  });

  it('RouteNotFound, unsafe percent (before any call), API errors and aborts pass through typed', async () => {
    const client = new FakeRouteClient([]);
    expect(await rejection(setWeights(client, ref, input, 25, live()))).toBeInstanceOf(RouteNotFoundError);

    const seeded = new FakeRouteClient([seedRoute()]);
    expect(await rejection(setWeights(seeded, ref, input, 101, live()))).toMatchObject({ code: 'UnsafeWeights' });
    expect(seeded.calls).toHaveLength(0);

    seeded.failures.push(new RouteApiError('boom', { status: 503, transient: true }));
    expect(await rejection(setWeights(seeded, ref, input, 25, live()))).toMatchObject({ code: 'RouteApiError', transient: true });

    const ac = new AbortController();
    ac.abort();
    expect(await rejection(setWeights(seeded, ref, input, 25, ac.signal))).toBeInstanceOf(AbortedError);
  });
});

describe('routeKeyFor', () => {
  it('defaults kind and namespace, rejects other groups and kinds', () => {
    expect(routeKeyFor({ name: 'r' }, 'team-a')).toEqual({ kind: 'HTTPRoute', namespace: 'team-a', name: 'r' });
    expect(routeKeyFor({ name: 'r', kind: 'GRPCRoute', namespace: 'b' }, 'team-a')).toEqual({ kind: 'GRPCRoute', namespace: 'b', name: 'r' });
    expect(() => routeKeyFor({ name: 'r', group: 'networking.istio.io' }, 'a')).toThrow(expect.objectContaining({ code: 'UnsupportedRoute' }));
    expect(() => routeKeyFor({ name: 'r', kind: 'TCPRoute' as never }, 'a')).toThrow(expect.objectContaining({ code: 'UnsupportedRoute' }));
  });
});

describe('mapRouteApiError', () => {
  const apiErr = (code: number, body: unknown): Error => Object.assign(new Error(`HTTP-Code: ${code}`), { code, body: JSON.stringify(body) });
  const status = (code: number, message: string, details: unknown = {}) => ({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, message, details });

  it('404 → RouteNotFoundError', () => {
    expect(mapRouteApiError(apiErr(404, status(404, 'not found')), ref, 'get')).toBeInstanceOf(RouteNotFoundError);
  });

  it('422 from a failed test op (generic message, no field causes) and 409 → RouteChanged', () => {
    const failedTest = mapRouteApiError(apiErr(422, status(422, 'the server rejected our request due to an error in our request')), ref, 'patch');
    expect(failedTest).toMatchObject({ code: 'RouteChanged' });
    expect(failedTest.message).toContain('the route changed since it was read; re-reading');
    expect(mapRouteApiError(apiErr(409, status(409, 'conflict')), ref, 'patch')).toMatchObject({ code: 'RouteChanged' });
  });

  it('422 from validation of the patched object → RouteApiError, not transient', () => {
    const invalid = status(422, 'HTTPRoute.gateway.networking.k8s.io "backend-split" is invalid: spec.rules[0].backendRefs[0].weight: Invalid value', {
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.rules[0].backendRefs[0].weight', message: 'Invalid value: 2000000' }],
    });
    const err = mapRouteApiError(apiErr(422, invalid), ref, 'patch');
    expect(err).toBeInstanceOf(RouteApiError);
    expect(err).toMatchObject({ status: 422, transient: false });
    expect(err.message).toContain('is invalid');
  });

  it('5xx and 429 are transient, 403 is not; no HTTP status (network) is transient', () => {
    expect(mapRouteApiError(apiErr(503, 'unavailable'), ref, 'get')).toMatchObject({ code: 'RouteApiError', transient: true, status: 503 });
    expect(mapRouteApiError(apiErr(429, status(429, 'slow down')), ref, 'patch')).toMatchObject({ transient: true });
    expect(mapRouteApiError(apiErr(403, status(403, 'forbidden')), ref, 'patch')).toMatchObject({ transient: false, status: 403 });
    const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', type: 'system' });
    expect(mapRouteApiError(net, ref, 'get')).toMatchObject({ code: 'RouteApiError', transient: true, status: undefined });
  });

  it('abort-shaped failures → AbortedError', () => {
    const ac = new AbortController();
    ac.abort();
    expect(mapRouteApiError(new Error('whatever'), ref, 'get', ac.signal)).toBeInstanceOf(AbortedError);
    expect(mapRouteApiError(Object.assign(new Error('The user aborted a request.'), { name: 'AbortError' }), ref, 'get')).toBeInstanceOf(AbortedError);
  });
});

describe('abortable', () => {
  it('rejects with AbortedError on abort even if the call never settles, and passes results through', async () => {
    const ac = new AbortController();
    const never = new Promise<never>(() => undefined);
    const p = abortable(never, ac.signal, 'get x');
    ac.abort();
    expect(await rejection(p)).toBeInstanceOf(AbortedError);
    await expect(abortable(Promise.resolve(7), live(), 'x')).resolves.toBe(7);
  });
});
