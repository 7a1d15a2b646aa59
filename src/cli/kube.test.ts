import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import type { Canary } from '../api/canary.js';
import { kubeEventReader, kubeWatchSource, KubeconfigError, resolveKube, summarizeEvent, type KubeEnvironment } from './kube.js';
import { KubeApiError } from '../kube/errors.js';

function kubeconfig(server: string, contexts: Array<{ name: string; namespace?: string }>, current?: string): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server, ...(server.startsWith('http:') ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name: 'u', user: { token: 't' } }],
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: 'c', user: 'u', ...(c.namespace ? { namespace: c.namespace } : {}) } })),
    ...(current ? { 'current-context': current } : {}),
  });
}

describe('resolveKube', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'routeshift-cli-kube-'));
    writeFileSync(join(dir, 'flag.yaml'), kubeconfig('https://flag.example:6443', [{ name: 'flag', namespace: 'flag-ns' }, { name: 'other' }], 'flag'));
    writeFileSync(join(dir, 'env1.yaml'), kubeconfig('https://env.example:6443', [{ name: 'env1' }], 'env1'));
    writeFileSync(join(dir, 'env2.yaml'), kubeconfig('https://env.example:6443', [{ name: 'env2', namespace: 'two' }], 'env2'));
    writeFileSync(join(dir, 'nocurrent.yaml'), kubeconfig('https://x.example', [{ name: 'a' }, { name: 'b' }]));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const machine = (env: Record<string, string | undefined>, home = join(dir, 'nohome')): KubeEnvironment => ({
    env,
    homedir: () => home,
    exists: existsSync,
    rootPrefix: dir,
  });

  it('--kubeconfig wins over KUBECONFIG; namespace comes from the context', () => {
    const t = resolveKube({ kubeconfig: join(dir, 'flag.yaml') }, machine({ KUBECONFIG: join(dir, 'env1.yaml') }));
    expect(t.server).toBe('https://flag.example:6443');
    expect(t.namespace).toBe('flag-ns');
    expect(t.context).toBe('flag');
    expect(t.source).toBe(`--kubeconfig ${join(dir, 'flag.yaml')}`);
  });

  it('-n overrides the context namespace; --context switches context, default namespace "default"', () => {
    expect(resolveKube({ kubeconfig: join(dir, 'flag.yaml'), namespace: 'mine' }, machine({})).namespace).toBe('mine');
    const t = resolveKube({ kubeconfig: join(dir, 'flag.yaml'), context: 'other' }, machine({}));
    expect(t.context).toBe('other');
    expect(t.namespace).toBe('default');
  });

  it('merges the KUBECONFIG files, skipping missing ones; the first current-context wins', () => {
    const env = { KUBECONFIG: [join(dir, 'missing.yaml'), join(dir, 'env1.yaml'), join(dir, 'env2.yaml')].join(delimiter) };
    const t = resolveKube({}, machine(env));
    expect(t.context).toBe('env1');
    expect(resolveKube({ context: 'env2' }, machine(env)).namespace).toBe('two');
  });

  it('falls back to ~/.kube/config', () => {
    const home = mkdtempSync(join(dir, 'home-'));
    mkdirSync(join(home, '.kube'));
    writeFileSync(join(home, '.kube', 'config'), kubeconfig('https://home.example', [{ name: 'home' }], 'home'));
    const t = resolveKube({}, machine({}, home));
    expect(t.server).toBe('https://home.example');
    expect(t.source).toBe(join(home, '.kube', 'config'));
  });

  it('uses the service account in a pod', () => {
    const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'tok');
    writeFileSync(join(sa, 'namespace'), 'routeshift-system');
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1';
    process.env.KUBERNETES_SERVICE_PORT = '443';
    try {
      const t = resolveKube({}, machine({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }));
      expect(t.source).toBe('in-cluster');
      expect(t.server).toBe('https://10.0.0.1:443');
      expect(t.namespace).toBe('routeshift-system');
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      rmSync(join(dir, 'var'), { recursive: true, force: true });
    }
  });

  it('explains what is missing instead of guessing localhost:8080', () => {
    expect(() => resolveKube({}, machine({}))).toThrow(new KubeconfigError('no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config'));
    expect(() => resolveKube({ kubeconfig: join(dir, 'nope.yaml') }, machine({}))).toThrow(/does not exist/);
    expect(() => resolveKube({ kubeconfig: join(dir, 'flag.yaml'), context: 'prod' }, machine({}))).toThrow(
      `context "prod" is not in the kubeconfig (--kubeconfig ${join(dir, 'flag.yaml')}); it has: flag, other`,
    );
    expect(() => resolveKube({ kubeconfig: join(dir, 'nocurrent.yaml') }, machine({}))).toThrow(/has no current context; pass --context \(it has: a, b\)/);
    expect(() => resolveKube({}, machine({ KUBECONFIG: join(dir, 'missing.yaml') }))).toThrow(/none of the files in KUBECONFIG exist/);
  });
});

