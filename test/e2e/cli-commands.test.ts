/**
 * The operator commands through commander, against the sandbox API server with the Canary CRD:
 * real kubeconfig resolution, real client-node calls (GET, LIST, merge PATCH, watch with field
 * selectors), checking what each command changed in the stored Canary.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { ANNOTATIONS, CANARY_PLURAL, GROUP, VERSION, type Canary, type CanaryStatus } from '../../src/api/canary.js';
import { systemClock } from '../../src/core/clock.js';
import { revisionOf } from '../../src/controller/revision.js';
import { processRuntime, type CliRuntime } from '../../src/cli/commands/context.js';
import { registerOperatorCommands } from '../../src/cli/commands/index.js';
import { resolveKube } from '../../src/cli/kube.js';
import type { StatusView } from '../../src/cli/render.js';
import { startApiServer, type ApiServer } from '../../src/sandbox/apiserver/index.js';
import { canary as canaryFixture, fakeIO } from '../../src/cli/testing.js';

const NS = 'cli-e2e';
let api: ApiServer;
let dir: string;
let kubeconfigPath: string;
let kc: KubeConfig;

const base = { group: GROUP, version: VERSION, plural: CANARY_PLURAL, namespace: NS };

async function getCanary(name: string): Promise<Canary> {
  return (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...base, name })) as Canary;
}

/** Plays the controller: writes status through the status subresource. */
async function setStatus(name: string, status: CanaryStatus): Promise<Canary> {
  const current = await getCanary(name);
  return (await kc.makeApiClient(CustomObjectsApi).replaceNamespacedCustomObjectStatus({ ...base, name, body: { ...current, status } })) as Canary;
}

/** Starts `routeshift <args>` through commander with the real runtime, output captured. */
function startCli(...args: string[]) {
  const { io, out, err } = fakeIO();
  let code = -1;
  const runtime: CliRuntime = { ...processRuntime(), io, clock: systemClock, exit: (c) => (code = c), exitNow: (_c, e) => { throw e; } };
  const program = new Command().exitOverride();
  registerOperatorCommands(program, runtime);
  const done = program.parseAsync([...args, '--kubeconfig', kubeconfigPath], { from: 'user' }).then(() => ({ code, out: out.text, err: err.text }));
  return { done, out };
}

const cli = (...args: string[]) => startCli(...args).done;

beforeAll(async () => {
  api = await startApiServer({ host: '127.0.0.1', port: 0, crdFiles: [fileURLToPath(new URL('../../deploy/crds/canary.yaml', import.meta.url))] });
  dir = mkdtempSync(join(tmpdir(), 'routeshift-cli-e2e-'));
  kubeconfigPath = join(dir, 'kubeconfig');
  await api.writeKubeconfig(kubeconfigPath, { namespace: NS });
  kc = resolveKube({ kubeconfig: kubeconfigPath }).kubeConfig;
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } })
    .catch(() => undefined); // already there
  const custom = kc.makeApiClient(CustomObjectsApi);
  for (const name of ['podinfo', 'other']) {
    const c = canaryFixture(name, NS);
    delete c.metadata.uid;
    delete c.metadata.creationTimestamp;
    delete c.metadata.generation;
    await custom.createNamespacedCustomObject({ ...base, body: c });
  }
  const created = await getCanary('podinfo');
  await setStatus('podinfo', {
    phase: 'Progressing',
    revision: revisionOf(created),
    canaryWeight: 20,
    stepIndex: 1,
    failedChecks: 1,
    lastAnalysis: [{ name: 'request-success-rate', value: 99.5, threshold: '>= 99', verdict: 'pass', message: '', time: new Date().toISOString() }],
  });
  await kc.makeApiClient(CoreV1Api).createNamespacedEvent({
    namespace: NS,
    body: {
      metadata: { name: 'podinfo.e2e1', namespace: NS },
      involvedObject: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Canary', name: 'podinfo', namespace: NS },
      reason: 'WeightAdvanced',
      message: 'Shifted canary weight 10 -> 20 (step 2/5)',
      type: 'Normal',
      count: 1,
      firstTimestamp: new Date(),
      lastTimestamp: new Date(),
    },
  });
});

