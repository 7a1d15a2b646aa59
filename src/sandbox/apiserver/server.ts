import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { builtinTypes, clusterIPAllocator } from './builtins.js';
import { loadYamlDocuments } from './crd-files.js';
import { crdToResourceType } from './crd.js';
import { SERVER_VERSION, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, wantsAggregated } from './discovery.js';
import { pickFailure, type FaultInjector } from './faults.js';
import { isObject, meta, type Json, type JsonObject } from './json.js';
import { renderKubeconfig, type KubeconfigOptions } from './kubeconfig.js';
import { buildOpenApi, type OpenApiIndex } from './openapi.js';
import { Persister, loadDataFile } from './persistence.js';
import { apiVersionOf, Registry, type ResourceType } from './registry.js';
import { RequestLog } from './request-log.js';
import { ResourceHandler, type Reply, type ResourceRequest } from './resources.js';
import { ApiStatusError, badRequest, conflict, statusBody } from './status.js';
import { Store, TooOldResourceVersionError } from './store.js';
import { toTable } from './table.js';
import { WatchStream } from './watch.js';
import { k8sVerb, parseResourcePath, type ParsedPath } from './request-path.js';

export interface ApiServerOptions {
  host?: string;
  port?: number;
  /** YAML files of CustomResourceDefinitions to install at start (multi-document). */
  crdFiles?: string[];
  /** Load state from here at start and persist changes to it (debounced, atomic rename). */
  dataFile?: string;
  logger?: Logger;
  /** BOOKMARK interval for watches that allow them (default 60000). */
  bookmarkIntervalMs?: number;
  /** Watch events kept per resource before older resourceVersions get 410 Gone (default 1000). */
  historyLimit?: number;
  /** When set, only these bearer tokens are accepted (token → user name); otherwise any token or none. */
  tokens?: Record<string, string>;
  /** Clock for timestamps and AGE columns (default Date.now). */
  now?: () => number;
  /** Randomness for fault injection (default Math.random). */
  random?: () => number;
  /** How long a deleted namespace stays Terminating before it and its content go (default 500). */
  namespaceDeletionDelayMs?: number;
}

export interface ApiServer {
  url: string;
  port: number;
  kubeconfig(opts?: KubeconfigOptions): string;
  writeKubeconfig(path: string, opts?: KubeconfigOptions): Promise<void>;
  faults: FaultInjector;
  requestLog: RequestLog;
  stop(): Promise<void>;
}

const MAX_BODY = 16 * 1024 * 1024;
const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiStatusError(413, 'RequestEntityTooLarge', 'the request body is too large', {}));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The running server; `startApiServer` wires it up and returns the public facade. */
class SandboxApiServer {
  readonly store: Store;
  readonly registry = new Registry();
  readonly handler: ResourceHandler;
  readonly requestLog = new RequestLog();
  readonly watches = new Set<WatchStream>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private openapi: { generation: number; index: OpenApiIndex } | undefined;
  private persister: Persister | undefined;
  private server: Server | undefined;
  private readonly now: () => number;
  private readonly random: () => number;
  writeFailureRate = 0;
  address = '';

  constructor(private readonly opts: ApiServerOptions) {
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.store = new Store(opts.historyLimit ?? 1000);
    for (const t of builtinTypes()) this.registry.register(t);
    const allocate = clusterIPAllocator(() => {
      const used = new Set<string>();
      for (const svc of this.store.list('/services')) {
        const ip = isObject(svc['spec']) ? svc['spec']['clusterIP'] : undefined;
        if (typeof ip === 'string') used.add(ip);
      }
      return used;
    });
    const deps = {
      store: this.store,
      registry: this.registry,
      now: this.now,
      admit: { allocateClusterIP: allocate },
      schedule: (fn: () => void, ms: number) => this.schedule(fn, ms),
      namespaceDeletionDelayMs: opts.namespaceDeletionDelayMs ?? 500,
    };
    this.handler = new ResourceHandler(opts.logger ? { ...deps, logger: opts.logger } : deps);
  }

  private typeOf(group: string, resource: string): ResourceType {
    const t = this.registry.get(group, resource);
    if (!t) throw new Error(`no built-in type ${group}/${resource}`);
    return t;
  }

  /** A request made by the server to itself (bootstrap objects, CRD files). */
  private internalRequest(t: ResourceType, body: JsonObject, name?: string): ResourceRequest {
    return {
      type: t,
      version: t.versions[0] as string,
      namespace: undefined,
      name,
      subresource: undefined,
      query: new URLSearchParams(),
      accept: 'application/json',
      contentType: 'application/json',
      body: Buffer.alloc(0),
      object: body,
    };
  }

