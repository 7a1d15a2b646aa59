/**
 * Fault injection at the API server: 10% of every write (the controller's status updates, route
 * patches and Events, and the sandbox's own mesh and workload writes) answered 409, 500 or 429, every
 * watch stream dropped every 3 s and the watch history compacted every 10 s (so re-watches get 410
 * Gone and relist). Rollouts, some created before and some during the faults, must all end right,
 * each step's Event once (none lost to a failed write), every step on the route, the route valid
 * throughout. Needs `npm run build`.
 */
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import {
  canaryFor,
  createWithRetry,
  FaultTally,
  readCanary,
  type RouteAuditor,
  rolloutObjects,
  transitionReasons,
  weightSteps,
  type KubeHttp,
  closeFaultBed,
  openFaultBed,
} from '../support/faults.js';
import { canaryEvents, sleep, startController, waitForWorkloads, type ControllerProcess } from '../support/harness.js';
import { waitUntil } from '../support/wait.js';

const STEPS = [20, 40, 60, 80];
const FIRST = 20;

let sb: Sandbox;
let k: KubeHttp;
let auditor: RouteAuditor;
let controller: ControllerProcess | undefined;
const tally = new FaultTally();
const timers: NodeJS.Timeout[] = [];

beforeAll(async () => {
  ({ sb, k, auditor } = await openFaultBed());
}, 60_000);

afterAll(async () => {
  timers.forEach((t) => clearInterval(t));
  if (sb) sb.api.faults.writeFailureRate = 0;
  await closeFaultBed({ sb, k, auditor }, { label: 'faults-api', tally, controller });
});

interface Rollout {
  name: string;
  broken: boolean;
  ended?: string;
}

async function launch(name: string, broken: boolean): Promise<Rollout> {
  auditor.track(name, `${name}-canary`);
  await createWithRetry(k, rolloutObjects(name, broken));
  await waitForWorkloads(sb.kubeConfig, rolloutObjects(name, broken));
  await createWithRetry(k, [canaryFor(name, { stepWeights: STEPS })]);
  return { name, broken };
}

describe('API server failing 10% of writes and dropping watches', () => {
  it('ends every rollout right, each step announced once, the route valid', async () => {
    const rollouts = [
      await launch('api-good-1', false),
      await launch('api-good-2', false),
      await launch('api-good-3', false),
      await launch('api-bad-1', true),
      await launch('api-bad-2', true),
    ];
    controller = startController(sb);
    sb.api.faults.writeFailureRate = 0.1;
    let drops = 0;
    let compactions = 0;
    timers.push(
      setInterval(() => {
        sb.api.faults.dropWatches();
        drops++;
      }, 3_000),
      setInterval(() => {
        sb.api.faults.compact();
        compactions++;
      }, 10_000),
    );
    // A second wave created while the faults are on (the test's own creates retry like any client), once
    // they have bitten: watches dropped twice and every first-wave rollout started.
    await waitUntil('two watch drops and every first-wave rollout started', async () => {
      if (drops < 2) return false;
      for (const r of rollouts) if (!(await readCanary(k, r.name))?.status?.revision) return false;
      return true;
    }, 60_000, 500);
    rollouts.push(await launch('api-good-4', false), await launch('api-good-5', false), await launch('api-bad-3', true));

    const end = Date.now() + 150_000;
    while (rollouts.some((r) => !r.ended) && Date.now() < end) {
      await sleep(1_000);
      for (const r of rollouts.filter((x) => !x.ended)) {
        const phase = (await readCanary(k, r.name))?.status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Invalid') r.ended = phase;
      }
    }
    const injected = sb.api.requestLog.entries().filter((e) => e.code === 409 || e.code === 429 || e.code === 500).length;
    sb.api.faults.writeFailureRate = 0;
    timers.forEach((t) => clearInterval(t));

    const problems: string[] = [];
    const lostEvents: string[] = [];
    for (const r of rollouts) {
      const mine: string[] = [];
      const want = r.broken ? 'Failed' : 'Succeeded';
      if (r.ended !== want) mine.push(`ended ${r.ended ?? `not (phase ${(await readCanary(k, r.name))?.status?.phase})`}, expected ${want}`);
      const expectedHistory = r.broken ? [0, FIRST, 0] : [0, ...STEPS, 100];
      await auditor.settled(r.name, expectedHistory.at(-1) as number);
      const audit = auditor.audit(r.name);
      if (JSON.stringify(audit.history) !== JSON.stringify(expectedHistory)) mine.push(`route canary weights ${audit.history.join(' -> ')}, expected ${expectedHistory.join(' -> ')}`);
      mine.push(...audit.violations);
      const events = await canaryEvents(sb, r.name);
      const steps = weightSteps(events);
      const tos = steps.map((s) => s.to);
      if (steps.some((s) => s.count !== 1) || new Set(tos).size !== tos.length) mine.push(`a step announced twice: ${JSON.stringify(steps.map((s) => `${s.to}x${s.count}`))}`);
      const expectedSteps = r.broken ? [FIRST] : STEPS;
      const missing = expectedSteps.filter((w) => !tos.includes(w));
      // A transition's Event stays owed in status until written, so a failed write is retried, not lost.
      if (missing.length) lostEvents.push(`${r.name}: WeightAdvanced to ${missing.join(',')} (transitions seen: ${transitionReasons(events).join(',')})`);
      if (missing.length) mine.push(`no WeightAdvanced Event for ${missing.join(',')}`);
      tally.record(r.broken ? 'broken rollout, API faults' : 'healthy rollout, API faults', mine.length === 0, `${r.name}: ${mine.join('; ')}`);
      problems.push(...mine.map((m) => `${r.name}: ${m}`));
    }
    for (let i = 0; i < drops; i++) tally.record('watch streams dropped', problems.length === 0, 'see rollout problems');
    for (let i = 0; i < compactions; i++) tally.record('watch history compacted (410 Gone)', problems.length === 0, 'see rollout problems');
    process.stdout.write(
      `faults-api: ${rollouts.length} rollouts, ${injected} injected write failures in the request log, ${drops} watch drops, ${compactions} compactions\n` +
        `Events lost: ${lostEvents.length ? lostEvents.join('; ') : 'none'}\n${problems.join('\n')}\n`,
    );
    expect(problems).toEqual([]);
    expect(injected).toBeGreaterThan(0);
  }, 240_000);
});
