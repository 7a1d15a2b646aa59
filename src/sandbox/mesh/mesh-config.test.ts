import { MeshConfig, roundRobinCounters, type MeshSnapshot, type Pickers } from './mesh-config.js';
import type { RequestFacts } from './route-match.js';
import { backends, deployment, NS, route, service, slice } from './test-fixtures.js';
import { seededRandom } from './weighted-pick.js';

const GET: RequestFacts = { method: 'GET', path: '/', query: new URLSearchParams(), headers: {} };
const addr = (name = 'backend', port?: number) => ({ name, namespace: NS, port });

function seedSnapshot(over: Partial<MeshSnapshot> = {}): MeshSnapshot {
  return {
    services: [
      service('backend', { app: 'backend' }),
      service('backend-v1', { app: 'backend', version: 'v1' }),
      service('backend-v2', { app: 'backend', version: 'v2' }),
    ],
    routes: [route('backend-split', [{ backendRefs: backends(['backend-v1', 90], ['backend-v2', 10]) }], { port: 80 })],
    endpointSlices: [
      slice('backend-v1', 'backend-v1', 0, 40001),
      slice('backend-v1', 'backend-v1', 1, 40002),
      slice('backend-v2', 'backend-v2', 0, 40003),
      slice('backend', 'backend-v1', 0, 40001),
      slice('backend', 'backend-v2', 0, 40003),
    ],
    deployments: [deployment('backend-v1', { app: 'backend', version: 'v1' }), deployment('backend-v2', { app: 'backend', version: 'v2' })],
    ...over,
  };
}

function pickers(seed = 1): Pickers {
  return { random: seededRandom(seed), roundRobin: roundRobinCounters() };
}

