/**
 * `routeshift sandbox` as a user runs it (a foreground child process), driven with real kubectl:
 * the ready line and the dashboard's address, the seed example applied unchanged, the printer columns, describe with the
 * controller's Events, a 90/10 split through the mesh, the rollout promoted, and SIGTERM leaving no
 * process behind. Needs `npm run build`.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fromRoot } from '../../src/core/paths.js';
import { startCli, type CliProcess, type CliResult } from '../support/cli-process.js';
import { kubectl as makeKubectl, type Kubectl } from '../support/kubectl.js';
import { commandLine, descendants, isRunning } from '../support/processes.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let kubeconfig: string;
let sandbox: CliProcess | undefined;
let ended: CliResult | undefined;
let ready: { kubeconfig: string; prometheus: string; mesh: string } | undefined;
let kubectl: Kubectl;
/** Processes the sandbox started (Prometheus), seen while it ran. */
let children: number[] = [];

async function waitForReadyLine(p: CliProcess, timeoutMs: number): Promise<string> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const line = p.stdout().split('\n').find((l) => l.startsWith('ready '));
    if (line) return line;
    if (p.child.exitCode !== null || p.child.signalCode !== null) break;
    await sleep(100);
  }
  throw new Error(`no ready line from routeshift sandbox; stdout: ${p.stdout()} stderr: ${p.stderr()}`);
}

/** GET <mesh>/ with the Host a client in the cluster would use; resolves to status and body. */
function meshGet(meshUrl: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request(new URL('/', meshUrl), { headers: { Host: host }, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('mesh request timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function phaseOf(name: string): Promise<string> {
  return kubectl.ok(['get', 'canary', name, '-n', 'istio-test', '-o', 'jsonpath={.status.phase}']);
}

async function routeWeights(): Promise<string> {
  return kubectl.ok(['get', 'httproute', 'backend-split', '-n', 'istio-test', '-o', 'jsonpath={range .spec.rules[0].backendRefs[*]}{.name}={.weight} {end}']);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'routeshift-sandbox-cli-'));
  kubeconfig = join(dir, 'sandbox', 'kubeconfig');
  // cwd: the sandbox's state dir (.routeshift/sandbox) lands in the temp dir, not in the checkout.
  sandbox = startCli(['sandbox', '--kubeconfig', kubeconfig, '--load', '20'], { cwd: dir, entry: 'dist/sandbox/cli.js' });
  const line = await waitForReadyLine(sandbox, 60_000);
  const fields = Object.fromEntries(
    line
      .slice('ready '.length)
      .split(' ')
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  ) as Record<string, string>;
  ready = { kubeconfig: fields['kubeconfig'] ?? '', prometheus: fields['prometheus'] ?? '', mesh: fields['mesh'] ?? '' };
  kubectl = makeKubectl(kubeconfig, dir);
}, 90_000);

