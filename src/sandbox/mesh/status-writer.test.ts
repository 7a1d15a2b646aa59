import { silentLogger } from '../../core/logger.js';
import { KubeApiError, type KubeRest, type RequestOptions } from './kube/rest.js';
import type { HTTPRoute, RouteParentStatus } from './kube/types.js';
import { MeshConfig } from './mesh-config.js';
import { RouteStatusWriter } from './status-writer.js';
import { backends, NS, route, service } from './test-fixtures.js';

const CTRL = 'istio.io/gateway-controller';

/** An in-memory HTTPRoute store speaking the status subresource with optimistic concurrency. */
class FakeRoutes implements KubeRest {
  calls: Array<{ method: string; path: string }> = [];
  conflictsLeft = 0;
  constructor(public obj: HTTPRoute) {}
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    this.calls.push({ method, path });
    if (method === 'GET') return structuredClone(this.obj) as T;
    if (method === 'PUT' && path.endsWith('/status')) {
      const body = opts.body as HTTPRoute;
      if (this.conflictsLeft > 0 || body.metadata.resourceVersion !== this.obj.metadata.resourceVersion) {
        this.conflictsLeft = Math.max(0, this.conflictsLeft - 1);
        // Someone else wrote meanwhile: bump the version as their write would.
        this.obj = { ...this.obj, metadata: { ...this.obj.metadata, resourceVersion: String(Number(this.obj.metadata.resourceVersion) + 1) } };
        throw new KubeApiError(method, path, 409, 'Conflict', 'the object has been modified');
      }
      this.obj = { ...this.obj, metadata: { ...this.obj.metadata, resourceVersion: String(Number(this.obj.metadata.resourceVersion) + 1) }, status: body.status };
      return structuredClone(this.obj) as T;
    }
    throw new Error(`unexpected ${method} ${path}`);
  }
}

const services = [service('backend', { app: 'backend' }), service('backend-v1', { app: 'backend', version: 'v1' })];
const config = (r: HTTPRoute) => new MeshConfig({ services, routes: [r], endpointSlices: [], deployments: [] });
const mine = (r: HTTPRoute): RouteParentStatus | undefined => r.status?.parents?.find((p) => p.controllerName === CTRL);

describe('RouteStatusWriter', () => {
  it('writes Accepted/ResolvedRefs through PUT on /status, keeping another controller entry', async () => {
    const other: RouteParentStatus = { parentRef: { group: '', kind: 'Service', name: 'backend' }, controllerName: 'linkerd.io/policy-controller', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted' }] };
    const r = { ...route('split', [{ backendRefs: backends(['backend-v1', 1]) }], { generation: 3 }), status: { parents: [other] } };
    const fake = new FakeRoutes(structuredClone(r));
    const writer = new RouteStatusWriter(fake, CTRL, () => fake.obj, silentLogger());
    writer.sync(config(r));
    await writer.idle();
    expect(fake.calls).toEqual([{ method: 'PUT', path: `/apis/gateway.networking.k8s.io/v1/namespaces/${NS}/httproutes/split/status` }]);
    expect(fake.obj.status?.parents?.[0]).toEqual(other);
    expect(mine(fake.obj)?.conditions.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([
      ['Accepted', 'True', 3],
      ['ResolvedRefs', 'True', 3],
    ]);
  });

  it('does not write again when nothing changed (no write loop)', async () => {
    const r = route('split', [{ backendRefs: backends(['backend-v1', 1]) }]);
    const fake = new FakeRoutes(structuredClone(r));
    const writer = new RouteStatusWriter(fake, CTRL, () => fake.obj, silentLogger());
    writer.sync(config(r));
    await writer.idle();
    writer.sync(config(fake.obj));
    await writer.idle();
    expect(fake.calls.filter((c) => c.method === 'PUT')).toHaveLength(1);
  });

  it('re-reads and retries on 409 Conflict', async () => {
    const r = route('split', [{ backendRefs: backends(['backend-v1', 1]) }]);
    const fake = new FakeRoutes(structuredClone(r));
    fake.conflictsLeft = 2;
    const writer = new RouteStatusWriter(fake, CTRL, () => r, silentLogger());
    writer.sync(config(r));
    await writer.idle();
    expect(fake.calls.map((c) => c.method)).toEqual(['PUT', 'GET', 'PUT', 'GET', 'PUT']);
    expect(mine(fake.obj)).toBeDefined();
  });

  it('does not report an older generation over a newer one', async () => {
    const newer = route('split', [{ backendRefs: backends(['backend-v1', 1]) }], { generation: 5 });
    const fake = new FakeRoutes(structuredClone(newer));
    const writer = new RouteStatusWriter(fake, CTRL, () => fake.obj, silentLogger());
    writer.sync(config(newer));
    await writer.idle();
    const older = route('split', [{ backendRefs: backends(['missing', 1]) }], { generation: 4 });
    writer.sync(config(older));
    await writer.idle();
    expect(mine(fake.obj)?.conditions.every((c) => c.observedGeneration === 5 && c.status === 'True')).toBe(true);
  });
});
