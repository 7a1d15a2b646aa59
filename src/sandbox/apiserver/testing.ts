import { request as httpRequest, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';

/** Small HTTP helpers for tests that talk to the sandbox API server without a Kubernetes client. */

export interface CallResult {
  status: number;
  headers: IncomingMessage['headers'];
  /** Arbitrary Kubernetes JSON, which tests index freely. */
  body: any;
}

export function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<CallResult> {
  const url = new URL(path, base);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method,
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) } : {}),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export interface WatchEventLine {
  type: string;
  object: any;
}

export interface OpenWatch {
  status: number;
  events: WatchEventLine[];
  /** Resolves with the first event (from the start) that satisfies `pred`; rejects after `timeoutMs`. */
  next(pred: (e: WatchEventLine) => boolean, timeoutMs?: number): Promise<WatchEventLine>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export function openWatch(base: string, path: string, headers: Record<string, string> = {}): Promise<OpenWatch> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', headers: { Accept: 'application/json', ...headers } }, (res) => {
      const events: WatchEventLine[] = [];
      const waiters = new Set<() => void>();
      let endResolve: () => void = () => undefined;
      const ended = new Promise<void>((r) => (endResolve = r));
      const lines = createInterface({ input: res });
      lines.on('error', () => endResolve());
      lines.on('line', (line) => {
        if (!line.trim()) return;
        events.push(JSON.parse(line) as WatchEventLine);
        for (const w of [...waiters]) w();
      });
      res.on('end', () => endResolve());
      res.on('close', () => endResolve());
      // close() aborts the response on purpose
      res.on('error', () => endResolve());
      resolve({
        status: res.statusCode ?? 0,
        events,
        ended,
        close: () => req.destroy(),
        next: (pred, timeoutMs = 5000) =>
          new Promise((res2, rej2) => {
            const check = (): boolean => {
              const hit = events.find(pred);
              if (hit) {
                waiters.delete(waiter);
                clearTimeout(timer);
                res2(hit);
                return true;
              }
              return false;
            };
            const waiter = (): void => void check();
            const timer = setTimeout(() => {
              waiters.delete(waiter);
              rej2(new Error(`no matching watch event within ${timeoutMs} ms; got ${JSON.stringify(events.map((e) => e.type))}`));
            }, timeoutMs);
            waiters.add(waiter);
            check();
          }),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
