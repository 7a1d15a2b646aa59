import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runValidate } from './validate.js';

/** `routeshift validate` refuses a cross-namespace reference as the controller does (RefNotPermitted). */
const dir = mkdtempSync(join(tmpdir(), 'routeshift-validate-refs-'));
const canary = `apiVersion: routeshift.io/v1alpha1
kind: Canary
metadata: {name: app, namespace: team-a}
spec:
  routeRef: {name: split, namespace: team-b}
  stable: {name: app-v1, port: 80}
  canary: {name: app-v2, port: 80}
  analysis: {interval: 1m, threshold: 2, stepWeights: [50]}
`;
const grant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: routeshift-team-a, namespace: team-b}
spec:
  from: [{group: routeshift.io, kind: Canary, namespace: team-a}]
  to: [{group: gateway.networking.k8s.io, kind: HTTPRoute}, {group: '', kind: Service}]
`;

async function validate(text: string): Promise<{ code: number; out: string }> {
  const f = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, text);
  let out = '';
  const w = new Writable({ write: (c: Buffer, _e, cb) => ((out += c.toString()), cb()) });
  return { code: await runValidate([f], [], w), out };
}

describe('routeshift validate and cross-namespace references', () => {
  it('says RefNotPermitted for each reference without a grant in the files', async () => {
    const r = await validate(canary);
    expect(r.code).toBe(1);
    expect(r.out).toContain('document 1: Canary/app: spec.routeRef: RefNotPermitted: HTTPRoute.gateway.networking.k8s.io team-b/split is in another namespace; it needs a ReferenceGrant in team-b from routeshift.io/Canary in team-a (none in these files)');
    expect(r.out).toContain('spec.stable: RefNotPermitted');
    expect(r.out).toContain('3 problem(s) found');
  });

  it('accepts the same Canary with a matching ReferenceGrant in the bundle', async () => {
    const r = await validate(`${canary}---\n${grant}`);
    expect(r.out).toBe('1 file(s) valid\n');
    expect(r.code).toBe(0);
  });

  it('does not count a grant in the wrong namespace', async () => {
    const r = await validate(`${canary}---\n${grant.replace('namespace: team-b', 'namespace: team-c')}`);
    expect(r.code).toBe(1);
  });
});
