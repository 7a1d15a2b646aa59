import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../../../core/logger.js';
import { ResourceCache } from './resource-cache.js';
import { httpKubeRest } from './rest.js';
import type { Service } from './types.js';

/** A tiny API server: the first list fails, later lists work, the watch sends one ADDED event. */
function fakeApi(): Promise<{ server: http.Server; url: string; lists: () => number }> {
  let lists = 0;
  const svc = (name: string, rv: string): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'ns', resourceVersion: rv } });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(`${JSON.stringify({ type: 'ADDED', object: svc('b', '2') })}\n`);
      return; // stays open, as a watch does
    }
    lists++;
    if (lists === 1) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'InternalError', message: 'not yet' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'ServiceList', metadata: { resourceVersion: '1' }, items: [svc('a', '1')] }));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lists: () => lists })),
  );
}

describe('ResourceCache', () => {
  it('retries a failed list, syncs, and delivers watch events', async () => {
    const api = await fakeApi();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: api.url, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const cache = new ResourceCache<Service>(kc, httpKubeRest(kc), '/api/v1/services', silentLogger(), undefined, 20);
    const seen: string[] = [];
    cache.onChange((kind, obj) => seen.push(`${kind}:${obj.metadata.name}`));
    try {
      await cache.start();
      expect(api.lists()).toBeGreaterThanOrEqual(2);
      expect(cache.get('a', 'ns')?.metadata.name).toBe('a');
      await new Promise<void>((resolve) => {
        const check = (): void => (cache.get('b', 'ns') ? resolve() : void setTimeout(check, 10));
        check();
      });
      expect(seen).toEqual(['add:a', 'add:b']);
      expect(cache.list('ns').map((s) => s.metadata.name).sort()).toEqual(['a', 'b']);
    } finally {
      await cache.stop();
      api.server.closeAllConnections();
      await new Promise((r) => api.server.close(r));
    }
  });
});
