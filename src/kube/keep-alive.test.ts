import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { withKeepAlive } from './keep-alive.js';

/** A stand-in API server that answers every GET with an empty list and counts TCP connections. */
function server(): Promise<{ srv: Server; url: string; connections: () => number }> {
  let n = 0;
  const srv = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [] }));
  });
  srv.on('connection', () => n++);
  return new Promise((resolve) =>
    srv.listen(0, '127.0.0.1', () => resolve({ srv, url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, connections: () => n })),
  );
}

function kubeConfig(url: string, token = 't'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function listFive(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  for (let i = 0; i < 5; i++) await api.listNamespace();
}

describe('withKeepAlive', () => {
  let s: Awaited<ReturnType<typeof server>>;
  beforeAll(async () => {
    s = await server();
  });
  afterAll(async () => {
    s.srv.closeAllConnections();
    await new Promise((r) => s.srv.close(r));
  });

  it('client-node alone opens a connection per request (why this exists)', async () => {
    const before = s.connections();
    await listFive(kubeConfig(s.url));
    expect(s.connections() - before).toBe(5);
  });

  it('reuses one connection for sequential requests', async () => {
    const before = s.connections();
    await listFive(withKeepAlive(kubeConfig(s.url)));
    expect(s.connections() - before).toBe(1);
  });

  it('is idempotent', async () => {
    const kc = withKeepAlive(withKeepAlive(kubeConfig(s.url)));
    const before = s.connections();
    await listFive(kc);
    expect(s.connections() - before).toBe(1);
  });

  it('keys agents by TLS material, so new credentials get new connections', async () => {
    const kc = withKeepAlive(kubeConfig(s.url));
    const create = (kc as unknown as { createAgent: (c: unknown, o: Record<string, unknown>) => unknown }).createAgent;
    const cluster = kc.getCurrentCluster();
    const a = create(cluster, { cert: 'one' });
    expect(create(cluster, { cert: 'one' })).toBe(a);
    expect(create(cluster, { cert: 'two' })).not.toBe(a);
    expect(create(cluster, { cert: Buffer.from('one') })).toBe(a);
  });
});
