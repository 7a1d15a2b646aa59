import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A webhook receiver on 127.0.0.1 for the hooks and notify tests: records requests, answers as scripted. */

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: unknown;
}

/** 'hang' never answers; 'destroy' drops the connection without an answer (a network error). */
export type Reply = { status: number; body?: string } | 'hang' | 'destroy';
export type Handler = (req: ReceivedRequest, nth: number) => Reply | Promise<Reply>;

export interface Receiver {
  url(path: string): string;
  /** Every request, in arrival order. */
  readonly requests: ReceivedRequest[];
  on(path: string, reply: Reply | Handler): void;
  /** Requests to `path` so far. */
  to(path: string): ReceivedRequest[];
  /** Resolves once `count` requests reached `path` (no timers: it waits on arrivals). */
  waitFor(path: string, count: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const handlers = new Map<string, Handler>();
  const requests: ReceivedRequest[] = [];
  const waiters: Array<{ path: string; count: number; resolve: (r: ReceivedRequest[]) => void }> = [];
  const sockets = new Set<Socket>();
  const to = (path: string): ReceivedRequest[] => requests.filter((r) => r.path === path);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = JSON.parse(raw);
      } catch {
        // not JSON: keep the text
      }
      const path = req.url ?? '/';
      const rec: ReceivedRequest = { method: req.method ?? '', path, headers: req.headers, raw, body };
      requests.push(rec);
      const nth = to(path).length;
      for (const w of [...waiters]) {
        if (w.path === path && nth >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(to(path));
        }
      }
      const handler = handlers.get(path) ?? (() => ({ status: 200, body: 'ok' }));
      void Promise.resolve(handler(rec, nth)).then((reply) => {
        if (reply === 'hang') return;
        if (reply === 'destroy') {
          req.socket.destroy();
          return;
        }
        res.writeHead(reply.status, { 'Content-Type': 'text/plain' });
        res.end(reply.body ?? '');
      });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    on(path, reply) {
      handlers.set(path, typeof reply === 'function' ? reply : () => reply);
    },
    to,
    waitFor(path, count) {
      if (to(path).length >= count) return Promise.resolve(to(path));
      return new Promise((resolve) => waiters.push({ path, count, resolve }));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
