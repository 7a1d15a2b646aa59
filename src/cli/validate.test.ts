import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runValidate } from './validate.js';
import { fromRoot } from '../core/paths.js';

function capture(): { out: Writable; text: () => string } {
  let buf = '';
  const out = new Writable({ write: (c: Buffer, _e, cb) => ((buf += c.toString()), cb()) });
  return { out, text: () => buf };
}

const dir = mkdtempSync(join(tmpdir(), 'routeshift-validate-'));
const threeMistakes = `apiVersion: routeshift.io/v1alpha1
kind: Canary
metadata: {name: x, namespace: a}
spec:
  routeRef: {name: r}
  stable: {name: s, port: 80}
  canary: {name: c, port: 80}
  analysis:
    interval: 1m
    threshold: 2
    stepWeights: [10, 5]
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99, max: 1}
    - name: custom
      query: sum(rate(x[{{ interval }}])
      thresholdRange: {max: 1}
`;

const abBundle = (ruleMatches: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: a}
spec:
  rules:
  - name: testers
    matches: ${ruleMatches}
    backendRefs: [{name: app-v1, port: 80, weight: 100}, {name: app-v2, port: 80, weight: 0}]
  - name: main
    backendRefs: [{name: app-v1, port: 80, weight: 100}, {name: app-v2, port: 80, weight: 0}]
---
apiVersion: routeshift.io/v1alpha1
kind: Canary
metadata: {name: app, namespace: a}
spec:
  routeRef: {name: app, rule: main}
  stable: {name: app-v1, port: 80}
  canary: {name: app-v2, port: 80}
  analysis:
    interval: 1m
    threshold: 2
    iterations: 3
    match: [{headers: [{name: x-canary, value: insider}]}]
`;

describe('routeshift validate', () => {
  it('checks the route in the same files for what the traffic shape needs', async () => {
    const good = join(dir, 'ab-good.yaml');
    writeFileSync(good, abBundle('[{headers: [{name: X-Canary, value: insider}]}]'));
    const ok = capture();
    const code = await runValidate([good], [], ok.out);
    expect(ok.text()).toBe('1 file(s) valid\n');
    expect(code).toBe(0);
    const bad = join(dir, 'ab-bad.yaml');
    writeFileSync(bad, abBundle('[{headers: [{name: x-canary, value: always}]}]'));
    const c = capture();
    expect(await runValidate([bad], [], c.out)).toBe(1);
    expect(c.text()).toMatch(/document 2: Canary\/app: spec\.analysis\.match: RouteMismatch \(ShapeMismatch\): no rule of HTTPRoute a\/app matches header x-canary = "insider"/);
  });

  it('prints all three mistakes of one file with their paths and exits 1', async () => {
    const f = join(dir, 'bad.yaml');
    writeFileSync(f, threeMistakes);
    const c = capture();
    expect(await runValidate([f], [], c.out)).toBe(1);
    const lines = c.text().trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('spec.analysis.stepWeights[1]');
    expect(lines[1]).toContain('spec.analysis.metrics[0].thresholdRange');
    expect(lines[2]).toMatch(/spec\.analysis\.metrics\[1\]\.query: .*line 1, column \d+/);
    expect(lines[3]).toBe('3 problem(s) found');
  });

  it('refuses what the controller would: a 0s interval and a check hook without a url', async () => {
    const f = join(dir, 'controller.yaml');
    writeFileSync(f, threeMistakes.replace('interval: 1m', 'interval: 0s').replace('stepWeights: [10, 5]', 'stepWeights: [10]\n    webhooks: [{name: w, type: rollout}]').replace('max: 1}\n    - name: custom', '}\n    - name: custom').replace('[{{ interval }}])', '[{{ interval }}]))'));
    const c = capture();
    expect(await runValidate([f], [], c.out)).toBe(1);
    expect(c.text()).toContain('spec.analysis.interval');
    expect(c.text()).toContain('spec.analysis.webhooks[0].url');
  });

  it('reports a load hook whose hey command routeshift cannot run, and accepts a good one', async () => {
    const base = threeMistakes.replace('stepWeights: [10, 5]', 'stepWeights: [10]').replace('max: 1}\n    - name: custom', '}\n    - name: custom').replace('[{{ interval }}])', '[{{ interval }}]))');
    const bad = join(dir, 'load-bad.yaml');
    writeFileSync(bad, base.replace('stepWeights: [10]', 'stepWeights: [10]\n    webhooks: [{name: load-test, type: rollout, metadata: {cmd: "hey -z 1m -k http://app-canary/"}}]'));
    const c = capture();
    expect(await runValidate([bad], [], c.out)).toBe(1);
    expect(c.text()).toContain('spec.analysis.webhooks[0].metadata.cmd: unknown hey flag -k');
    const good = join(dir, 'load-good.yaml');
    writeFileSync(good, base.replace('stepWeights: [10]', 'stepWeights: [10]\n    webhooks: [{name: load-test, type: rollout, metadata: {cmd: "hey -z 1m -q 5 -c 1 http://app-canary/"}}]'));
    const g = capture();
    expect(await runValidate([good], [], g.out)).toBe(0);
  });

  it('passes every example in analysis/examples and the seed bundle (other kinds are not judged)', async () => {
    const files = readdirSync(fromRoot('analysis/examples')).map((n) => fromRoot('analysis/examples', n));
    const c = capture();
    expect(await runValidate([...files, fromRoot('deploy/examples/seed.yaml'), fromRoot('deploy/examples/traffic-shapes.yaml')], [], c.out)).toBe(0);
    expect(c.text()).toMatch(/valid/);
  });
});
