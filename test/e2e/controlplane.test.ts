/**
 * The test control plane itself: etcd, kube-apiserver and kube-controller-manager start on free
 * loopback ports, serve the pinned release with RBAC and the CRDs, run Deployments to Pods, and stop
 * leaving no process behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { pinnedKubeVersion } from '../../src/sandbox/controlplane/binaries.js';
import { startControlPlane, type ControlPlane } from '../../src/sandbox/controlplane/control-plane.js';
import { httpKubeRest } from '../../src/sandbox/mesh/kube/rest.js';
import { sandboxCrdFiles } from '../../src/sandbox/sandbox.js';
import { commandLine, descendants, isRunning } from '../support/processes.js';

let dir: string;
let cp: ControlPlane | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routeshift-cp-'));
  cp = await startControlPlane({ dir, logger: silentLogger(), manifests: sandboxCrdFiles() });
}, 90_000);

afterAll(async () => {
  await cp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const rest = () => httpKubeRest((cp as ControlPlane).adminKubeConfig);

describe('the test control plane', () => {
  it('serves the pinned release over TLS on loopback, with the CRDs established', async () => {
    expect(cp?.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const version = await rest().request<{ gitVersion: string }>('GET', '/version');
    expect(version.gitVersion).toBe(pinnedKubeVersion());
    const crds = await rest().request<{ items: Array<{ metadata: { name: string } }> }>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
    expect(crds.items.map((c) => c.metadata.name)).toEqual(expect.arrayContaining(['httproutes.gateway.networking.k8s.io', 'referencegrants.gateway.networking.k8s.io', 'canaries.routeshift.io']));
  });

  it('refuses a request without credentials: RBAC is on', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      https.get(`${cp?.url}/api/v1/namespaces`, { rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(403);
  });

  it('runs kube-controller-manager: a Deployment gets its ReplicaSet and Pod', async () => {
    await rest().request('POST', '/apis/apps/v1/namespaces/default/deployments', {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'probe' },
        spec: { replicas: 1, selector: { matchLabels: { app: 'probe' } }, template: { metadata: { labels: { app: 'probe' } }, spec: { containers: [{ name: 'c', image: 'hashicorp/http-echo' }] } } },
      },
    });
    const end = Date.now() + 30_000;
    let pods = 0;
    while (Date.now() < end && pods === 0) {
      pods = (await rest().request<{ items: unknown[] }>('GET', '/api/v1/namespaces/default/pods', { query: { labelSelector: 'app=probe' } })).items.length;
      if (pods === 0) await new Promise((r) => setTimeout(r, 200));
    }
    expect(pods).toBe(1);
  });

  it('stops every process it started', async () => {
    const children = descendants(process.pid).filter((pid) => /etcd|kube-apiserver|kube-controller-manager/.test(commandLine(pid)));
    expect(children.length).toBeGreaterThanOrEqual(3);
    await cp?.stop();
    cp = undefined;
    expect(children.filter(isRunning)).toEqual([]);
  });
});
