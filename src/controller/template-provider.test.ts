/** A MetricTemplate's own Prometheus address is an outbound URL a tenant chose: held to the outbound policy. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { templateProvider } from './template-provider.js';
import { createOutboundPolicy } from '../hooks/outbound.js';

let server: Server;
let port = 0;
let requests = 0;
beforeAll(async () => {
  server = createServer((_req, res) => {
    requests++;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [0, '7'] }] } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const signal = new AbortController().signal;

describe('templateProvider', () => {
  it.each([
    ['http://169.254.169.254', '169.254.169.254 is a link-local address'],
    ['http://127.0.0.1:PORT', '127.0.0.1 is a loopback address'],
    ['http://localhost:PORT', 'localhost resolves to'],
  ])('refuses %s by default without a request, as a non-transient error', async (address, why) => {
    const before = requests;
    const p = templateProvider({ address: address.replace('PORT', String(port)), retries: 2 }, createOutboundPolicy());
    const out = await p.query('up', { signal });
    p.close();
    expect(out).toMatchObject({ kind: 'error', transient: false });
    expect(out.kind === 'error' && out.message).toContain(`refused by the outbound policy: ${why}`);
    expect(requests).toBe(before);
  });

  it('queries an allowed address', async () => {
    const p = templateProvider({ address: `http://localhost:${port}` }, createOutboundPolicy({ allow: ['localhost'], deny: [], allowOnlyListed: false }));
    expect(await p.query('up', { signal })).toEqual({ kind: 'value', value: 7 });
    p.close();
  });
});