describe('summarizeEvent', () => {
  it('reads the generated client (Date objects) and raw watch JSON (strings) alike', () => {
    const fromClient = summarizeEvent({
      metadata: { name: 'podinfo.1' },
      type: 'Warning',
      reason: 'CheckFailed',
      message: 'latency',
      count: 3,
      firstTimestamp: new Date('2026-01-01T10:00:00Z'),
      lastTimestamp: new Date('2026-01-01T11:00:00Z'),
      involvedObject: { uid: 'u1' },
    } as unknown as Record<string, unknown>);
    expect(fromClient).toEqual({
      name: 'podinfo.1',
      type: 'Warning',
      reason: 'CheckFailed',
      message: 'latency',
      count: 3,
      firstTimestamp: '2026-01-01T10:00:00.000Z',
      lastTimestamp: '2026-01-01T11:00:00.000Z',
      involvedUid: 'u1',
    });
    const fromWatch = summarizeEvent({ metadata: { name: 'e' }, reason: 'Promoted', eventTime: '2026-01-01T12:00:00.123456Z', series: { count: 4, lastObservedTime: '2026-01-01T12:05:00Z' } });
    expect(fromWatch).toMatchObject({ type: 'Normal', count: 4, firstTimestamp: '2026-01-01T12:00:00.123Z', lastTimestamp: '2026-01-01T12:05:00.000Z' });
  });
});

describe('kube clients against a local HTTP server', () => {
  let server: Server;
  let url: string;
  const requests: string[] = [];
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end();

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const kc = () => {
    const dir = mkdtempSync(join(tmpdir(), 'routeshift-cli-kc-'));
    const file = join(dir, 'kc.yaml');
    writeFileSync(file, kubeconfig(url, [{ name: 'local' }], 'local'));
    try {
      return resolveKube({ kubeconfig: file }).kubeConfig;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('lists Events with the involvedObject field selector', async () => {
    requests.length = 0;
    handler = (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'v1', kind: 'EventList', metadata: { resourceVersion: '42' }, items: [{ metadata: { name: 'e1', namespace: 'shop' }, involvedObject: {}, reason: 'Paused', message: 'paused', lastTimestamp: '2026-01-01T00:00:00Z' }] }));
    };
    const res = await kubeEventReader(kc()).list('shop', 'podinfo', AbortSignal.timeout(5000));
    expect(res.resourceVersion).toBe('42');
    expect(res.items.map((e) => e.reason)).toEqual(['Paused']);
    const q = new URL(requests[0] ?? '', url);
    expect(q.pathname).toBe('/api/v1/namespaces/shop/events');
    expect(q.searchParams.get('fieldSelector')).toBe('involvedObject.name=podinfo,involvedObject.kind=Canary');
  });

  it('watches one Canary by name from a resourceVersion, and turns an ERROR 410 into a KubeApiError', async () => {
    requests.length = 0;
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(JSON.stringify({ type: 'MODIFIED', object: { metadata: { name: 'podinfo', resourceVersion: '11' }, status: { phase: 'Progressing' } } }) + '\n');
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } }) + '\n');
    };
    const seen: Array<[string, string | undefined]> = [];
    const err = await kubeWatchSource(kc())
      .canary('shop', 'podinfo', '10', (type, c: Canary) => seen.push([type, c.status?.phase]), AbortSignal.timeout(5000))
      .then(() => undefined, (e: unknown) => e);
    expect(seen).toEqual([['MODIFIED', 'Progressing']]);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).status).toBe(410);
    const q = new URL(requests[0] ?? '', url);
    expect(q.pathname).toBe('/apis/routeshift.io/v1alpha1/namespaces/shop/canaries');
    expect(q.searchParams.get('fieldSelector')).toBe('metadata.name=podinfo');
    expect(q.searchParams.get('resourceVersion')).toBe('10');
    expect(q.searchParams.get('watch')).toBe('true');
  });

  it('a clean end of the stream resolves; a refused watch rejects with its status', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'e1' }, reason: 'Resumed', message: 'm', count: 1 } }) + '\n');
    };
    const got: string[] = [];
    await expect(kubeWatchSource(kc()).events('shop', 'podinfo', '5', (_t, e) => got.push(e.reason), AbortSignal.timeout(5000))).resolves.toBeUndefined();
    expect(got).toEqual(['Resumed']);
    handler = (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{}');
    };
    const err = await kubeWatchSource(kc())
      .events('shop', 'podinfo', '5', () => undefined, AbortSignal.timeout(5000))
      .then(() => undefined, (e: unknown) => e);
    expect((err as KubeApiError).status).toBe(403);
  });
});
