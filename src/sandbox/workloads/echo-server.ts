import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { injectError, pickLatency, type Faults } from './faults.js';

/** Response headers saying which Deployment (and replica) answered. */
export const WORKLOAD_HEADER = 'x-routeshift-workload';
export const WORKLOAD_NAMESPACE_HEADER = 'x-routeshift-workload-namespace';
export const REPLICA_HEADER = 'x-routeshift-replica';

export interface EchoConfig {
  text: string;
  statusCode: number;
  faults: Pick<Faults, 'errorRate' | 'latency'>;
}

export interface EchoIdentity {
  deployment: string;
  namespace: string;
  replica: number;
}

/** Where the server listens; default a free port on 127.0.0.1. */
export interface EchoListen {
  host: string;
  port: number;
}

/**
 * One "pod" of an http-echo Deployment: a loopback HTTP server answering `text\n` with the
 * configured status, after the injected latency, or 500 for the injected error share. The config
 * can change while it runs, so Deployment edits need no new port.
 */
export class EchoServer {
  private readonly server: http.Server;
  private config: EchoConfig;
  private readonly pending = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(
    readonly identity: EchoIdentity,
    config: EchoConfig,
    private readonly random: () => number = Math.random,
    private readonly listen: EchoListen = { host: '127.0.0.1', port: 0 },
  ) {
    this.config = config;
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listen.port, this.listen.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  configure(config: EchoConfig): void {
    this.config = config;
  }

  get current(): EchoConfig {
    return this.config;
  }

  async stop(): Promise<void> {
    for (const t of this.pending) clearTimeout(t);
    this.pending.clear();
    await new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    // Snapshot the config at arrival: a request in flight answers as the version it reached.
    const cfg = this.config;
    req.resume();
    const headers = {
      'content-type': 'text/plain; charset=utf-8',
      'x-app-name': 'http-echo',
      [WORKLOAD_HEADER]: this.identity.deployment,
      [WORKLOAD_NAMESPACE_HEADER]: this.identity.namespace,
      [REPLICA_HEADER]: String(this.identity.replica),
    };
    const answer = (): void => {
      if (res.destroyed) return;
      if (req.url === '/health') {
        res.writeHead(200, { ...headers, 'content-type': 'application/json' });
        res.end('{"status":"ok"}\n');
      } else if (injectError(cfg.faults.errorRate, this.random)) {
        res.writeHead(500, headers);
        res.end('injected fault\n');
      } else {
        res.writeHead(cfg.statusCode, headers);
        res.end(`${cfg.text}\n`);
      }
    };
    const delay = pickLatency(cfg.faults.latency, this.random);
    if (delay <= 0) return answer();
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      answer();
    }, delay);
    this.pending.add(timer);
  }
}
