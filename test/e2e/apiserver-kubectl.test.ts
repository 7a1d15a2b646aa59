import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../../src/sandbox/apiserver/index.js';
import { eventually } from '../../src/sandbox/apiserver/testing.js';

/**
 * Real kubectl (the /usr/bin/kubectl dispatcher picks 1.32 from /version) against the sandbox
 * API server: the seed manifests of the GAMMA blog, validation errors, patches, watch, a Canary
 * with its printer columns, describe with events, delete and raw discovery.
 */

const SEED = 'test/fixtures/seed';
const GATEWAY_CRDS = '/work/shared/reference/gateway-api-v1.4.1-standard-crds.yaml';
const ISTIO_CRDS = '/work/shared/reference/istio-destinationrule-crd.yaml';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('kubectl 1.32 against the sandbox API server', () => {
  let server: ApiServer;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let baseArgs: string[];

  function kubectl(args: string[], input?: string): Promise<Run> {
    return new Promise((resolve) => {
      const child = execFile('kubectl', [...baseArgs, ...args], { env, timeout: 30000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      });
      if (input !== undefined) child.stdin?.end(input);
    });
  }

  async function ok(args: string[], input?: string): Promise<string> {
    const r = await kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  beforeAll(async () => {
    server = await startApiServer({ crdFiles: [GATEWAY_CRDS, ISTIO_CRDS] });
    dir = await mkdtemp(join(tmpdir(), 'apiserver-kubectl-'));
    await mkdir(join(dir, 'home'));
    const kubeconfig = join(dir, 'kubeconfig');
    await server.writeKubeconfig(kubeconfig);
    env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: join(dir, 'home'), KUBECONFIG: kubeconfig };
    baseArgs = ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache')];
  });

  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies the seed manifests with validation on, and re-applies them', async () => {
    const out = await ok(['apply', '-f', SEED]);
    expect(out.split('\n').filter(Boolean).sort()).toEqual(
      [
        'namespace/istio-test created',
        'deployment.apps/backend-v1 created',
        'deployment.apps/backend-v2 created',
        'service/backend-v1 created',
        'service/backend-v2 created',
        'service/backend created',
        'httproute.gateway.networking.k8s.io/backend-split created',
        'destinationrule.networking.istio.io/backend-v1-settings created',
        'destinationrule.networking.istio.io/backend-v2-settings created',
      ].sort(),
    );
    const again = await ok(['apply', '-f', SEED]);
    expect(again).toContain('service/backend unchanged');
    expect(again).toContain('deployment.apps/backend-v1 unchanged');
  });

  it('lists the HTTPRoute with its CRD columns and keeps group "" and the defaults', async () => {
    const out = await ok(['get', 'httproute', '-n', 'istio-test']);
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'HOSTNAMES', 'AGE']);
    expect(row).toMatch(/^backend-split\s+\d+s$/);
    const json = JSON.parse(await ok(['get', 'httproute', 'backend-split', '-n', 'istio-test', '-o', 'json'])) as {
      spec: { parentRefs: Array<{ group: string; kind: string }>; rules: Array<{ backendRefs: Array<{ weight: number; group: string; kind: string }> }> };
    };
    expect(json.spec.parentRefs[0]).toMatchObject({ group: '', kind: 'Service' });
    expect(json.spec.rules[0]?.backendRefs.map((b) => `${b.group}/${b.kind}/${b.weight}`)).toEqual(['/Service/90', '/Service/10']);
  });

  it('refuses a merge patch setting a weight to 2000000, naming the field', async () => {
    const r = await kubectl([
      'patch',
      'httproute',
      'backend-split',
      '-n',
      'istio-test',
      '--type',
      'merge',
      '-p',
      '{"spec":{"rules":[{"backendRefs":[{"name":"backend-v1","port":80,"weight":2000000},{"name":"backend-v2","port":80,"weight":10}]}]}}',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.rules[0].backendRefs[0].weight: Invalid value: 2000000');
    expect(r.stderr).toContain('should be less than or equal to 1000000');
  });

  it('applies a JSON patch (with a test op) and rejects one whose test fails', async () => {
    const patch = JSON.stringify([
      { op: 'test', path: '/spec/rules/0/backendRefs/0/weight', value: 90 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 80 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 20 },
    ]);
    expect(await ok(['patch', 'httproute', 'backend-split', '-n', 'istio-test', '--type', 'json', '-p', patch])).toContain('patched');
    const weights = await ok(['get', 'httproute', 'backend-split', '-n', 'istio-test', '-o', 'jsonpath={.spec.rules[0].backendRefs[*].weight}']);
    expect(weights).toBe('80 20');
    const failed = await kubectl(['patch', 'httproute', 'backend-split', '-n', 'istio-test', '--type', 'json', '-p', patch]);
    expect(failed.code).not.toBe(0);
    // kube-apiserver 1.36's answer: the generic 422, without the json-patch library's reason.
    expect(failed.stderr).toContain('The request is invalid: the server rejected our request due to an error in our request');
  });

  it('delivers a change to `kubectl get -w`', async () => {
    const child = spawn('kubectl', [...baseArgs, 'get', 'httproute', 'backend-split', '-n', 'istio-test', '-w', '-o', 'jsonpath={.spec.rules[0].backendRefs[0].weight}{"\\n"}'], { env });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await eventually(() => stdout.includes('80'), 15000, 'initial watch output');
      await ok(['patch', 'httproute', 'backend-split', '-n', 'istio-test', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":77}]']);
      await eventually(() => stdout.split('\n').includes('77'), 15000, 'watched change');
    } finally {
      child.kill('SIGTERM');
    }
    expect(stdout.split('\n').filter(Boolean)).toEqual(['80', '77']);
  });

  it('installs the Canary CRD, applies a Canary, and prints its columns with -A', async () => {
    expect(await ok(['apply', '-f', 'deploy/crds/canary.yaml'])).toContain('customresourcedefinition.apiextensions.k8s.io/canaries.routeshift.io created');
    expect(await ok(['apply', '-f', join(SEED, 'canary')])).toContain('canary.routeshift.io/backend created');
    const out = await ok(['get', 'canaries', '-A']);
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAMESPACE', 'NAME', 'PHASE', 'WEIGHT', 'FAILED', 'AGE']);
    expect(row).toMatch(/^istio-test\s+backend\s+\d+s$/);
    const wide = await ok(['get', 'rsc', '-n', 'istio-test', '-o', 'wide']);
    expect(wide.split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'PHASE', 'WEIGHT', 'STEP', 'FAILED', 'ROUTE', 'MESSAGE', 'AGE']);
    expect(wide).toContain('backend-split');
  });

  it('describes the Canary with events pointing at it, then deletes it', async () => {
    const uid = await ok(['get', 'canary', 'backend', '-n', 'istio-test', '-o', 'jsonpath={.metadata.uid}']);
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'backend.progress', namespace: 'istio-test' },
      involvedObject: { apiVersion: 'routeshift.io/v1alpha1', kind: 'Canary', name: 'backend', namespace: 'istio-test', uid },
      reason: 'Progressing',
      message: 'Advanced canary weight to 10',
      type: 'Normal',
      source: { component: 'routeshift' },
      firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      count: 1,
    };
    await ok(['create', '-f', '-'], JSON.stringify(event));
    const described = await ok(['describe', 'canary', 'backend', '-n', 'istio-test']);
    expect(described).toMatch(/^Name:\s+backend$/m);
    expect(described).toMatch(/Route Ref:\s+Group:\s+gateway\.networking\.k8s\.io/);
    expect(described).toMatch(/Normal\s+Progressing\s+.*routeshift\s+Advanced canary weight to 10/);

    expect(await ok(['delete', 'canary', 'backend', '-n', 'istio-test'])).toContain('canary.routeshift.io "backend" deleted');
    const gone = await kubectl(['get', 'canary', 'backend', '-n', 'istio-test']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('canaries.routeshift.io "backend" not found');
  });

  it('applies server-side and reads raw discovery', async () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: istio-test\ndata:\n  a: "1"\n';
    expect(await ok(['apply', '--server-side', '-f', '-'], cm)).toContain('configmap/ssa serverside-applied');
    const apis = JSON.parse(await ok(['get', '--raw', '/apis'])) as { kind: string; groups: Array<{ name: string }> };
    expect(apis.kind).toBe('APIGroupList');
    expect(apis.groups.map((g) => g.name)).toEqual(expect.arrayContaining(['apps', 'gateway.networking.k8s.io', 'networking.istio.io', 'routeshift.io']));
  });
});