describe('MeshConfig.resolve', () => {
  it('splits by the producer route weights and names the backend Service and workload', () => {
    const cfg = new MeshConfig(seedSnapshot());
    const p = pickers();
    const counts: Record<string, number> = {};
    for (let i = 0; i < 10_000; i++) {
      const d = cfg.resolve(addr(), GET, p);
      if (d.kind !== 'forward') throw new Error(`unexpected ${d.kind}`);
      counts[d.destination.name] = (counts[d.destination.name] ?? 0) + 1;
      expect(d.route).toBe(`${NS}/backend-split`);
    }
    const share = (counts['backend-v2'] ?? 0) / 10_000;
    expect(Math.abs(share - 0.1)).toBeLessThan(5 * Math.sqrt((0.1 * 0.9) / 10_000));
    const d = cfg.resolve(addr(), GET, { random: () => 0.95, roundRobin: () => 0 });
    expect(d).toMatchObject({
      kind: 'forward',
      destination: { name: 'backend-v2', namespace: NS },
      endpoint: { address: '127.0.0.1', port: 40003, workload: { name: 'backend-v2', namespace: NS, app: 'backend', version: 'v2' } },
    });
  });

  it('round-robins over the ready endpoints of the chosen Service', () => {
    const cfg = new MeshConfig(seedSnapshot({ routes: [] }));
    const p = pickers();
    const ports = [0, 1, 2, 3].map(() => {
      const d = cfg.resolve(addr('backend-v1'), GET, p);
      return d.kind === 'forward' ? d.endpoint.port : -1;
    });
    expect(ports).toEqual([40001, 40002, 40001, 40002]);
  });

  it('without a route sends to the addressed Service, like kube-proxy', () => {
    const cfg = new MeshConfig(seedSnapshot({ routes: [] }));
    const seen = new Set<number>();
    const p = pickers();
    for (let i = 0; i < 4; i++) {
      const d = cfg.resolve(addr('backend'), GET, p);
      if (d.kind === 'forward') {
        expect(d.destination.name).toBe('backend');
        seen.add(d.endpoint.port);
      }
    }
    expect([...seen].sort()).toEqual([40001, 40003]);
  });

  it('gives 500 (NC) for the share of a missing backend Service and of a non-Service backend', () => {
    const missing = new MeshConfig(seedSnapshot({ routes: [route('r', [{ backendRefs: backends(['backend-v1', 1], ['typo', 1]) }])] }));
    expect(missing.resolve(addr(), GET, { random: () => 0.75, roundRobin: () => 0 })).toMatchObject({
      kind: 'reject', status: 500, flag: 'NC', destination: { name: 'typo', namespace: NS },
    });
    expect(missing.resolve(addr(), GET, { random: () => 0.25, roundRobin: () => 0 }).kind).toBe('forward');
    const badKind = new MeshConfig(seedSnapshot({ routes: [route('r', [{ backendRefs: [{ group: 'example.com', kind: 'Thing', name: 'backend-v1', weight: 1 }] }])] }));
    expect(badKind.resolve(addr(), GET, pickers())).toMatchObject({ kind: 'reject', status: 500, flag: 'NC' });
  });

  it('gives 500 when every weight is 0 or the rule has no backends', () => {
    const zero = new MeshConfig(seedSnapshot({ routes: [route('r', [{ backendRefs: backends(['backend-v1', 0], ['backend-v2', 0]) }])] }));
    expect(zero.resolve(addr(), GET, pickers())).toMatchObject({ kind: 'reject', status: 500 });
    const none = new MeshConfig(seedSnapshot({ routes: [route('r', [{}])] }));
    expect(none.resolve(addr(), GET, pickers())).toMatchObject({ kind: 'reject', status: 500 });
  });

  it('gives 503 (UH) for a backend Service without ready loopback endpoints', () => {
    const cfg = new MeshConfig(
      seedSnapshot({
        routes: [route('r', [{ backendRefs: backends(['backend-v2', 1]) }])],
        endpointSlices: [slice('backend-v2', 'backend-v2', 0, 40003, { ready: false }), slice('backend-v2', 'backend-v2', 1, 40004, { address: '10.0.0.7' })],
      }),
    );
    expect(cfg.resolve(addr(), GET, pickers())).toMatchObject({ kind: 'reject', status: 503, flag: 'UH', destination: { name: 'backend-v2' } });
  });

  it('gives 404 (NR) when routes are attached but no rule matches, or the Service is unknown', () => {
    const cfg = new MeshConfig(seedSnapshot({ routes: [route('r', [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: backends(['backend-v1', 1]) }])] }));
    expect(cfg.resolve(addr(), { ...GET, path: '/web' }, pickers())).toMatchObject({ kind: 'reject', status: 404, flag: 'NR' });
    expect(cfg.resolve(addr(), { ...GET, path: '/api/x' }, pickers()).kind).toBe('forward');
    expect(cfg.resolve(addr('nope'), GET, pickers())).toMatchObject({ kind: 'reject', status: 404, flag: 'NR' });
  });

  it('binds a route with a parentRef port only to that Service port', () => {
    const svc = service('backend', { app: 'backend' }, [{ name: 'http', port: 80, targetPort: 5678 }, { name: 'admin', port: 9000, targetPort: 5678 }]);
    const cfg = new MeshConfig(
      seedSnapshot({
        services: [svc, service('backend-v1', { app: 'backend', version: 'v1' }), service('backend-v2', { app: 'backend', version: 'v2' })],
        routes: [route('r', [{ backendRefs: backends(['backend-v2', 1]) }], { port: 9000 })],
        endpointSlices: [...seedSnapshot().endpointSlices, slice('backend', 'backend-v1', 0, 40001, { portName: 'admin' })],
      }),
    );
    expect(cfg.resolve(addr('backend', 9000), GET, pickers())).toMatchObject({ kind: 'forward', destination: { name: 'backend-v2' } });
    expect(cfg.resolve(addr('backend', 80), GET, pickers())).toMatchObject({ kind: 'forward', destination: { name: 'backend' } });
    expect(cfg.resolve(addr('backend', 81), GET, pickers())).toMatchObject({ kind: 'reject', status: 404 });
  });

  it('ignores consumer routes (another namespace) and non-Service parents', () => {
    const consumer = route('c', [{ backendRefs: backends({ name: 'backend-v2', namespace: NS, port: 80, weight: 1 }) }], { ns: 'client-ns' });
    consumer.spec!.parentRefs![0]!.namespace = NS;
    const gatewayParent = route('g', [{ backendRefs: backends(['backend-v2', 1]) }]);
    gatewayParent.spec!.parentRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'backend' }];
    const cfg = new MeshConfig(seedSnapshot({ routes: [consumer, gatewayParent] }));
    expect(cfg.resolve(addr(), GET, pickers())).toMatchObject({ kind: 'forward', destination: { name: 'backend' } });
  });

  it('collects rule and backendRef header filters', () => {
    const r = route('r', [
      {
        filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-rule', value: '1' }] } }],
        backendRefs: [{ name: 'backend-v1', port: 80, filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'x-b', value: '2' }] } }] }],
      },
    ]);
    const d = new MeshConfig(seedSnapshot({ routes: [r] })).resolve(addr(), GET, pickers());
    expect(d).toMatchObject({ kind: 'forward', requestFilters: [{ set: [{ name: 'x-rule', value: '1' }] }], responseFilters: [{ add: [{ name: 'x-b', value: '2' }] }] });
  });

  it('orders backendRef header filters before rule ones, so the rule wins a clash as in Envoy', () => {
    const set = (v: string) => ({ set: [{ name: 'x-who', value: v }] });
    const r = route('r', [
      {
        filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: set('rule') }],
        backendRefs: [{ name: 'backend-v1', port: 80, filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: set('backend') }] }],
      },
    ]);
    const d = new MeshConfig(seedSnapshot({ routes: [r] })).resolve(addr(), GET, pickers());
    expect(d).toMatchObject({ kind: 'forward', requestFilters: [set('backend'), set('rule')] });
  });

  it('routes by a header match, a cookie regex match and a query match, else by the catch-all rule', () => {
    const r = route('r', [
      { name: 'header', matches: [{ headers: [{ name: 'x-canary', value: 'always' }] }], backendRefs: backends(['backend-v2', 1]) },
      { name: 'cookie', matches: [{ headers: [{ type: 'RegularExpression', name: 'Cookie', value: '(.*;\\s*)?canary=always(;.*)?' }] }], backendRefs: backends(['backend-v2', 1]) },
      { name: 'query', matches: [{ queryParams: [{ name: 'canary', value: 'always' }] }], backendRefs: backends(['backend-v2', 1]) },
      { backendRefs: backends(['backend-v1', 1]) },
    ]);
    const cfg = new MeshConfig(seedSnapshot({ routes: [r] }));
    const to = (req: Partial<RequestFacts>) => {
      const d = cfg.resolve(addr(), { ...GET, ...req }, pickers());
      return d.kind === 'forward' ? d.destination.name : d.kind;
    };
    expect(to({ headers: { 'x-canary': 'always' } })).toBe('backend-v2');
    expect(to({ headers: { cookie: 'session=1; canary=always; theme=dark' } })).toBe('backend-v2');
    expect(to({ headers: { cookie: 'session=1; canary=never' } })).toBe('backend-v1');
    expect(to({ query: new URLSearchParams('canary=always') })).toBe('backend-v2');
    expect(to({})).toBe('backend-v1');
  });

  it('samples each RequestMirror filter on its own and resolves the mirror to an endpoint', () => {
    const r = route('r', [
      {
        filters: [
          { type: 'RequestMirror', requestMirror: { backendRef: { name: 'backend-v2', port: 80 }, percent: 30 } },
          { type: 'RequestMirror', requestMirror: { backendRef: { name: 'backend-v1', port: 80 } } },
          { type: 'RequestMirror', requestMirror: { backendRef: { name: 'backend-v3', port: 80 } } },
        ],
        backendRefs: backends(['backend-v1', 1]),
      },
    ]);
    const cfg = new MeshConfig(seedSnapshot({ routes: [r] }));
    const p = pickers(7);
    let toV2 = 0;
    for (let i = 0; i < 5000; i++) {
      const d = cfg.resolve(addr(), GET, p);
      if (d.kind !== 'forward') throw new Error(`unexpected ${d.kind}`);
      // backend-v3 does not exist: that mirror goes nowhere; the 100% one is always there.
      expect(d.mirrors.map((m) => m.destination.name).filter((n) => n !== 'backend-v2')).toEqual(['backend-v1']);
      if (d.mirrors.some((m) => m.destination.name === 'backend-v2')) toV2++;
    }
    expect(Math.abs(toV2 / 5000 - 0.3)).toBeLessThan(5 * Math.sqrt((0.3 * 0.7) / 5000));
    const once = cfg.resolve(addr(), GET, { random: () => 0.1, roundRobin: () => 0 });
    expect(once).toMatchObject({ mirrors: [{ destination: { name: 'backend-v2', namespace: NS }, endpoint: { port: 40003, workload: { name: 'backend-v2' } } }, { destination: { name: 'backend-v1' } }] });
  });

  it('answers 500 for a rule it cannot program and keeps the other rules working', () => {
    const r = route('r', [
      { matches: [{ path: { type: 'PathPrefix', value: '/rewrite' } }], filters: [{ type: 'URLRewrite' }], backendRefs: backends(['backend-v2', 1]) },
      { backendRefs: backends(['backend-v1', 1]) },
    ]);
    const cfg = new MeshConfig(seedSnapshot({ routes: [r] }));
    const bad = cfg.resolve(addr(), { ...GET, path: '/rewrite/x' }, pickers());
    expect(bad).toMatchObject({ kind: 'reject', status: 500, route: `${NS}/r` });
    expect(bad.kind === 'reject' && bad.message).toContain('URLRewrite');
    expect(cfg.resolve(addr(), GET, pickers())).toMatchObject({ kind: 'forward', destination: { name: 'backend-v1' }, mirrors: [] });
  });
});
