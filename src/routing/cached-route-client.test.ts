import { CachedRouteClient } from './cached-route-client.js';
import { RouteMismatchError } from './errors.js';
import { setWeights } from './route-client.js';
import { FakeRouteClient, SEED_LOCATE_INPUT, SEED_ROUTE_KEY, seedRoute } from './testing.js';
import type { Route } from './types.js';

const ref = SEED_ROUTE_KEY;
const input = SEED_LOCATE_INPUT;
const live = (): AbortSignal => new AbortController().signal;

/** An API (the fake) and an informer cache that follows it only when told to (`sync`). */
function setup() {
  const api = new FakeRouteClient([seedRoute()]);
  let informer: Route | undefined = api.peek(ref);
  const client = new CachedRouteClient(api, (r) => (r.name === ref.name ? informer : undefined));
  const sync = (): void => {
    informer = api.peek(ref);
    if (informer) client.observe(informer);
  };
  const gets = (): number => api.calls.filter((c) => c.verb === 'get').length;
  return { api, client, sync, gets, setInformer: (r: Route | undefined) => (informer = r) };
}

const canaryWeight = (r: Route): number | undefined => r.spec.rules?.[0]?.backendRefs?.find((b) => b.name === 'backend-v2')?.weight;

describe('CachedRouteClient', () => {
  it('serves reads from the informer, without a GET, as a copy', async () => {
    const { client, gets } = setup();
    const a = await client.get(ref, live());
    a.spec.rules![0]!.backendRefs![0]!.weight = 1;
    const b = await client.get(ref, live());
    expect(gets()).toBe(0);
    expect(canaryWeight(b)).toBe(10);
    expect(b.spec.rules![0]!.backendRefs![0]!.weight).toBe(90);
  });

  it('reads a route the informer does not hold live', async () => {
    const { client, gets, setInformer } = setup();
    setInformer(undefined);
    const r = await client.get(ref, live());
    expect(gets()).toBe(1);
    expect(canaryWeight(r)).toBe(10);
  });

  it('after its own patch, reads live until the informer shows that version, then from the cache', async () => {
    const { client, gets, sync } = setup();
    const res = await setWeights(client, ref, input, 25, live());
    expect(res.changed).toBe(true);
    // The informer still holds 10: a cached read would be stale, so this one goes to the API.
    expect(canaryWeight(await client.get(ref, live()))).toBe(25);
    expect(gets()).toBe(1);
    sync();
    expect(canaryWeight(await client.get(ref, live()))).toBe(25);
    expect(gets()).toBe(1);
  });

  it('a stale cache costs a refused patch, never a wrong write; the next read is live', async () => {
    const { api, client, gets } = setup();
    // Someone else moves the canary to 40; the informer has not seen it.
    api.update(ref, (r) => (r.spec.rules![0]!.backendRefs![1]!.weight = 40));
    await expect(setWeights(client, ref, input, 25, live())).rejects.toBeInstanceOf(RouteMismatchError);
    expect(canaryWeight(api.peek(ref)!)).toBe(40);
    const before = gets();
    const res = await setWeights(client, ref, input, 25, live());
    expect(gets()).toBe(before + 1);
    expect(res.before.canary).toBe(40);
    expect(canaryWeight(api.peek(ref)!)).toBe(25);
  });

  it('observing other versions does not end the live reads early', async () => {
    const { api, client, gets, setInformer } = setup();
    const old = api.peek(ref)!;
    await setWeights(client, ref, input, 25, live());
    client.observe(old); // an older version delivered late
    setInformer(old);
    expect(canaryWeight(await client.get(ref, live()))).toBe(25);
    expect(gets()).toBe(1);
  });
});

describe('CachedRouteClient and generations', () => {
  it('trusts the cache again once it holds a later status of the spec it patched', async () => {
    const { api, client, gets, sync } = setup();
    await setWeights(client, ref, input, 25, live());
    // The mesh writes route status: a new resourceVersion, the same generation.
    api.update(ref, (r) => (r.status = { parents: [] }));
    sync();
    const r = await client.get(ref, live());
    expect(gets()).toBe(0);
    expect(canaryWeight(r)).toBe(25);
    expect(r.status).toEqual({ parents: [] });
  });

  it('does not trust an older generation with a newer-looking status', async () => {
    const { api, client, gets, setInformer } = setup();
    const old = api.peek(ref)!;
    await setWeights(client, ref, input, 25, live());
    setInformer({ ...old, metadata: { ...old.metadata, resourceVersion: '999999' } });
    expect(canaryWeight(await client.get(ref, live()))).toBe(25);
    expect(gets()).toBe(1);
  });
});
