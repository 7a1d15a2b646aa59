import type http from 'node:http';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '../../core/logger.js';
import { pickFailure, type FaultInjector } from '../apiserver/faults.js';
import { RequestLog, type RequestLogEntry } from '../apiserver/request-log.js';
import { k8sVerb, parseResourcePath } from '../apiserver/request-path.js';

export interface FrontDoorOptions {
  /** kube-apiserver's secure port on 127.0.0.1. */
  upstreamPort: number;
  /**
   * PEM certificate and key to serve with. Over plain HTTP kubectl would send no token at all
   * (client-go keeps credentials off insecure connections), so the door speaks TLS too.
   */
  tls: { cert: Buffer; key: Buffer };
  /** Sent upstream in place of a sandbox token (`sandbox-<user>`), as the stand-in accepts any. */
  adminToken: string;
  logger: Logger;
  random?: () => number;
}

export interface FrontDoor {
  /** https://127.0.0.1:<port> */
  url: string;
  port: number;
  faults: FaultInjector;
  requestLog: RequestLog;
  /** Names the user of a real token in the request log (as the stand-in names `token:<token>`). */
  label(token: string, user: string): void;
  stop(): Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A door in front of the real kube-apiserver that can fail on purpose, since the real
 * server cannot be told to: write failures (409, 500, 429), dropped watches, and expired
 * resourceVersions (410). It also keeps the stand-in's request log, so the same tests read who did
 * what. Bodies pass through untouched (kubectl's protobuf too).
 */
export async function startFrontDoor(opts: FrontDoorOptions): Promise<FrontDoor> {
  const door = new Door(opts);
  await door.listen();
  return door.facade();
}

interface OpenWatch {
  res: ServerResponse;
  upstream: http.ClientRequest;
}

class Door {
  readonly requestLog = new RequestLog();
  private readonly server: https.Server;
  private readonly agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  private readonly labels = new Map<string, string>();
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private writeFailureRate = 0;
  /** resourceVersions at or below this are answered 410, as after an etcd compaction. */
  private compactedAt: Promise<number> | undefined;
  port = 0;

  constructor(private readonly opts: FrontDoorOptions) {
    this.server = https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => void this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  facade(): FrontDoor {
    // The facade's getters read this live object, not a copy of its fields.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const door = this;
    return {
      url: `https://127.0.0.1:${this.port}`,
      port: this.port,
      requestLog: this.requestLog,
      label: (token, user) => this.labels.set(token, user),
      faults: {
        get writeFailureRate() {
          return door.writeFailureRate;
        },
        set writeFailureRate(v: number) {
          door.writeFailureRate = v;
        },
        dropWatches: () => this.dropWatches(),
        compact: () => {
          this.compactedAt = this.currentResourceVersion();
        },
      },
      stop: () => this.stop(),
    };
  }

  private dropWatches(): void {
    for (const w of this.watches) {
      w.upstream.destroy();
      w.res.end();
    }
    this.watches.clear();
  }

  private async stop(): Promise<void> {
    this.dropWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    this.agent.destroy();
  }

  /** Who the request is from, and the token to send upstream. */
  private identify(req: IncomingMessage): { user: string; token: string | undefined } {
    const auth = req.headers['authorization'];
    const token = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    if (token === undefined) return { user: 'system:anonymous', token };
    const labelled = this.labels.get(token);
    if (labelled) return { user: labelled, token };
    const user = `token:${token.slice(0, 24)}`;
    return { user, token: token.startsWith('sandbox-') ? this.opts.adminToken : token };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://door');
    const method = req.method ?? 'GET';
    const who = this.identify(req);
    const parsed = parseResourcePath(url.pathname.split('/').filter((s) => s !== '').map(safeDecode));
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const entry: RequestLogEntry | undefined = parsed && {
      verb: k8sVerb(method, parsed, watch),
      group: parsed.group,
      version: parsed.version,
      resource: parsed.resource,
      user: who.user,
      code: 0,
      ...(parsed.namespace !== undefined ? { namespace: parsed.namespace } : {}),
      ...(parsed.name !== undefined ? { name: parsed.name } : {}),
      ...(parsed.subresource !== undefined ? { subresource: parsed.subresource } : {}),
      ...(typeof req.headers['user-agent'] === 'string' ? { userAgent: req.headers['user-agent'] } : {}),
    };
    if (entry && watch) entry.verb = 'watch';
    if (entry && WRITE_METHODS.has(method)) {
      const failure = pickFailure(this.writeFailureRate, this.opts.random);
      if (failure) return this.fail(res, entry, failure);
    }
    if (entry && watch && (await this.expired(url.searchParams.get('resourceVersion')))) return this.expire(res, entry);
    this.forward(req, res, who.token, entry, watch);
  }

  private async expired(rv: string | null): Promise<boolean> {
    if (!this.compactedAt || !rv || rv === '0') return false;
    const n = Number(rv);
    return Number.isFinite(n) && n <= (await this.compactedAt.catch(() => 0));
  }

  private forward(req: IncomingMessage, res: ServerResponse, token: string | undefined, entry: RequestLogEntry | undefined, watch: boolean): void {
    const headers: http.OutgoingHttpHeaders = { ...req.headers, host: `127.0.0.1:${this.opts.upstreamPort}` };
    for (const h of HOP_BY_HOP) delete headers[h];
    if (token) headers['authorization'] = `Bearer ${token}`;
    const upstream = https.request(
      { host: '127.0.0.1', port: this.opts.upstreamPort, method: req.method, path: req.url, headers, agent: this.agent },
      (up) => {
        const out = { ...up.headers };
        for (const h of HOP_BY_HOP) delete out[h];
        res.writeHead(up.statusCode ?? 502, out);
        if (entry) {
          entry.code = up.statusCode ?? 502;
          this.requestLog.add(entry);
        }
        if (watch) {
          const w = { res, upstream };
          this.watches.add(w);
          res.once('close', () => {
            this.watches.delete(w);
            upstream.destroy();
          });
        }
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) this.status(res, 502, 'InternalError', `front door: kube-apiserver unreachable: ${err.message}`);
      else res.destroy();
    });
    req.pipe(upstream);
  }

  private fail(res: ServerResponse, entry: RequestLogEntry, failure: 'conflict' | 'internal' | 'throttle'): void {
    const [code, reason, message] =
      failure === 'conflict'
        ? [409, 'Conflict', 'the object has been modified; please apply your changes to the latest version and try again (injected)']
        : failure === 'internal'
          ? [500, 'InternalError', 'an error on the server has prevented the request from succeeding (injected)']
          : [429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later (injected)'];
    entry.code = code;
    this.requestLog.add(entry);
    this.status(res, code, reason, message, failure === 'throttle' ? { 'retry-after': '1' } : {});
  }

  private expire(res: ServerResponse, entry: RequestLogEntry): void {
    entry.code = 200;
    this.requestLog.add(entry);
    const status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version (injected compaction)', reason: 'Expired', code: 410 };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
  }

  private status(res: ServerResponse, code: number, reason: string, message: string, headers: Record<string, string> = {}): void {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
  }

  /** The store's newest resourceVersion: a one-item list's metadata. */
  private currentResourceVersion(): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = https.get(
        {
          host: '127.0.0.1',
          port: this.opts.upstreamPort,
          path: '/api/v1/namespaces?limit=1',
          agent: this.agent,
          headers: { authorization: `Bearer ${this.opts.adminToken}`, accept: 'application/json' },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            try {
              resolve(Number((JSON.parse(body) as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? 0));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
    });
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