afterAll(async () => {
  await sandbox?.stop('SIGKILL');
  // A failed test must not leave the sandbox's Prometheus running either.
  for (const pid of children) if (isRunning(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('routeshift sandbox with real kubectl', () => {
  it('prints exactly one ready line naming the kubeconfig, Prometheus and the mesh, and runs Prometheus as its child', async () => {
    const readyLines = sandbox?.stdout().split('\n').filter((l) => l.startsWith('ready ')) ?? [];
    expect(readyLines).toHaveLength(1);
    expect(readyLines[0]).toMatch(/^ready kubeconfig=\S+ prometheus=http:\/\/127\.0\.0\.1:\d+ mesh=http:\/\/127\.0\.0\.1:\d+( controller-metrics=\S+)?$/);
    expect(resolve(ready?.kubeconfig ?? '')).toBe(resolve(kubeconfig));

    const promPort = new URL(ready?.prometheus ?? '').port;
    children = descendants(sandbox?.child.pid ?? -1);
    const prometheus = children.filter((pid) => commandLine(pid).includes(`--web.listen-address=127.0.0.1:${promPort}`));
    expect(prometheus).toHaveLength(1);
    const res = await fetch(`${ready?.prometheus}/-/ready`);
    expect(res.status).toBe(200);
  });

  it("prints the dashboard's address after the ready line, serves the page there, and its Prometheus scrapes the controller", async () => {
    const lines = sandbox?.stdout().split('\n') ?? [];
    const next = lines[lines.findIndex((l) => l.startsWith('ready ')) + 1] ?? '';
    const url = /^dashboard (http:\/\/127\.0\.0\.1:\d+\/) /.exec(next)?.[1];
    expect(url).toBeDefined();
    const page = await fetch(url ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>routeshift dashboard</title>');
    const up = (await (await fetch(`${ready?.prometheus}/api/v1/query?query=${encodeURIComponent('up{job="routeshift"}')}`)).json()) as { data: { result: Array<{ value: [number, string] }> } };
    expect(up.data.result.map((r) => r.value[1])).toEqual(['1']);
  });

  it('applies the seed example unchanged and sends 20 requests through the mesh mostly to v1 at 90/10', async () => {
    const applied = await kubectl.ok(['apply', '-f', fromRoot('deploy/examples/seed.yaml')]);
    for (const obj of ['namespace/istio-test', 'deployment.apps/backend-v1', 'service/backend', 'httproute.gateway.networking.k8s.io/backend-split', 'canary.routeshift.io/backend']) {
      expect(applied).toContain(`${obj} created`);
    }

    // The mesh serves the root Service once it has the route and the workloads' endpoints.
    const host = 'backend.istio-test.svc.cluster.local';
    const end = Date.now() + 20_000;
    let first = await meshGet(ready?.mesh ?? '', host).catch(() => ({ status: 0, body: '' }));
    while (first.status !== 200 && Date.now() < end) {
      await sleep(200);
      first = await meshGet(ready?.mesh ?? '', host).catch(() => ({ status: 0, body: '' }));
    }
    expect(first.status).toBe(200);

    // The Canary's first step is the seed's own 10%; the next analysis is an interval (10 s) away.
    expect(await routeWeights()).toBe('backend-v1=90 backend-v2=10 ');
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await meshGet(ready?.mesh ?? '', host));
    expect(await routeWeights()).toBe('backend-v1=90 backend-v2=10 ');
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const v1 = answers.filter((a) => a.body.trim() === 'hello from backend v1').length;
    const v2 = answers.filter((a) => a.body.trim() === 'hello from backend v2').length;
    expect(v1 + v2).toBe(20);
    // Binomial(20, 0.9): P(v1 <= 12) is about 4e-4; an even split would land here only with P ~ 0.13.
    expect(v1).toBeGreaterThanOrEqual(13);
  }, 60_000);

  it('lists the HTTPRoute and refuses a weight of 2000000, naming the field', async () => {
    const routes = await kubectl.ok(['get', 'httproute', '-n', 'istio-test']);
    expect(routes.split('\n')[0]?.split(/\s+/)[0]).toBe('NAME');
    expect(routes).toMatch(/^backend-split\s/m);

    const patch = await kubectl.run([
      'patch',
      'httproute',
      'backend-split',
      '-n',
      'istio-test',
      '--type',
      'merge',
      '-p',
      '{"spec":{"rules":[{"backendRefs":[{"name":"backend-v1","port":80,"weight":2000000}]}]}}',
    ]);
    expect(patch.code).not.toBe(0);
    expect(patch.stderr).toContain('spec.rules[0].backendRefs[0].weight');
    expect(patch.stderr).toMatch(/less than or equal to 1000000/);
    // Nothing changed: both backends are still listed.
    expect(await routeWeights()).toMatch(/^backend-v1=\d+ backend-v2=\d+ $/);
  });

  it('shows the Canary with its printer columns and its Events, and promotes it', async () => {
    const list = await kubectl.ok(['get', 'canaries', '-A']);
    const [header, row] = list.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAMESPACE', 'NAME', 'PHASE', 'WEIGHT', 'FAILED', 'AGE']);
    expect(row).toMatch(/^istio-test\s+backend\s+(Initializing|Progressing)\s+\d+\s+\d+\s+\d+s$/);

    const described = await kubectl.ok(['describe', 'canary', 'backend', '-n', 'istio-test']);
    expect(described).toMatch(/^Events:/m);
    expect(described).toMatch(/Normal\s+RolloutStarted\s+.*routeshift\s+Rollout started/);
    expect(described).toMatch(/Normal\s+WeightAdvanced\s+/);

    const end = Date.now() + 100_000;
    let phase = await phaseOf('backend');
    while (phase !== 'Succeeded' && phase !== 'Failed' && Date.now() < end) {
      await sleep(1_000);
      phase = await phaseOf('backend');
    }
    expect(phase).toBe('Succeeded');
    expect(await routeWeights()).toBe('backend-v1=0 backend-v2=100 ');
    const after = await kubectl.ok(['get', 'canaries', '-A']);
    expect(after.trim().split('\n')[1]).toMatch(/^istio-test\s+backend\s+Succeeded\s+100\s+0\s+\d+s$/);
    const final = await kubectl.ok(['describe', 'canary', 'backend', '-n', 'istio-test']);
    expect(final).toMatch(/Normal\s+Promoted\s+.*Promoted: backend-v2 holds all the traffic/);
  }, 120_000);

  it('stops on SIGTERM with exit code 0 and leaves no process behind', async () => {
    expect(children.length).toBeGreaterThan(0);
    ended = await sandbox?.stop('SIGTERM');
    expect(ended?.signal).toBeNull();
    expect(ended?.code).toBe(0);
    for (const pid of children) expect({ pid, running: isRunning(pid) }).toEqual({ pid, running: false });
    await expect(fetch(`${ready?.prometheus}/-/ready`)).rejects.toThrow();
    await expect(meshGet(ready?.mesh ?? '', 'backend.istio-test')).rejects.toThrow();
  }, 30_000);
});