afterAll(async () => {
  await api?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('routeshift operator commands against an API server', () => {
  it('list shows the namespace from the kubeconfig context', async () => {
    const r = await cli('list');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^${NS} +podinfo +Progressing +20 +1/5 `, 'm'));
    expect(r.out).toMatch(new RegExp(`^${NS} +other +\\(not started\\) +- +0/5 `, 'm'));
  });

  it('status shows weights, metrics and the Canary\'s Events', async () => {
    const r = await cli('status', 'podinfo');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Weights: +stable ████████░░ 80 \| canary 20$/m);
    expect(r.out).toMatch(/request-success-rate +99\.5 +>= 99 +✔ pass/);
    expect(r.out).toMatch(/WeightAdvanced +Shifted canary weight 10 -> 20 \(step 2\/5\)/);
    const json = await cli('status', 'podinfo', '-o', 'json');
    expect((JSON.parse(json.out) as StatusView).events.map((e) => e.reason)).toEqual(['WeightAdvanced']);
  });

  it('status of an unknown canary exits 4', async () => {
    const r = await cli('status', 'ghost', '-n', 'elsewhere');
    expect(r.code).toBe(4);
    expect(r.err).toBe('error: canary "ghost" not found in namespace "elsewhere"\n');
  });

  it('pause and resume flip spec.suspend; resume also sets approve', async () => {
    expect((await cli('pause', 'podinfo')).code).toBe(0);
    expect((await getCanary('podinfo')).spec.suspend).toBe(true);
    const r = await cli('resume', 'podinfo');
    expect(r.code).toBe(0);
    const after = await getCanary('podinfo');
    expect(after.spec.suspend).toBe(false);
    expect(after.metadata.annotations?.[ANNOTATIONS.approve]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(after.spec.routeRef.name).toBe('podinfo-route'); // a merge patch leaves the rest alone
  });

  it('abort sets a fresh abort annotation each time', async () => {
    expect((await cli('abort', 'podinfo')).code).toBe(0);
    const first = (await getCanary('podinfo')).metadata.annotations?.[ANNOTATIONS.abort];
    expect(first).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await cli('abort', 'podinfo')).code).toBe(0);
    const second = (await getCanary('podinfo')).metadata.annotations?.[ANNOTATIONS.abort];
    expect(second).not.toBe(first);
  });

  it('abort on a canary with nothing running is refused and writes nothing', async () => {
    const other = await getCanary('other');
    await setStatus('other', { phase: 'Succeeded', revision: revisionOf(other), canaryWeight: 100 });
    const r = await cli('abort', 'other');
    expect(r.code).toBe(2);
    expect((await getCanary('other')).metadata.annotations?.[ANNOTATIONS.abort]).toBeUndefined();
  });

  it('retry sets the retry annotation, which changes the revision', async () => {
    const before = await getCanary('other');
    const r = await cli('retry', 'other');
    expect(r.code).toBe(0);
    const after = await getCanary('other');
    expect(after.metadata.annotations?.[ANNOTATIONS.retry]).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(revisionOf(after)).not.toBe(before.status?.revision);
  });

  it('watch waits for the retried rollout and exits 1 when it is rolled back', async () => {
    const w = startCli('watch', 'other', '--timeout', '60s');
    // Once watch has read the Canary (its first line), the status writes below reach it: either
    // through the open watch or replayed from the resourceVersion it read.
    for (let i = 0; i < 200 && !w.out.text.includes('phase=Succeeded'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(w.out.text).toContain('phase=Succeeded stable=0 canary=100');
    const done = w.done;
    const current = await getCanary('other');
    await setStatus('other', { phase: 'Progressing', revision: revisionOf(current), canaryWeight: 10, stepIndex: 0 });
    await setStatus('other', { phase: 'Failed', revision: revisionOf(current), canaryWeight: 0, message: 'Rolled back: other-v1 holds all the traffic' });
    const r = await done;
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/phase=Progressing stable=90 canary=10/);
    expect(r.out.trimEnd().split('\n').at(-1)).toMatch(/rollout failed: Rolled back: other-v1 holds all the traffic$/);
  });

  it('an API server that is not there exits 6', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const { io, err } = fakeIO();
    let code = -1;
    const runtime: CliRuntime = { ...processRuntime(), io, exit: (c) => (code = c), exitNow: (_c, e) => { throw e; } };
    const program = new Command().exitOverride();
    registerOperatorCommands(program, runtime);
    const deadPath = join(dir, 'dead-kubeconfig');
    writeFileSync(deadPath, api.kubeconfig().replace(api.url, `http://127.0.0.1:${port}`));
    await program.parseAsync(['list', '--kubeconfig', deadPath], { from: 'user' });
    expect(code).toBe(6);
    expect(err.text).toContain(`cannot reach the Kubernetes API at http://127.0.0.1:${port}`);
  });
});
