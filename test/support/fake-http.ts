import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A programmable HTTP server on 127.0.0.1 that records what it was sent. */
export interface RecordedRequest {
  method: string;
  url: URL;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeReply {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer (for timeout tests); the socket is closed by stop(). */
  hang?: boolean;
  /** Close the connection without answering. */
  destroy?: boolean;
}

export type FakeHandler = (req: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeHttpServer {
  url: string;
  requests: RecordedRequest[];
  /** Replies used in order, then `fallback`. */
  reply(...replies: Array<FakeReply | FakeHandler>): void;
  fallback: FakeHandler;
  stop(): Promise<void>;
}

export async function startFakeHttp(fallback: FakeHandler = () => ({ status: 404, body: 'not found' })): Promise<FakeHttpServer> {
  const queue: Array<FakeReply | FakeHandler> = [];
  const requests: RecordedRequest[] = [];
  const state = { fallback };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const rec: RecordedRequest = {
          method: req.method ?? 'GET',
          url: new URL(req.url ?? '/', 'http://127.0.0.1'),
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        };
        requests.push(rec);
        const next = queue.shift() ?? state.fallback;
        const reply = typeof next === 'function' ? await next(rec) : next;
        if (reply.hang) return;
        if (reply.destroy) {
          req.socket.destroy();
          return;
        }
        const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
        res.writeHead(reply.status ?? 200, { 'Content-Type': 'application/json', ...(reply.headers ?? {}) });
        res.end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    reply: (...replies) => queue.push(...replies),
    get fallback() {
      return state.fallback;
    },
    set fallback(h: FakeHandler) {
      state.fallback = h;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Prometheus API bodies. */
export const prom = {
  vector: (...samples: Array<{ metric?: Record<string, string>; value: string }>) => ({
    status: 'success',
    data: { resultType: 'vector', result: samples.map((s) => ({ metric: s.metric ?? {}, value: [1_700_000_000, s.value] })) },
  }),
  scalar: (value: string) => ({ status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, value] } }),
  matrix: () => ({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1']] }] } }),
  error: (errorType: string, error: string) => ({ status: 'error', errorType, error }),
};
