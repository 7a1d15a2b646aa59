/**
 * A real data plane: Traefik (built from its Go module by scripts/traefik/build.sh) serves a Gateway
 * on the real control plane, and routeshift walks a north-south canary on the HTTPRoute whose
 * parentRef is that Gateway. Traefik dials EndpointSlice addresses (pod IPs), so the whole scenario
 * runs in a private network namespace (`unshare -n`, root) where the pods listen on their own IPs;
 * no traffic leaves it, and it goes away with the process. Needs `npm run build`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromRoot } from '../../src/core/paths.js';
import type { TraefikScenarioResult } from '../../src/sandbox/traefik/scenario.js';
import { findTraefikBinary, pinnedTraefikVersion } from '../../src/sandbox/traefik/traefik.js';

let result: TraefikScenarioResult;
let dir: string;

function runInNetns(out: string, log: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, fromRoot('dist/sandbox/traefik/scenario-main.js'), out, log], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

beforeAll(async () => {
  findTraefikBinary(); // a clear "build it with scripts/traefik/build.sh" instead of a time-out
  dir = mkdtempSync(join(tmpdir(), 'routeshift-traefik-e2e-'));
  const out = join(dir, 'result.json');
  const log = join(dir, 'scenario.log');
  const { code, stderr } = await runInNetns(out, log);
  if (code !== 0) {
    const tail = readFileSync(log, 'utf8').trimEnd().split('\n').slice(-20).join('\n');
    throw new Error(`the scenario exited with ${code}:\n${stderr}\nlog tail:\n${tail}`);
  }
  result = JSON.parse(readFileSync(out, 'utf8')) as TraefikScenarioResult;
}, 540_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Traefik's name for backendRef `<svc>:80` in the scenario's namespace. */
const svc = (name: string): string => `edge-${name}-http-80@kubernetesgateway`;

describe('Traefik as the data plane of a north-south canary', () => {
  it('runs the pinned Traefik release, which names Gateway backends as the templates expect', () => {
    expect(result.traefikVersion).toBe(pinnedTraefikVersion());
    expect(result.prometheusServiceLabels).toEqual(expect.arrayContaining([svc('backend-v1'), svc('backend-v2')]));
    // Every built-in traefik query found its series (a number, not null: JSON has no NaN), and the
    // success rates of two healthy versions are 100 %.
    const values = Object.entries(result.templateValues);
    expect(values).toHaveLength(4);
    for (const [query, value] of values) {
      expect({ query, value, isNumber: typeof value === 'number' }).toMatchObject({ query, isNumber: true });
      // 100 * ok / total in floating point: equal counts can still give 99.99999999999999.
      if (query.startsWith('request-success-rate/')) expect({ query, near100: Math.abs((value ?? 0) - 100) < 1e-9 }).toEqual({ query, near100: true });
    }
  });

  it('walks 10 -> 25 -> 50 -> 75 -> 100 and Traefik splits its traffic within 3 points of each weight', () => {
    expect(result.walk.phase).toBe('Succeeded');
    expect(result.walk.weights).toEqual({ 'backend-v1': 0, 'backend-v2': 100 });
    expect(result.walk.events.filter((r) => ['RolloutStarted', 'WeightAdvanced', 'PromotionStarted', 'Promoted'].includes(r))).toEqual([
      'RolloutStarted',
      'WeightAdvanced',
      'WeightAdvanced',
      'WeightAdvanced',
      'WeightAdvanced',
      'PromotionStarted',
      'Promoted',
    ]);
    // Traefik's weighted round robin is deterministic: the share misses the weight only by requests in
    // flight at the window's edges, so 3 points (the bound) is loose but still catches a split
    // Traefik did not apply (e.g. the previous step's weights).
    const measured = result.walk.steps.filter((s) => s.canaryWeight > 0);
    expect(measured.map((s) => s.canaryWeight)).toEqual(expect.arrayContaining([10, 25, 50, 75, 100]));
    for (const step of measured) {
      expect(step.requests).toBeGreaterThanOrEqual(100);
      expect({ weight: step.canaryWeight, share: Math.abs(step.canaryPercent - step.canaryWeight) <= 3 }).toEqual({ weight: step.canaryWeight, share: true });
    }
    // The traffic was real: the client saw both versions answer, through Traefik.
    expect(result.walk.load.workload['backend-v2']).toBeGreaterThan(0);
    expect(result.walk.load.status['200']).toBeGreaterThan(0);
    expect(result.routeStatus).toMatchObject({ controllerName: 'traefik.io/gateway-controller' });
  });

  it('rolls back a canary answering 503, with Traefik counting its 503s', () => {
    expect(result.rollback.phase).toBe('Failed');
    expect(result.rollback.canaryWeight).toBe(0);
    expect(result.rollback.weights).toEqual({ 'backend-v3': 0, 'backend-v2': 100 });
    expect(result.rollback.events.slice(-2)).toEqual(['RollbackStarted', 'RolledBack']);
    expect(result.rollback.events).toContain('CheckFailed');
    expect(result.rollback.traefik5xx[svc('backend-v3')]).toBeGreaterThan(0);
    expect(result.rollback.traefik5xx[svc('backend-v2')] ?? 0).toBe(0);
  });

  it('keeps the route rule it does not own (a second rule with a filter) byte for byte', () => {
    expect(result.secondRule.before).toContain('RequestHeaderModifier');
    expect(result.secondRule.after).toBe(result.secondRule.before);
  });
});
