import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/core/logger.js';
import { startApiServer, type ApiServer } from '../../src/sandbox/apiserver/index.js';
import { eventually } from '../../src/sandbox/apiserver/testing.js';
import { startControlPlane, type ControlPlane } from '../../src/sandbox/controlplane/control-plane.js';
import { sandboxCrdFiles } from '../../src/sandbox/sandbox.js';
import { kubectl, type Kubectl, type KubectlResult } from '../support/kubectl.js';

/**
 * The differential test of issue 13: one kubectl 1.32 session runs against the real kube-apiserver
 * (with etcd and kube-controller-manager) and against the sandbox's stand-in API server, and every
 * answer is compared: exit code, stdout and stderr, JSON field by field. `normalise` below is the
 * complete list of what may differ; docs/sandbox.md explains each entry.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** Server-assigned values (uid, resourceVersion, timestamps), shown as placeholders so presence is still compared. */
const VOLATILE_META = ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp'];
/** Written by kube-controller-manager, which only the real control plane runs (no controllers behind the stand-in). */
const CONTROLLER_ANNOTATIONS = ['deployment.kubernetes.io/revision'];

function isObj(v: Json | undefined): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The explicit normaliser: the only differences the comparison allows. */
function normalise(v: Json, path = ''): Json {
  if (Array.isArray(v)) return v.map((x) => normalise(x, path));
  if (!isObj(v)) return v;
  const out: Obj = {};
  for (const [k, val] of Object.entries(v)) {
    const p = path ? `${path}.${k}` : k;
    if (/(^|\.)metadata$/.test(path) && VOLATILE_META.includes(k)) out[k] = val === null ? null : `<${k}>`;
    else if (/(^|\.)metadata$/.test(path) && k === 'managedFields') continue;
    else if (/(^|\.)metadata\.annotations$/.test(path) && CONTROLLER_ANNOTATIONS.includes(k)) continue;
    else if (/(^|\.)spec$/.test(path) && (k === 'clusterIP' || k === 'clusterIPs')) out[k] = k === 'clusterIP' ? '<cluster-ip>' : ['<cluster-ip>'];
    else out[k] = normalise(val, p);
  }
  // An annotations map left empty by dropping the controller's annotation reads as none.
  if (isObj(out['annotations']) && Object.keys(out['annotations']).length === 0 && isObj(v['annotations']) && Object.keys(v['annotations']).length > 0) {
    delete out['annotations'];
  }
  // A Deployment's (and its Scale's) status is the deployment controller's work.
  if (out['kind'] === 'Deployment' || out['kind'] === 'Scale') out['status'] = '<controller>';
  return out;
}

/**
 * Table text cut at the header's column starts. AGE (seconds apart) and CLUSTER-IP (each server has
 * its own service range) are masked, and a Deployment's READY/UP-TO-DATE/AVAILABLE (its controller's counts).
 */
function normaliseTable(text: string): string {
  const lines = text.trimEnd().split('\n');
  const header = lines[0] ?? '';
  const cols = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], at: m.index }));
  const masked = new Set(['AGE', 'CLUSTER-IP', ...(header.includes('UP-TO-DATE') ? ['READY', 'UP-TO-DATE', 'AVAILABLE'] : [])]);
  return lines
    .map((line, row) =>
      cols
        .map((c, i) => {
          const cell = line.slice(c.at, cols[i + 1]?.at ?? line.length).trim();
          return row > 0 && masked.has(c.name) ? `<${c.name.toLowerCase()}>` : cell;
        })
        .join(' | '),
    )
    .join('\n');
}

interface Observation {
  code: number;
  stdout: Json;
  stderr: string;
}

type Mode = 'text' | 'json' | 'table';

function observe(r: KubectlResult, mode: Mode): Observation {
  let stdout: Json = r.stdout;
  if (mode === 'json' && r.code === 0) stdout = normalise(JSON.parse(r.stdout) as Json);
  if (mode === 'table' && r.code === 0) stdout = normaliseTable(r.stdout);
  return { code: r.code, stdout, stderr: r.stderr.replace(/^Warning: .*\n/gm, '') };
}

