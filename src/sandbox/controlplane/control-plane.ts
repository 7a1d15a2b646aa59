import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Logger } from '../../core/logger.js';
import { freeLoopbackPort } from '../../core/net.js';
import { httpKubeRest, type KubeRest } from '../mesh/kube/rest.js';
import { findControlPlaneBinaries, type ControlPlaneBinaries } from './binaries.js';
import { Child } from './child.js';
import { tokenKubeconfig } from './kubeconfig.js';
import { waitUntil } from './wait.js';

export interface ControlPlaneOptions {
  /** Working folder (etcd data, keys, logs); removed on stop unless `keep`. */
  dir: string;
  logger: Logger;
  binaries?: ControlPlaneBinaries;
  /** YAML files whose documents are created once the API server is ready (CRDs first, then the rest). */
  manifests?: string[];
  keep?: boolean;
}

export interface ControlPlane {
  /** https://127.0.0.1:<port> of kube-apiserver. */
  url: string;
  port: number;
  /** A token of `sandbox-admin` in group system:masters. */
  adminToken: string;
  adminKubeConfig: KubeConfig;
  kubeconfig(token?: string, user?: string): string;
  /** Logs of etcd, kube-apiserver and kube-controller-manager. */
  logDir: string;
  stop(): Promise<void>;
}

/**
 * The controllers kube-controller-manager runs: what Deployments, Services and namespace deletion
 * need. No node, scheduler or token controllers: no kubelet runs here (the sandbox's pod agent
 * plays the node), and tokens come from the TokenRequest API.
 */
export const KCM_CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'endpointslice-controller',
  'serviceaccount-controller',
];

const token = (): string => randomBytes(24).toString('hex');

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on free loopback ports, the way
 * controller-runtime's envtest starts its control plane: secure port on 127.0.0.1, token auth,
 * service-account keys made here, RBAC authorization. Everything stops in reverse order.
 */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const bin = opts.binaries ?? findControlPlaneBinaries();
  const dir = opts.dir;
  const logDir = join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const children: Child[] = [];
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) await c.stop();
    children.length = 0;
    if (!opts.keep) rmSync(join(dir, 'etcd'), { recursive: true, force: true });
  };
  try {
    const etcdUrl = await startEtcd(bin, dir, children);
    const admin = token();
    const api = await startApiserver(bin, dir, etcdUrl, admin, children);
    const kubeconfig = (t = admin, user = 'sandbox-admin'): string => tokenKubeconfig(api.url, user, t);
    const adminKubeConfig = new KubeConfig();
    adminKubeConfig.loadFromString(kubeconfig());
    const kcmConfig = join(dir, 'kcm.kubeconfig');
    writeFileSync(kcmConfig, tokenKubeconfig(api.url, 'system:kube-controller-manager', api.kcmToken));
    children.push(
      new Child(
        'kube-controller-manager',
        bin.kubeControllerManager,
        [
          `--kubeconfig=${kcmConfig}`,
          `--controllers=${KCM_CONTROLLERS.join(',')}`,
          '--leader-elect=false',
          '--secure-port=0',
          '--use-service-account-credentials=false',
          // Tests create many objects at once; the defaults (5) make a rollout wait on the queue.
          '--concurrent-deployment-syncs=10',
          '--concurrent-replicaset-syncs=10',
          '--concurrent-service-endpoint-syncs=10',
          '--concurrent-namespace-syncs=5',
        ],
        join(logDir, 'kube-controller-manager.log'),
      ),
    );
    const rest = httpKubeRest(adminKubeConfig);
    for (const file of opts.manifests ?? []) await createManifests(rest, file);
    opts.logger.info({ url: api.url, logDir }, 'control plane started');
    return { url: api.url, port: api.port, adminToken: admin, adminKubeConfig, kubeconfig, logDir, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startEtcd(bin: ControlPlaneBinaries, dir: string, children: Child[]): Promise<string> {
  const [client, peer] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const url = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const etcd = new Child(
    'etcd',
    bin.etcd,
    [
      '--name=routeshift',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=routeshift=${peerUrl}`,
      // A test cluster's data is thrown away; fsync would make every write wait on the disk.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    join(dir, 'logs', 'etcd.log'),
  );
  children.push(etcd);
  await waitUntil('etcd /health', async () => (await get(`${url}/health`)).includes('"true"'), { timeoutMs: 30_000, child: etcd });
  return url;
}

async function startApiserver(
  bin: ControlPlaneBinaries,
  dir: string,
  etcdUrl: string,
  adminToken: string,
  children: Child[],
): Promise<{ url: string; port: number; kcmToken: string }> {
  const port = await freeLoopbackPort();
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const saKey = join(dir, 'sa.key');
  const saPub = join(dir, 'sa.pub');
  writeFileSync(saKey, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(saPub, keys.publicKey.export({ type: 'spki', format: 'pem' }));
  const kcmToken = token();
  const tokens = join(dir, 'tokens.csv');
  writeFileSync(
    tokens,
    [`${adminToken},sandbox-admin,sandbox-admin,"system:masters"`, `${kcmToken},system:kube-controller-manager,kcm,"system:masters"`].join('\n') + '\n',
    { mode: 0o600 },
  );
  const apiserver = new Child(
    'kube-apiserver',
    bin.kubeApiserver,
    [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(dir, 'certs')}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      // Pods need no ServiceAccount token volume: no kubelet mounts one.
      '--disable-admission-plugins=ServiceAccount',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      `--token-auth-file=${tokens}`,
      '--endpoint-reconciler-type=none',
    ],
    join(dir, 'logs', 'kube-apiserver.log'),
  );
  children.push(apiserver);
  const url = `https://127.0.0.1:${port}`;
  await waitUntil('kube-apiserver /readyz', async () => (await get(`${url}/readyz`, adminToken)) === 'ok', { timeoutMs: 90_000, child: apiserver });
  return { url, port, kcmToken };
}

/** GET a health endpoint; resolves with the body ('' on any non-200). */
function get(url: string, bearer?: string): Promise<string> {
  return new Promise((resolve) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(
      url,
      { rejectUnauthorized: false, timeout: 2000, ...(bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : ''));
      },
    );
    req.on('error', () => resolve(''));
    req.on('timeout', () => req.destroy());
  });
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** The collection path of the few kinds the sandbox installs from YAML. */
export function collectionPath(m: Manifest): string {
  const [group, version] = m.apiVersion.includes('/') ? m.apiVersion.split('/') : ['', m.apiVersion];
  const plural = m.kind.toLowerCase().endsWith('y') ? `${m.kind.toLowerCase().slice(0, -1)}ies` : `${m.kind.toLowerCase()}s`;
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return m.metadata.namespace ? `${base}/namespaces/${m.metadata.namespace}/${plural}` : `${base}/${plural}`;
}

/** Creates every document of a YAML file; CRDs are awaited until Established. */
export async function createManifests(rest: KubeRest, file: string): Promise<void> {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJSON() as Manifest | null)
    .filter((d): d is Manifest => d !== null && typeof d === 'object' && typeof d.kind === 'string');
  for (const doc of docs) await rest.request('POST', collectionPath(doc), { body: doc });
  for (const doc of docs.filter((d) => d.kind === 'CustomResourceDefinition')) {
    const path = `${collectionPath(doc)}/${doc.metadata.name}`;
    await waitUntil(
      `CRD ${doc.metadata.name} Established`,
      async () => {
        const crd = await rest.request<{ status?: { conditions?: Array<{ type: string; status: string }> } }>('GET', path);
        return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
      },
      { timeoutMs: 30_000 },
    );
  }
}