  async init(): Promise<void> {
    if (this.opts.dataFile) {
      const data = await loadDataFile(this.opts.dataFile);
      if (data) {
        this.store.load(data.resourceVersion, data.objects);
        for (const crd of this.store.list('apiextensions.k8s.io/customresourcedefinitions')) this.registry.register(crdToResourceType(crd));
        this.handler.resumeTerminatingNamespaces();
      }
      this.persister = new Persister(this.opts.dataFile, this.store, this.opts.logger);
      this.store.onChange(() => this.persister?.schedule());
    }
    const nsType = this.typeOf('', 'namespaces');
    for (const ns of BUILTIN_NAMESPACES) {
      if (!this.store.get('/namespaces', '', ns)) this.handler.create(this.internalRequest(nsType, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }));
    }
    for (const file of this.opts.crdFiles ?? []) await this.installCrds(file);
  }

  private async installCrds(file: string): Promise<void> {
    const crdType = this.typeOf('apiextensions.k8s.io', 'customresourcedefinitions');
    for (const obj of await loadYamlDocuments(file)) {
      if (!isObject(obj) || obj['kind'] !== 'CustomResourceDefinition') continue;
      const name = String(meta(obj)['name'] ?? '');
      const existing = this.store.get(crdType.storageKey, '', name);
      if (existing) {
        const replacement = { ...obj, metadata: { ...meta(obj), resourceVersion: meta(existing)['resourceVersion'] ?? null } };
        this.handler.update(this.internalRequest(crdType, replacement, name));
      } else {
        this.handler.create(this.internalRequest(crdType, obj));
      }
    }
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 65000;
    server.requestTimeout = 0;
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    this.address = `${host}:${bound}`;
    return bound;
  }

  private schedule(fn: () => void, ms: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch (err) {
        this.opts.logger?.error({ err }, 'sandbox API server: background task failed');
      }
    }, ms);
    timer.unref();
    this.timers.add(timer);
  }

  dropWatches(): void {
    for (const w of [...this.watches]) w.end();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.dropWatches();
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of this.sockets) s.destroy();
      });
    }
    await this.persister?.flush();
  }

  // ------------------------------------------------------------ HTTP

  private send(res: ServerResponse, status: number, body: Json, headers: Record<string, string | string[]> = {}): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private sendError(res: ServerResponse, err: unknown): number {
    if (err instanceof ApiStatusError) {
      const headers: Record<string, string> = {};
      if (err.details?.retryAfterSeconds) headers['Retry-After'] = String(err.details.retryAfterSeconds);
      this.send(res, err.status, err.body(), headers);
      return err.status;
    }
    this.opts.logger?.error({ err }, 'sandbox API server: internal error');
    this.send(res, 500, statusBody(500, 'InternalError', `Internal error occurred: ${err instanceof Error ? err.message : String(err)}`, { causes: [] }));
    return 500;
  }

  private user(req: IncomingMessage): string {
    const auth = req.headers['authorization'];
    const token = typeof auth === 'string' && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
    if (this.opts.tokens) {
      const user = token !== undefined ? this.opts.tokens[token] : undefined;
      if (!user) throw new ApiStatusError(401, 'Unauthorized', 'Unauthorized', {});
      return user;
    }
    return token ? `token:${token.slice(0, 24)}` : 'system:anonymous';
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.route(req, res);
    } catch (err) {
      this.sendError(res, err);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    let segments: string[];
    try {
      segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    } catch {
      throw badRequest(`invalid path: ${url.pathname}`);
    }
    const method = req.method ?? 'GET';
    let user: string;
    try {
      user = this.user(req);
    } catch (err) {
      this.sendError(res, err);
      return;
    }
    const parsed = parseResourcePath(segments);
    if (!parsed) {
      try {
        this.handleNonResource(req, res, url, segments);
      } catch (err) {
        this.sendError(res, err);
      }
      return;
    }
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb = k8sVerb(method, parsed, watch);
    const entry = {
      verb,
      group: parsed.group,
      version: parsed.version,
      resource: parsed.resource,
      user,
      code: 0,
      ...(parsed.namespace !== undefined ? { namespace: parsed.namespace } : {}),
      ...(parsed.name !== undefined ? { name: parsed.name } : {}),
      ...(parsed.subresource !== undefined ? { subresource: parsed.subresource } : {}),
      ...(typeof req.headers['user-agent'] === 'string' ? { userAgent: req.headers['user-agent'] } : {}),
    };
    try {
      const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
      const t = this.registry.lookup(parsed.group, parsed.version, parsed.resource);
      if (!t) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource', {});
      if (!t.namespaced && parsed.namespace !== undefined) throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource', {});
      const servedSub = (parsed.subresource === 'status' && t.hasStatus) || (parsed.subresource === 'scale' && t.hasScale === true);
      if (parsed.subresource !== undefined && !servedSub) {
        throw new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource', {});
      }
      const rr: ResourceRequest = {
        type: t,
        version: parsed.version,
        namespace: parsed.namespace,
        name: parsed.name,
        subresource: parsed.subresource,
        query: url.searchParams,
        accept: typeof req.headers['accept'] === 'string' ? req.headers['accept'] : 'application/json',
        contentType: typeof req.headers['content-type'] === 'string' ? req.headers['content-type'] : 'application/json',
        body,
      };
      if (verb === 'watch' || (verb === 'get' && watch)) {
        entry.verb = 'watch';
        entry.code = 200;
        this.requestLog.add(entry);
        this.startWatch(rr, res);
        return;
      }
      if (['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) this.injectFault(t, parsed);
      const reply = this.dispatch(method, verb, rr);
      const headers: Record<string, string[]> = {};
      if (reply.warnings && reply.warnings.length > 0) headers['Warning'] = reply.warnings.map((w) => `299 - ${JSON.stringify(w)}`);
      entry.code = reply.status;
      this.send(res, reply.status, reply.body, headers);
    } catch (err) {
      entry.code = this.sendError(res, err);
    }
    if (entry.verb !== 'watch') this.requestLog.add(entry);
    this.opts.logger?.debug({ verb: entry.verb, path: url.pathname, code: entry.code }, 'sandbox API request');
  }

  private dispatch(method: string, verb: string, rr: ResourceRequest): Reply {
    if (rr.type.review) {
      if (verb !== 'create') throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
      return this.handler.review(rr);
    }
    if (rr.subresource === 'scale' && rr.name !== undefined) return this.handler.scale(rr, method);
    switch (verb) {
      case 'get':
        return this.handler.get(rr);
      case 'list':
        return this.handler.list(rr);
      case 'create':
        if (rr.name !== undefined) throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
        return this.handler.create(rr);
      case 'update':
        if (rr.name === undefined) throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
        return this.handler.update(rr);
      case 'patch':
        if (rr.name === undefined) throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
        return this.handler.patch(rr);
      case 'delete':
        return this.handler.delete(rr);
      case 'deletecollection':
        return this.handler.deleteCollection(rr);
      default:
        throw new ApiStatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`, {});
    }
  }

  private injectFault(t: ResourceType, p: ParsedPath): void {
    const failure = pickFailure(this.writeFailureRate, this.random);
    if (failure === 'conflict') throw conflict(t.group, t.resource, p.name ?? '');
    if (failure === 'internal') throw new ApiStatusError(500, 'InternalError', 'Internal error occurred: injected fault (sandbox)', { causes: [{ reason: 'UnexpectedServerResponse', message: 'injected fault' }] });
    if (failure === 'throttle') {
      throw new ApiStatusError(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later', { retryAfterSeconds: 1 });
    }
  }

  private startWatch(rr: ResourceRequest, res: ServerResponse): void {
    const t = rr.type;
    const q = rr.query;
    const match = this.handler.matcher(rr);
    const table = /as=Table/.test(rr.accept);
    const includeObject = q.get('includeObject');
    const tableOpts = { includeObject: includeObject === 'None' || includeObject === 'Object' ? includeObject : 'Metadata' } as const;
    const nameFilter = rr.name;
    const timeout = q.get('timeoutSeconds');
    const opts: ConstructorParameters<typeof WatchStream>[2] = {
      storageKey: t.storageKey,
      matches: (obj) => match(obj) && (nameFilter === undefined || meta(obj)['name'] === nameFilter),
      render: (obj) => {
        const ext = this.handler.external(t, rr.version, obj);
        return table ? toTable(t, rr.version, [ext], String(meta(obj)['resourceVersion'] ?? ''), this.now(), tableOpts) : ext;
      },
      bookmark: (rv, initialEventsEnd) => {
        const m: JsonObject = { resourceVersion: rv };
        if (initialEventsEnd) m['annotations'] = { 'k8s.io/initial-events-end': 'true' };
        return { kind: t.kind, apiVersion: apiVersionOf(t.group, rr.version), metadata: m };
      },
    };
    if (rr.namespace !== undefined) opts.namespace = rr.namespace;
    if (q.get('allowWatchBookmarks') === 'true') opts.bookmarkIntervalMs = this.opts.bookmarkIntervalMs ?? 60000;
    if (timeout !== null && Number(timeout) > 0) opts.timeoutMs = Number(timeout) * 1000;
    const stream = new WatchStream(res, this.store, opts, (w) => this.watches.delete(w));
    this.watches.add(stream);
    const rvParam = q.get('resourceVersion');
    const sendInitial = q.get('sendInitialEvents') === 'true';
    if (rvParam === null || rvParam === '' || rvParam === '0' || sendInitial) {
      stream.start({ objects: this.store.list(t.storageKey, rr.namespace), initialEventsEnd: sendInitial && opts.bookmarkIntervalMs !== undefined });
      return;
    }
    const rv = Number(rvParam);
    if (!Number.isInteger(rv) || rv < 0) {
      this.watches.delete(stream);
      this.sendError(res, badRequest(`invalid resource version: ${rvParam}`));
      return;
    }
    try {
      stream.start({ events: this.store.eventsSince(t.storageKey, rv) });
    } catch (err) {
      if (!(err instanceof TooOldResourceVersionError)) throw err;
      stream.fail(statusBody(410, 'Expired', `too old resource version: ${err.requested} (${err.oldest})`));
    }
  }

  private handleNonResource(req: IncomingMessage, res: ServerResponse, url: URL, segments: string[]): void {
    const method = req.method ?? 'GET';
    const accept = typeof req.headers['accept'] === 'string' ? req.headers['accept'] : '';
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (method !== 'GET' && method !== 'HEAD') throw new ApiStatusError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    if (['/healthz', '/readyz', '/livez'].includes(path) || /^\/(healthz|readyz|livez)\//.test(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('ok');
      return;
    }
    if (path === '/version') return this.send(res, 200, SERVER_VERSION);
    if (path === '/api' || path === '/apis') {
      const agg = wantsAggregated(accept);
      if (agg) {
        const body = JSON.stringify(aggregatedDiscovery(this.registry, path === '/api', agg));
        res.writeHead(200, {
          'Content-Type': `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
          'Content-Length': Buffer.byteLength(body),
          Vary: 'Accept',
        });
        res.end(body);
        return;
      }
      return this.send(res, 200, path === '/api' ? apiVersions(this.address) : apiGroupList(this.registry));
    }
    if (segments[0] === 'apis' && segments.length === 2) {
      const g = apiGroup(this.registry, segments[1] as string);
      if (g) return this.send(res, 200, g);
    }
    if ((segments[0] === 'api' && segments.length === 2) || (segments[0] === 'apis' && segments.length === 3)) {
      const group = segments[0] === 'api' ? '' : (segments[1] as string);
      const version = segments[segments.length - 1] as string;
      const list = apiResourceList(this.registry, group, version);
      if (list) return this.send(res, 200, list);
    }
    if (segments[0] === 'openapi' && segments[1] === 'v3') {
      const index = this.openapiIndex();
      if (segments.length === 2) return this.send(res, 200, index.root);
      const doc = index.docs.get(segments.slice(2).join('/'));
      if (doc) {
        const immutable = url.searchParams.get('hash') === doc.hash;
        res.writeHead(200, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(doc.body),
          Etag: `"${doc.hash}"`,
          'Cache-Control': immutable ? 'public, immutable' : 'no-cache, private',
        });
        res.end(doc.body);
        return;
      }
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(statusBody(404, 'NotFound', 'the server could not find the requested resource', {})));
  }

  private openapiIndex(): OpenApiIndex {
    if (!this.openapi || this.openapi.generation !== this.registry.generation) {
      this.openapi = { generation: this.registry.generation, index: buildOpenApi(this.registry) };
    }
    return this.openapi.index;
  }
}

/**
 * Starts the sandbox's stand-in Kubernetes API server: enough of the real one's REST, watch,
 * discovery, OpenAPI and CRD validation behaviour that client-node and kubectl 1.32 work unchanged.
 */
export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const s = new SandboxApiServer(opts);
  await s.init();
  const host = opts.host ?? '127.0.0.1';
  const port = await s.listen(host, opts.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const faults: FaultInjector = {
    get writeFailureRate() {
      return s.writeFailureRate;
    },
    set writeFailureRate(v: number) {
      s.writeFailureRate = Math.min(1, Math.max(0, v));
    },
    dropWatches: () => s.dropWatches(),
    compact: () => s.store.compact(),
  };
  return {
    url,
    port,
    kubeconfig: (o) => renderKubeconfig(url, o),
    writeKubeconfig: (path, o) => writeFile(path, renderKubeconfig(url, o), { mode: 0o600 }),
    faults,
    requestLog: s.requestLog,
    stop: () => s.stop(),
  };
}
