import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../core/logger.js';
import { EchoServer } from '../workloads/echo-server.js';
import { MeshConfig, roundRobinCounters, type MeshSnapshot } from './mesh-config.js';
import { MeshMetrics } from './metrics.js';
import { MirrorTracker } from './mirror.js';
import { BACKEND_HEADER, createProxyHandler, FLAGS_HEADER, SOURCE_WORKLOAD_HEADER } from './proxy.js';
import { backends, deployment, NS, route, service, slice } from './test-fixtures.js';

/** An upstream that reports what it received, to check what the proxy forwards. */
function startInspector(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'yes', 'set-cookie': 'session=1' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A mirror target that keeps what it received and answers 500, which no client may see. */
function startShadow(seen: Array<{ method?: string; url?: string; host?: string; body: string; env?: string }>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, host: req.headers.host, body: Buffer.concat(chunks).toString(), env: req.headers['x-env'] as string | undefined });
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('shadow failure\n');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function request(port: number, host: string, opts: { method?: string; path?: string; body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: { host, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('mesh proxy', () => {
  let v1: EchoServer;
  let inspector: http.Server;
  let shadow: http.Server;
  const shadowSeen: Array<{ method?: string; url?: string; host?: string; body: string; env?: string }> = [];
  let proxy: http.Server;
  let proxyPort: number;
  let deadPort: number;
  const metrics = new MeshMetrics();
  const agent = new http.Agent({ keepAlive: true });
  const mirrors = new MirrorTracker();
  let config: MeshConfig | undefined;

  beforeAll(async () => {
    v1 = new EchoServer({ deployment: 'backend-v1', namespace: NS, replica: 0 }, { text: 'hello from backend v1', statusCode: 200, faults: { errorRate: 0, latency: { min: 0, max: 0 } } });
    await v1.start();
    inspector = await startInspector();
    shadow = await startShadow(shadowSeen);
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));

    const snapshot: MeshSnapshot = {
      services: [
        service('backend', { app: 'backend' }),
        service('backend-v1', { app: 'backend', version: 'v1' }),
        service('inspect', { app: 'inspect' }),
        service('dead', { app: 'dead' }),
        service('mirrored', { app: 'mirrored' }),
        service('shadow', { app: 'shadow' }),
      ],
      routes: [
        route('split', [{ backendRefs: backends(['backend-v1', 1]) }], { parent: 'backend' }),
        route('inspect', [
          {
            filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-env', value: 'canary' }], remove: ['x-remove-me'] } }],
            backendRefs: [{ name: 'inspect', port: 80, filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'x-resp', value: 'r' }] } }] }],
          },
        ], { parent: 'inspect' }),
        route('mirrored', [
          {
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-env', value: 'mirror-test' }] } },
              { type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow', port: 80 } } },
            ],
            backendRefs: [{ name: 'inspect', port: 80, filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: 'canary=always; Path=/' }] } }] }],
          },
        ], { parent: 'mirrored' }),
      ],
      endpointSlices: [
        slice('backend-v1', 'backend-v1', 0, v1.port),
        slice('inspect', 'inspect', 0, (inspector.address() as AddressInfo).port),
        slice('dead', 'dead', 0, deadPort),
        slice('shadow', 'shadow-v2', 0, (shadow.address() as AddressInfo).port),
      ],
      deployments: [deployment('backend-v1', { app: 'backend', version: 'v1' }), deployment('shadow-v2', { app: 'shadow', version: 'v2' })],
    };
    config = new MeshConfig(snapshot);
    proxy = http.createServer(createProxyHandler({ config: () => config, pickers: { random: Math.random, roundRobin: roundRobinCounters() }, metrics, logger: silentLogger(), agent, mirrors }));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    proxyPort = (proxy.address() as AddressInfo).port;
  });

  afterAll(async () => {
    agent.destroy();
    await v1.stop();
    proxy.closeAllConnections();
    inspector.closeAllConnections();
    shadow.closeAllConnections();
    await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => inspector.close(r)), new Promise((r) => shadow.close(r))]);
  });

  it('routes by the HTTPRoute and streams the answer back with the backend header', async () => {
    const res = await request(proxyPort, `backend.${NS}.svc.cluster.local`, { headers: { [SOURCE_WORKLOAD_HEADER]: 'sandbox-load' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello from backend v1\n');
    expect(res.headers[BACKEND_HEADER]).toBe('backend-v1');
    expect(res.headers['x-routeshift-workload']).toBe('backend-v1');
    const text = await metrics.text();
    const line = text.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes('reporter="destination"') && l.includes('destination_workload="backend-v1"'));
    expect(line).toContain('source_workload="sandbox-load"');
    expect(line).toContain('destination_version="v1"');
    expect(line).toContain('response_code="200"');
  });

  it('forwards method, path, query, body and headers, applying header filters', async () => {
    const res = await request(proxyPort, `inspect.${NS}:80`, {
      method: 'POST',
      path: '/submit?x=1',
      body: 'payload',
      headers: { 'x-remove-me': 'gone', 'x-keep': 'kept', [SOURCE_WORKLOAD_HEADER]: 'sandbox-load' },
    });
    expect(res.status).toBe(201);
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers['x-resp']).toBe('r');
    expect(res.headers[BACKEND_HEADER]).toBe('inspect');
    const seen = JSON.parse(res.body) as { method: string; url: string; body: string; headers: Record<string, string> };
    expect(seen).toMatchObject({ method: 'POST', url: '/submit?x=1', body: 'payload' });
    expect(seen.headers).toMatchObject({ 'x-keep': 'kept', 'x-env': 'canary', host: `inspect.${NS}:80` });
    expect(seen.headers['x-remove-me']).toBeUndefined();
    expect(seen.headers[SOURCE_WORKLOAD_HEADER]).toBeUndefined();
  });

  it('answers 503 UF when the endpoint refuses the connection, and 404 NR for unknown hosts', async () => {
    const dead = await request(proxyPort, `dead.${NS}.svc`);
    expect(dead.status).toBe(503);
    expect(dead.headers[FLAGS_HEADER]).toBe('UF');
    const unknown = await request(proxyPort, 'example.com');
    expect(unknown.status).toBe(404);
    const noSvc = await request(proxyPort, `nothing.${NS}.svc.cluster.local`);
    expect(noSvc.status).toBe(404);
    expect(noSvc.headers[FLAGS_HEADER]).toBe('NR');
    expect(await metrics.text()).toMatch(/istio_requests_total\{[^}]*destination_service_name="nothing"[^}]*response_code="404"[^}]*response_flags="NR"[^}]*\} 1/);
  });

  it('mirrors a copy (body and route headers, host with -shadow) and answers only from the primary, adding Set-Cookie', async () => {
    const res = await request(proxyPort, `mirrored.${NS}:80`, { method: 'PUT', path: '/items/7?x=1', body: 'payload', headers: { [SOURCE_WORKLOAD_HEADER]: 'sandbox-load' } });
    expect(res.status).toBe(201);
    expect(res.headers[BACKEND_HEADER]).toBe('inspect');
    expect(res.headers['set-cookie']).toEqual(['session=1', 'canary=always; Path=/']);
    await mirrors.idle();
    expect(shadowSeen).toEqual([{ method: 'PUT', url: '/items/7?x=1', host: `mirrored.${NS}-shadow:80`, body: 'payload', env: 'mirror-test' }]);
    const text = await metrics.text();
    const shadowLines = text.split('\n').filter((l) => l.startsWith('istio_requests_total{') && l.includes('destination_service_name="shadow"'));
    expect(shadowLines).toHaveLength(1);
    expect(shadowLines[0]).toContain('reporter="destination"');
    expect(shadowLines[0]).toContain('destination_workload="shadow-v2"');
    expect(shadowLines[0]).toContain('source_workload="sandbox-load"');
    expect(shadowLines[0]).toMatch(/response_code="500".* 1$/);
  });
});
