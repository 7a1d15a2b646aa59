/**
 * KubeRouteClient against a loopback HTTP server speaking the bits of the Kubernetes API it uses:
 * proves the wire format (path, JSON Patch content type, fieldManager, body) and the error mapping
 * end to end through client-node 1.4.0, and that an abort really cancels the request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { AbortedError } from '../core/errors.js';
import { RouteApiError, RouteMismatchError, RouteNotFoundError } from './errors.js';
import { applyJsonPatch, JsonPatchError, type JsonPatchOp } from './json-patch.js';
import { KubeRouteClient } from './kube-route-client.js';
import { setWeights } from './route-client.js';
import { seedRoute } from './testing.js';
import type { Route, RouteKey } from './types.js';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

const BASE = '/apis/gateway.networking.k8s.io/v1/namespaces/istio-test';
const routes = new Map<string, Route>();
const seen: Seen[] = [];
/** Per-test override: answer the request yourself (return true), or leave it to the default handler. */
let override: ((req: http.IncomingMessage, res: http.ServerResponse, body: string) => boolean) | undefined;
let server: http.Server;
let kc: KubeConfig;

function status(res: http.ServerResponse, code: number, message: string, details: unknown = {}): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code, details }));
}

function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body });
  if (override?.(req, res, body)) return;
  const path = (req.url ?? '').split('?')[0] ?? '';
  const route = routes.get(path);
  if (!route) return status(res, 404, 'not found');
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end(JSON.stringify(route));
  }
  if (req.method === 'PATCH' && req.headers['content-type'] === 'application/json-patch+json') {
    try {
      const next = applyJsonPatch(route, JSON.parse(body) as JsonPatchOp[]);
      next.metadata.generation = (route.metadata.generation ?? 1) + 1;
      routes.set(path, next);
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify(next));
    } catch (err) {
      // What kube-apiserver answers when a JSON Patch cannot be applied.
      if (err instanceof JsonPatchError) return status(res, 422, 'the server rejected our request due to an error in our request');
      throw err;
    }
  }
  status(res, 415, 'unsupported');
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handle(req, res, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  kc = kubeConfigFor((server.address() as AddressInfo).port);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  routes.clear();
  routes.set(`${BASE}/httproutes/backend-split`, seedRoute());
  seen.length = 0;
  override = undefined;
});

function kubeConfigFor(port: number): KubeConfig {
  const k = new KubeConfig();
  k.loadFromOptions({
    clusters: [{ name: 'local', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'test-token' }],
    contexts: [{ name: 'ctx', cluster: 'local', user: 'u' }],
    currentContext: 'ctx',
  });
  return k;
}

const ref: RouteKey = { kind: 'HTTPRoute', namespace: 'istio-test', name: 'backend-split' };
const live = (): AbortSignal => new AbortController().signal;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('KubeRouteClient', () => {
  it('GETs the route from gateway.networking.k8s.io/v1 (httproutes and grpcroutes)', async () => {
    const client = KubeRouteClient.fromKubeConfig(kc);
    const route = await client.get(ref, live());
    expect(route.metadata.name).toBe('backend-split');
    routes.set(`${BASE}/grpcroutes/backend-split`, { ...seedRoute(), kind: 'GRPCRoute' });
    expect((await client.get({ ...ref, kind: 'GRPCRoute' }, live())).kind).toBe('GRPCRoute');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([`GET ${BASE}/httproutes/backend-split`, `GET ${BASE}/grpcroutes/backend-split`]);
  });

  it('setWeights end to end: sends the ops as application/json-patch+json with fieldManager', async () => {
    const client = KubeRouteClient.fromKubeConfig(kc, { fieldManager: 'routeshift-test' });
    const res = await setWeights(
      client,
      ref,
      { routeRef: { name: 'backend-split' }, stable: { name: 'backend-v1', port: 80 }, canary: { name: 'backend-v2', port: 80 } },
      25,
      live(),
    );
    expect(res).toMatchObject({ changed: true, before: { canaryPercent: 10 }, after: { stable: 75, canary: 25, canaryPercent: 25 } });
    const patch = seen.find((s) => s.method === 'PATCH');
    expect(patch?.contentType).toBe('application/json-patch+json');
    expect(patch?.url).toBe(`${BASE}/httproutes/backend-split?fieldManager=routeshift-test`);
    expect(JSON.parse(patch?.body ?? 'null')).toEqual(res.ops);
  });

  it('maps a failed test op (422) to RouteChanged and a missing route to RouteNotFound', async () => {
    const client = KubeRouteClient.fromKubeConfig(kc);
    const staleOps: JsonPatchOp[] = [
      { op: 'test', path: '/spec/rules/0/backendRefs/1/weight', value: 50 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 60 },
    ];
    const changed = await rejection(client.patchWeights(ref, staleOps, live()));
    expect(changed).toBeInstanceOf(RouteMismatchError);
    expect(changed).toMatchObject({ code: 'RouteChanged' });
    expect(await rejection(client.get({ ...ref, name: 'nope' }, live()))).toBeInstanceOf(RouteNotFoundError);
  });

  it('maps 409 to RouteChanged, 500 to a transient RouteApiError, validation 422 to a permanent one', async () => {
    const client = KubeRouteClient.fromKubeConfig(kc);
    const ops: JsonPatchOp[] = [{ op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 20 }];
    override = (_req, res) => (status(res, 409, 'Operation cannot be fulfilled: the object has been modified'), true);
    expect(await rejection(client.patchWeights(ref, ops, live()))).toMatchObject({ code: 'RouteChanged' });
    override = (_req, res) => (status(res, 500, 'etcd timeout'), true);
    const e500 = await rejection(client.get(ref, live()));
    expect(e500).toBeInstanceOf(RouteApiError);
    expect(e500).toMatchObject({ status: 500, transient: true });
    override = (_req, res) => (
      status(res, 422, 'HTTPRoute.gateway.networking.k8s.io "backend-split" is invalid: spec.rules[0].backendRefs[1].weight: Invalid value', {
        causes: [{ reason: 'FieldValueInvalid', field: 'spec.rules[0].backendRefs[1].weight' }],
      }),
      true
    );
    expect(await rejection(client.patchWeights(ref, ops, live()))).toMatchObject({ code: 'RouteApiError', status: 422, transient: false });
  });

  it('maps a refused connection to a transient RouteApiError without status', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = KubeRouteClient.fromKubeConfig(kubeConfigFor(port));
    expect(await rejection(client.get(ref, live()))).toMatchObject({ code: 'RouteApiError', transient: true, status: undefined });
  });

  it('abort cancels the in-flight request: AbortedError, and the server sees the connection closed', async () => {
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    override = (req) => {
      req.socket.once('close', () => closed());
      arrived();
      return true; // never answer
    };
    const client = KubeRouteClient.fromKubeConfig(kc);
    const ac = new AbortController();
    const pending = rejection(client.get(ref, ac.signal));
    await requestArrived;
    ac.abort();
    expect(await pending).toBeInstanceOf(AbortedError);
    await connectionClosed;
  });
});
