/**
 * Issue 5 on the sandbox: `kubectl apply -k deploy/` installs what a cluster would get, and
 * `routeshift controller` run out-of-cluster with the ConfigMap content it installed (config and
 * templates, laid out as the Deployment mounts them) runs a canary to the end, with leader election
 * on the Lease the manifests grant, /readyz and /metrics answering.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { fromRoot } from '../../src/core/paths.js';
import { freeLoopbackPort as freePort } from '../../src/core/net.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { demoCanary, seedObjects } from '../../src/sandbox/seed.js';
import { createAll, newSandbox, sleep, startController, waitForCanary, type ControllerProcess } from '../support/harness.js';

const run = promisify(execFile);
let sb: Sandbox;
let controller: ControllerProcess | undefined;
const home = mkdtempSync(join(tmpdir(), 'routeshift-deploy-'));

async function kubectl(...args: string[]): Promise<string> {
  const { stdout } = await run('kubectl', ['--kubeconfig', sb.kubeconfigPath, '--cache-dir', join(home, 'cache'), ...args], {
    env: { ...process.env, HOME: home },
    cwd: fromRoot(),
  });
  return stdout;
}


beforeAll(async () => {
  sb = await newSandbox();
}, 60_000);

afterAll(async () => {
  await controller?.stop();
  await sb?.stop();
});

describe('deploy/ on the sandbox', () => {
  it('applies with kubectl -k and the controller runs a canary from the installed configuration', async () => {
    const out = await kubectl('apply', '-k', 'deploy/');
    expect(out).toMatch(/namespace\/routeshift-system (created|unchanged|configured)/);
    expect(out).toMatch(/clusterrole.rbac.authorization.k8s.io\/routeshift (created|unchanged|configured)/);
    expect(out).toMatch(/deployment.apps\/routeshift (created|unchanged|configured)/);

    // Lay the installed ConfigMaps out as the Deployment mounts them.
    const core = sb.kubeConfig.makeApiClient(CoreV1Api);
    const cms = (await core.listNamespacedConfigMap({ namespace: 'routeshift-system' })).items;
    const configMap = cms.find((c) => c.metadata?.name?.startsWith('routeshift-config'));
    const templatesMap = cms.find((c) => c.metadata?.name?.startsWith('routeshift-templates'));
    expect(configMap?.data?.['config.yaml']).toBeDefined();
    const templatesDir = join(home, 'templates');
    mkdirSync(templatesDir, { recursive: true });
    for (const [file, body] of Object.entries(templatesMap?.data ?? {})) writeFileSync(join(templatesDir, file), body);
    expect(Object.keys(templatesMap?.data ?? {}).length).toBeGreaterThanOrEqual(10);
    const config = parse(configMap?.data?.['config.yaml'] ?? '') as { templates: { dirs: string[] }; leaderElection: Record<string, unknown> };
    config.templates.dirs = [templatesDir];
    const configFile = join(home, 'config.yaml');
    writeFileSync(configFile, stringify(config));

    const port = await freePort();
    controller = startController(sb, ['--config', configFile, '--leader-elect', '--identity', 'deploy-test', '--metrics-port', String(port)], { POD_NAMESPACE: 'routeshift-system' });
    // Ready once informers synced and (as leader) Prometheus answered.
    let ready = 0;
    for (let i = 0; i < 60 && ready !== 200; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status).catch(() => 0);
      if (ready !== 200) await sleep(250);
    }
    expect(ready).toBe(200);

    await createAll(sb.kubeConfig, [...seedObjects(), demoCanary()]);
    const weights = new Set<string>();
    const done = await waitForCanary(sb, 'backend', (c) => {
      void fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .then((t) => {
          const m = /routeshift_canary_weight\{namespace="istio-test",name="backend"\} (\d+)/.exec(t);
          if (m?.[1]) weights.add(m[1]);
        })
        .catch(() => undefined);
      return c.status?.phase === 'Succeeded';
    });
    expect(done.status?.canaryWeight).toBe(100);
    // /metrics followed the rollout: several weights were seen on the way.
    expect(weights.size).toBeGreaterThanOrEqual(3);

    const lease = await sb.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'routeshift-system', name: 'routeshift-leader' });
    expect(lease.spec?.holderIdentity).toBe('deploy-test');

    // SIGTERM: the controller stops and gives the lease up for a successor.
    await controller.stop('SIGTERM');
    controller = undefined;
    const released = await sb.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'routeshift-system', name: 'routeshift-leader' });
    expect(released.spec?.holderIdentity ?? '').toBe('');
  }, 150_000);
});
