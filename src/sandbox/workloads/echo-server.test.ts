import http from 'node:http';
import { freeLoopbackPort } from '../../core/net.js';
import { seededRandom } from '../mesh/weighted-pick.js';
import { EchoServer, WORKLOAD_HEADER, type EchoConfig } from './echo-server.js';

function get(port: number, path = '/'): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    }).on('error', reject);
  });
}

const base: EchoConfig = { text: 'hello from backend v1', statusCode: 200, faults: { errorRate: 0, latency: { min: 0, max: 0 } } };

describe('EchoServer', () => {
  const server = new EchoServer({ deployment: 'backend-v1', namespace: 'istio-test', replica: 0 }, base, seededRandom(5));
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('answers the text plus a newline and names its Deployment', async () => {
    const res = await get(server.port);
    expect(res).toMatchObject({ status: 200, body: 'hello from backend v1\n' });
    expect(res.headers[WORKLOAD_HEADER]).toBe('backend-v1');
  });

  it('takes a new config live on the same port', async () => {
    const port = server.port;
    server.configure({ ...base, text: 'v1 patched', statusCode: 503 });
    const res = await get(server.port);
    expect(server.port).toBe(port);
    expect(res).toMatchObject({ status: 503, body: 'v1 patched\n' });
    server.configure(base);
  });

  it('answers 500 for about the configured error share', async () => {
    server.configure({ ...base, faults: { errorRate: 0.5, latency: { min: 0, max: 0 } } });
    const results = await Promise.all(Array.from({ length: 400 }, () => get(server.port)));
    const errors = results.filter((r) => r.status === 500).length;
    // 5-sigma binomial bound around 200 of 400.
    expect(Math.abs(errors - 200)).toBeLessThan(5 * Math.sqrt(400 * 0.25));
    server.configure(base);
  });

  it('serves /health', async () => {
    expect(await get(server.port, '/health')).toMatchObject({ status: 200, body: '{"status":"ok"}\n' });
  });

  it('listens where it is told (a pod IP and container port, for the pod agent\'s bindPodIps)', async () => {
    const port = await freeLoopbackPort();
    const pinned = new EchoServer({ deployment: 'backend-v2', namespace: 'istio-test', replica: 0 }, base, seededRandom(1), { host: '127.0.0.1', port });
    expect(await pinned.start()).toBe(port);
    try {
      expect(await get(port)).toMatchObject({ status: 200, body: 'hello from backend v1\n' });
    } finally {
      await pinned.stop();
    }
  });
});