/** Concatenated JSON documents (what `kubectl get -w -o json` prints) split into values. */
function jsonStream(text: string): Json[] {
  const out: Json[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{') {
      if (depth++ === 0) start = i;
    } else if (ch === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)) as Json);
  }
  return out;
}

interface Side {
  name: 'real' | 'stand-in';
  kubeconfig: string;
  dir: string;
  k: Kubectl;
}

const CONFIGMAP = (data: string, labels = 'tier: web'): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: demo\n  labels: {${labels}}\ndata:\n${data}`;
const SSA_CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\n  namespace: demo\n  labels: {tier: db}\ndata:\n  b: "2"\n';
const ROUTE = (path: string): string =>
  [
    'apiVersion: gateway.networking.k8s.io/v1',
    'kind: HTTPRoute',
    'metadata: {name: split, namespace: demo}',
    'spec:',
    '  parentRefs: [{group: "", kind: Service, name: s1, port: 80}]',
    '  rules:',
    `  - matches: [{path: {type: PathPrefix, value: "${path}"}}]`,
    '    backendRefs: [{name: s1, port: 80, weight: 90}, {name: s2, port: 80, weight: 10}]',
    '',
  ].join('\n');

/** Issue 21's route shapes: header, cookie, query and method matches, header filters, a mirror. */
const SHAPES = [
  'apiVersion: gateway.networking.k8s.io/v1',
  'kind: HTTPRoute',
  'metadata: {name: shapes, namespace: demo}',
  'spec:',
  '  parentRefs: [{group: "", kind: Service, name: s1, port: 80}]',
  '  rules:',
  '  - matches:',
  '    - headers: [{name: x-canary, value: always}]',
  `    - {method: GET, headers: [{type: RegularExpression, name: Cookie, value: '(.*;\\s*)?canary=always(;.*)?'}], queryParams: [{name: beta, value: "1"}]}`,
  '    backendRefs:',
  '    - name: s2',
  '      port: 80',
  '      filters: [{type: ResponseHeaderModifier, responseHeaderModifier: {add: [{name: Set-Cookie, value: "canary=always; Path=/"}]}}]',
  '  - filters:',
  '    - {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-env, value: canary}], remove: [x-debug]}}',
  '    - {type: RequestMirror, requestMirror: {backendRef: {name: s2, port: 80}, MIRROR}}',
  '    backendRefs: [{name: s1, port: 80}]',
  '',
].join('\n');
const shapes = (mirror: string, extra = ''): string => SHAPES.replace('MIRROR', mirror).replace('  - filters:', `  - ${extra}filters:`);

describe('kubectl 1.32: the stand-in API server answers as the real kube-apiserver', () => {
  let cp: ControlPlane;
  let standIn: ApiServer;
  let root: string;
  const sides: Side[] = [];
  const compared: string[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'kubectl-differential-'));
    cp = await startControlPlane({ dir: join(root, 'controlplane'), logger: silentLogger(), manifests: sandboxCrdFiles() });
    standIn = await startApiServer({ crdFiles: sandboxCrdFiles() });
    const real = join(root, 'real.kubeconfig');
    const stand = join(root, 'stand-in.kubeconfig');
    await writeFile(real, cp.kubeconfig(), { mode: 0o600 });
    await standIn.writeKubeconfig(stand);
    sides.push({ name: 'real', kubeconfig: real, dir: join(root, 'real'), k: kubectl(real, join(root, 'real')) });
    sides.push({ name: 'stand-in', kubeconfig: stand, dir: join(root, 'stand-in'), k: kubectl(stand, join(root, 'stand-in')) });
  });

  afterAll(async () => {
    await standIn?.stop();
    await cp?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Runs one kubectl command on both servers (real first) and expects the same observation. */
  async function same(args: string[], mode: Mode = 'text', input?: string): Promise<Observation> {
    const [real, stand] = [await sides[0]!.k.run(args, input), await sides[1]!.k.run(args, input)];
    const label = `kubectl ${args.join(' ')}`;
    const want = observe(real, mode);
    expect({ op: label, ...observe(stand, mode) }).toEqual({ op: label, ...want });
    compared.push(label);
    return want;
  }

  it('creates a namespace and a deployment from protobuf bodies', async () => {
    expect((await same(['create', 'namespace', 'demo'])).stdout).toBe('namespace/demo created\n');
    await same(['get', 'namespace', 'demo', '-o', 'json'], 'json');
    expect((await same(['create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2', '--port=80', '-n', 'demo'])).code).toBe(0);
    const web = await same(['get', 'deployment', 'web', '-n', 'demo', '-o', 'json'], 'json');
    expect(web.stdout).toMatchObject({ metadata: { generation: 1 }, spec: { replicas: 2, strategy: { type: 'RollingUpdate' } } });
    expect((await same(['create', 'service', 'clusterip', 's1', '--tcp=80:80', '-n', 'demo'])).code).toBe(0);
    await same(['get', 'service', 's1', '-n', 'demo', '-o', 'json'], 'json');
    expect((await same(['run', 'p1', '--image=nginx', '--labels=run=p1', '-n', 'demo'])).stdout).toBe('pod/p1 created\n');
    await same(['get', 'pod', 'p1', '-n', 'demo', '-o', 'json'], 'json');
  });

  it('applies client-side (create, configure, unchanged) and server-side', async () => {
    expect((await same(['apply', '-f', '-'], 'text', CONFIGMAP('  a: "1"\n', 'tier: web, team: a'))).stdout).toBe('configmap/settings created\n');
    await same(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json'], 'json');
    expect((await same(['apply', '-f', '-'], 'text', CONFIGMAP('  a: "2"\n', 'tier: web, team: a'))).stdout).toBe('configmap/settings configured\n');
    expect((await same(['apply', '-f', '-'], 'text', CONFIGMAP('  a: "2"\n', 'tier: web, team: a'))).stdout).toBe('configmap/settings unchanged\n');
    await same(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json'], 'json');
    const unknown = await same(['apply', '-f', '-'], 'text', `${CONFIGMAP('  a: "2"\n')}bogus: 1\n`);
    expect(unknown.stderr).toContain('strict decoding error: unknown field "bogus"');
    await same(['create', '--validate=false', '-f', '-'], 'text', `${CONFIGMAP('  a: "1"\n').replace('name: settings', 'name: loose')}bogus: 1\n`);
    await same(['get', 'configmap', 'loose', '-n', 'demo', '-o', 'json'], 'json');
    await same(['delete', 'configmap', 'loose', '-n', 'demo']);
    expect((await same(['apply', '--server-side', '-f', '-'], 'text', SSA_CONFIGMAP)).stdout).toBe('configmap/ssa serverside-applied\n');
    await same(['get', 'configmap', 'ssa', '-n', 'demo', '-o', 'json'], 'json');
  });

  it('scales through the scale subresource', async () => {
    expect((await same(['scale', 'deployment', 'web', '--replicas=3', '-n', 'demo'])).stdout).toBe('deployment.apps/web scaled\n');
    await same(['get', '--raw', '/apis/apps/v1/namespaces/demo/deployments/web/scale'], 'json');
    const after = await same(['get', 'deployment', 'web', '-n', 'demo', '-o', 'json'], 'json');
    expect(after.stdout).toMatchObject({ metadata: { generation: 2 }, spec: { replicas: 3 } });
  });

  it('patches: strategic merge, JSON merge and JSON patch', async () => {
    await same(['patch', 'deployment', 'web', '-n', 'demo', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}']);
    await same(['get', 'deployment', 'web', '-n', 'demo', '-o', 'json'], 'json');
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'merge', '-p', '{"data":{"b":"2"},"metadata":{"labels":{"team":null}}}']);
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'json', '-p', '[{"op":"add","path":"/data/c","value":"3"},{"op":"remove","path":"/data/a"}]']);
    await same(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json'], 'json');
    const failed = await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'json', '-p', '[{"op":"test","path":"/data/c","value":"4"}]']);
    expect(failed.code).not.toBe(0);
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'json', '-p', '[{"op":"remove","path":"/data/nope"}]']);
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'json', '-p', '[{"op":"replace","path":"/data/e","value":"5"}]']);
    await same(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json'], 'json');
  });

  it('gets tables, and selects by label and by field', async () => {
    for (const args of [
      ['get', 'namespace', 'demo'],
      ['get', 'configmaps', '-n', 'demo', '-l', 'tier'],
      ['get', 'deployments', '-n', 'demo', '-o', 'wide'],
      ['get', 'services', '-n', 'demo', '-o', 'wide'],
      ['get', 'pods', '-n', 'demo', '-l', 'run=p1', '-o', 'wide'],
    ]) {
      await same(args, 'table');
    }
    expect((await same(['get', 'configmaps', '-n', 'demo', '-l', 'tier=web', '-o', 'name'])).stdout).toBe('configmap/settings\n');
    await same(['get', 'configmaps', '-n', 'demo', '-l', 'tier in (web,db),tier!=db', '-o', 'name']);
    expect((await same(['get', 'configmaps', '-n', 'demo', '--field-selector', 'metadata.name=ssa', '-o', 'name'])).stdout).toBe('configmap/ssa\n');
    await same(['get', 'pods', '-n', 'demo', '-l', 'run=p1', '--field-selector', 'status.phase=Pending', '-o', 'name']);
    await same(['get', 'configmaps', '-n', 'demo', '--field-selector', 'data.a=1']);
  });

  it('refuses a stale update with 409 Conflict', async () => {
    const stale = await Promise.all(sides.map((s) => s.k.ok(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json'])));
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'merge', '-p', '{"data":{"d":"4"}}']);
    const [real, stand] = await Promise.all(sides.map((s, i) => s.k.run(['replace', '-f', '-'], stale[i])));
    const label = 'kubectl replace -f - (a stale resourceVersion)';
    expect({ op: label, ...observe(stand!, 'text') }).toEqual({ op: label, ...observe(real!, 'text') });
    expect(real!.stderr).toContain('Error from server (Conflict)');
    compared.push(label);
  });

  it('refuses an HTTPRoute path without a leading slash with the CEL rule 422', async () => {
    const bad = await same(['apply', '-f', '-'], 'text', ROUTE('api'));
    expect(bad.stderr).toContain("must be an absolute path and start with '/'");
    await same(['create', '-f', '-'], 'text', ROUTE('api'));
    const unknown = await same(['apply', '-f', '-'], 'text', ROUTE('/api').replace('spec:\n', 'spec:\n  bogus: 1\n'));
    expect(unknown.stderr).toContain('strict decoding error: unknown field "spec.bogus"');
    expect((await same(['apply', '-f', '-'], 'text', ROUTE('/api'))).stdout).toBe('httproute.gateway.networking.k8s.io/split created\n');
    await same(['get', 'httproute', 'split', '-n', 'demo', '-o', 'json'], 'json');
    await same(['get', 'httproutes', '-n', 'demo'], 'table');
    await same(['patch', 'httproute', 'split', '-n', 'demo', '--type', 'merge', '-p', '{"spec":{"rules":[{"backendRefs":[{"name":"s1","port":80,"weight":2000000}]}]}}']);
  });

  it('stores route matches, header filters and a mirror, and refuses bad mirror shapes with the CRD rules', async () => {
    // sessionPersistence is experimental-channel only: the standard CRD does not know it (checked on
    // create; on a patch the real server's 422 quotes the whole object, uid and times included).
    const persistence = await same(['apply', '-f', '-'], 'text', shapes('percent: 30', 'sessionPersistence: {sessionName: s}\n    '));
    expect(persistence.stderr).toContain('unknown field "spec.rules[1].sessionPersistence"');
    expect((await same(['apply', '-f', '-'], 'text', shapes('percent: 30'))).stdout).toBe('httproute.gateway.networking.k8s.io/shapes created\n');
    const got = await same(['get', 'httproute', 'shapes', '-n', 'demo', '-o', 'json'], 'json');
    expect(got.stdout).toMatchObject({ spec: { rules: [{ matches: [{ headers: [{ type: 'Exact' }], path: { type: 'PathPrefix', value: '/' } }, {}] }, {}] } });
    await same(['patch', 'httproute', 'shapes', '-n', 'demo', '--type', 'json', '-p', '[{"op":"remove","path":"/spec/rules/1/filters/1/requestMirror/percent"},{"op":"add","path":"/spec/rules/1/filters/1/requestMirror/fraction","value":{"numerator":1}}]']);
    await same(['get', 'httproute', 'shapes', '-n', 'demo', '-o', 'json'], 'json');
    expect((await same(['apply', '-f', '-'], 'text', shapes('percent: 30, fraction: {numerator: 1}'))).stderr).toContain('Only one of percent or fraction');
    await same(['apply', '-f', '-'], 'text', shapes('fraction: {numerator: 5, denominator: 4}'));
    await same(['apply', '-f', '-'], 'text', shapes('percent: 30').replace('{name: s2, port: 80}, percent', '{name: s2}, percent'));
    await same(['delete', 'httproute', 'shapes', '-n', 'demo']);
  });

  it('answers auth can-i', async () => {
    expect((await same(['auth', 'can-i', 'patch', 'httproutes', '-n', 'demo'])).stdout).toBe('yes\n');
    await same(['auth', 'can-i', 'update', 'deployments.apps', '--subresource=scale', '-n', 'demo']);
    await same(['auth', 'can-i', 'get', '/healthz']);
  });

  it('watches: initial state, a change and a delete', async () => {
    const events = await Promise.all(
      sides.map(async (s) => {
        const watch = spawnWatch(s, ['get', 'configmaps', '-n', 'demo', '-l', 'tier=db', '-w', '--output-watch-events', '-o', 'json']);
        try {
          await eventually(() => jsonStream(watch.out()).length >= 1, 15000, `${s.name}: initial watch event`);
          await s.k.ok(['label', 'configmap', 'ssa', '-n', 'demo', 'phase=two']);
          await eventually(() => jsonStream(watch.out()).length >= 2, 15000, `${s.name}: watched label`);
          await s.k.ok(['delete', 'configmap', 'ssa', '-n', 'demo']);
          await eventually(() => jsonStream(watch.out()).length >= 3, 15000, `${s.name}: watched delete`);
        } finally {
          watch.child.kill('SIGTERM');
        }
        return jsonStream(watch.out()).map((e) => normalise(e));
      }),
    );
    expect(events[0]!.map((e) => (e as Obj)['type'])).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(events[1]).toEqual(events[0]);
    compared.push('kubectl get configmaps -l tier=db -w --output-watch-events -o json');
  });

  it('deletes an object with a finalizer: Terminating until the finalizer goes', async () => {
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'merge', '-p', '{"metadata":{"finalizers":["example.com/keep"]}}']);
    expect((await same(['delete', 'configmap', 'settings', '-n', 'demo', '--wait=false'])).stdout).toBe('configmap "settings" deleted\n');
    const held = await same(['get', 'configmap', 'settings', '-n', 'demo', '-o', 'json'], 'json');
    expect(held.stdout).toMatchObject({ metadata: { deletionTimestamp: '<deletionTimestamp>', deletionGracePeriodSeconds: 0, finalizers: ['example.com/keep'] } });
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'merge', '-p', '{"data":{"late":"x"}}']);
    await same(['patch', 'configmap', 'settings', '-n', 'demo', '--type', 'json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    expect((await same(['get', 'configmap', 'settings', '-n', 'demo'])).stderr).toBe('Error from server (NotFound): configmaps "settings" not found\n');
    await same(['delete', 'httproute', 'split', '-n', 'demo']);
    await same(['delete', 'deployment', 'web', '-n', 'demo']);
    expect(compared.length).toBeGreaterThanOrEqual(40);
  });

  function spawnWatch(s: Side, args: string[]): { child: ChildProcess; out: () => string } {
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: join(s.dir, 'kubectl-home'), KUBECONFIG: s.kubeconfig };
    const child = spawn('kubectl', ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dir, 'kubectl-cache'), ...args], { env });
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    return { child, out: () => out };
  }
});
