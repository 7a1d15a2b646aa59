import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { RouteshiftError } from '../core/errors.js';

/**
 * A minimal JSON client for the sandbox API server, used by the benchmark's own traffic (object
 * creation, the route-status stand-in, watching Canaries). client-node would work too, but its
 * per-request overhead lands in the bench process, which shares the two cores with the controller
 * being measured; a keep-alive agent and raw JSON keep the harness's share small.
 */

export class KubeHttpError extends RouteshiftError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('KubeHttpError', message);
  }
}

export interface KubeResponse<T> {
  status: number;
  body: T;
}

export type WatchLine = { type: string; object: Record<string, unknown> & { metadata?: { name?: string; resourceVersion?: string }; code?: number } };

export class KubeHttp {
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly token = 'sandbox-bench',
  ) {
    this.base = new URL(baseUrl);
    // The real control plane's front door serves a self-signed certificate made at its start.
    const tls = this.base.protocol === 'https:';
    this.lib = tls ? https : http;
    this.agent = tls ? new https.Agent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: false }) : new http.Agent({ keepAlive: true, maxSockets: 32 });
  }

  /** One request; resolves with any status (the caller decides), rejects only on transport errors. */
  request<T = unknown>(method: string, path: string, body?: unknown, contentType = 'application/json', signal?: AbortSignal): Promise<KubeResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = this.lib.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          path,
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            authorization: `Bearer ${this.token}`,
            ...(payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {}),
          },
          ...(signal ? { signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: hand back the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Like request, but a status >= 300 rejects with KubeHttpError. */
  async ok<T = unknown>(method: string, path: string, body?: unknown, contentType?: string, signal?: AbortSignal): Promise<T> {
    const res = await this.request<T>(method, path, body, contentType, signal);
    if (res.status >= 300) {
      const msg = (res.body as { message?: string } | undefined)?.message ?? JSON.stringify(res.body);
      throw new KubeHttpError(res.status, `${method} ${path}: HTTP ${res.status}: ${msg}`);
    }
    return res.body;
  }

  /**
   * Lists then watches a collection until `signal` aborts, re-watching after a dropped stream and
   * relisting after 410 Gone. `onLine` sees the listed items as ADDED.
   */
  async listWatch(path: string, onLine: (line: WatchLine) => void, signal: AbortSignal): Promise<void> {
    setMaxListeners(0, signal); // one long-lived signal for every list and re-watch
    let rv = '';
    while (!signal.aborted) {
      try {
        if (!rv) {
          const list = await this.ok<{ items: WatchLine['object'][]; metadata: { resourceVersion: string } }>('GET', path, undefined, undefined, signal);
          for (const item of list.items) onLine({ type: 'ADDED', object: item });
          rv = list.metadata.resourceVersion;
        }
        rv = await this.watchOnce(path, rv, onLine, signal);
      } catch {
        if (signal.aborted) return;
        rv = '';
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Returns the last resourceVersion seen, or '' after 410 Gone. */
  private watchOnce(path: string, rv: string, onLine: (line: WatchLine) => void, signal: AbortSignal): Promise<string> {
    const sep = path.includes('?') ? '&' : '?';
    return new Promise((resolve, reject) => {
      let last = rv;
      let buf = '';
      const req = this.lib.get(
        {
          host: this.base.hostname,
          port: this.base.port,
          agent: this.agent,
          path: `${path}${sep}watch=true&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`,
          headers: { accept: 'application/json', authorization: `Bearer ${this.token}` },
          signal,
        },
        (res) => {
          if (res.statusCode === 410) {
            res.resume();
            return resolve('');
          }
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const text = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!text.trim()) continue;
              const line = JSON.parse(text) as WatchLine;
              if (line.type === 'ERROR') {
                if (line.object.code === 410) last = '';
                continue;
              }
              const v = line.object.metadata?.resourceVersion;
              if (v) last = v;
              if (line.type !== 'BOOKMARK') onLine(line);
            }
          });
          res.on('end', () => resolve(last));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `task` over `items` with at most `n` in flight. */
export async function forEachLimit<T>(items: readonly T[], n: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await task(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
