import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock, systemClock } from '../core/clock.js';
import { OutboundRefusedError } from '../hooks/errors.js';
import { createOutboundPolicy } from '../hooks/outbound.js';
import { parseHeyCommand } from './hey.js';
import { createSender } from './send.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  socket: unknown;
}

let server: Server;
let base = '';
const seen: Seen[] = [];
/** Requests to /hang are held until the test ends. */
const held: Array<() => void> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, socket: req.socket });
      if (req.url === '/hang') return held.push(() => res.end());
      res.writeHead(req.url === '/fail' ? 503 : 200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  held.forEach((r) => r());
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const loopback = createOutboundPolicy({ allow: ['127.0.0.1'], deny: [], allowOnlyListed: false });

describe('createSender', () => {
  it('sends what the hey command says, over one kept-alive socket, and classes the answers', async () => {
    seen.length = 0;
    const spec = parseHeyCommand(`hey -m POST -d '{"x":1}' -T application/json -H "X-Team: payments" -host app.shop.svc -c 1 ${base}/ok`);
    const s = createSender(spec, loopback, systemClock);
    const signal = new AbortController().signal;
    expect(await s.send(signal)).toEqual({ outcome: '2xx' });
    expect(await s.send(signal)).toEqual({ outcome: '2xx' });
    s.close();
    expect(seen.map((x) => [x.method, x.url, x.body])).toEqual([
      ['POST', '/ok', '{"x":1}'],
      ['POST', '/ok', '{"x":1}'],
    ]);
    expect(seen[0]?.headers).toMatchObject({ host: 'app.shop.svc', 'x-team': 'payments', 'content-type': 'application/json' });
    expect(seen[0]?.socket).toBe(seen[1]?.socket);
    const failing = createSender(parseHeyCommand(`hey ${base}/fail`), loopback, systemClock);
    expect(await failing.send(signal)).toEqual({ outcome: '5xx' });
    failing.close();
  });

  it('gives up on a request at -t, on the injected clock', async () => {
    const clock = new FakeClock();
    const s = createSender(parseHeyCommand(`hey -t 2 ${base}/hang`), loopback, clock);
    const pending = s.send(new AbortController().signal);
    const before = held.length;
    while (held.length === before) await new Promise((r) => setImmediate(r));
    await clock.advance(2_000);
    const r = await pending;
    expect(r.outcome).toBe('error');
    expect(r.error?.message).toMatch(/timed out after 2000 ms/);
    s.close();
  });

  it('refuses a target the outbound policy refuses, before any request', () => {
    const n = seen.length;
    expect(() => createSender(parseHeyCommand(`hey ${base}/ok`), createOutboundPolicy(), systemClock)).toThrow(OutboundRefusedError);
    expect(seen.length).toBe(n);
  });

  it('refuses, at connect time, a name that resolves to a refused address', async () => {
    const s = createSender(parseHeyCommand(`hey http://localhost:${new URL(base).port}/ok`), createOutboundPolicy(), systemClock);
    const r = await s.send(new AbortController().signal);
    s.close();
    expect(r.outcome).toBe('error');
    expect(r.error).toBeInstanceOf(OutboundRefusedError);
  });
});
