/**
 * Fault injection: the controller SIGKILLed at 50 seeded-random moments while rollouts run side by
 * side (each round one healthy and one broken canary, a new round as soon as one ends). Every rollout
 * must end in the right phase, announce each weight step once, visit every step on the route, and
 * the route must stay valid in every version the API server held. The controller folds WeightAdvanced
 * Events (a window of 2.5 intervals: up to 3 steps an Event), so kills also land between a step's status
 * write and its folded Event; the Events, expanded by their routeshift.io/steps annotation, must still
 * name every step once. Needs `npm run build`.
 */
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { NS } from '../../src/sandbox/seed.js';
import {
  canaryFor,
  canaryPath,
  createWithRetry,
  deleteWithRetry,
  FaultTally,
  readCanary,
  type RouteAuditor,
  rolloutObjects,
  routePath,
  seededRandom,
  transitionReasons,
  weightSteps,
  type KubeHttp,
  closeFaultBed,
  openFaultBed,
} from '../support/faults.js';
import { canaryEvents, sleep, startController, type ControllerProcess } from '../support/harness.js';

const KILLS = 50;
const SEED = 20251128;
const STEPS = [20, 40, 60, 80];
/** canaryFor's interval is 2s: ceil(5 / 2) = 3 steps an Event at most. */
const FOLD = ['--event-advance-window', '5s'];

let sb: Sandbox;
let k: KubeHttp;
let auditor: RouteAuditor;
let controller: ControllerProcess | undefined;
const tally = new FaultTally();

beforeAll(async () => {
  ({ sb, k, auditor } = await openFaultBed());
}, 60_000);

afterAll(() => closeFaultBed({ sb, k, auditor }, { label: 'faults-kill', tally, controller, signal: 'SIGKILL' }));

interface Rollout {
  name: string;
  broken: boolean;
  ended?: 'Succeeded' | 'Failed' | 'Invalid';
}

async function launch(name: string, broken: boolean): Promise<Rollout> {
  auditor.track(name, `${name}-canary`);
  await createWithRetry(k, rolloutObjects(name, broken));
  await createWithRetry(k, [canaryFor(name, { stepWeights: STEPS })]);
  return { name, broken };
}

/** Waits for the controller's first log line, so a kill lands in its working life, not only in Node's startup. */
async function started(c: ControllerProcess, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end && !c.output.some((l) => l.includes('routeshift controller starting'))) await sleep(25);
}

describe('controller killed with SIGKILL at random moments', () => {
  it(`ends every rollout right, each step once, the route valid, across ${KILLS} kills`, async () => {
    const random = seededRandom(SEED);
    const rollouts: Rollout[] = [];
    let round = 0;
    const newRound = async (): Promise<void> => {
      round++;
      rollouts.push(await launch(`kill-good-${round}`, false), await launch(`kill-bad-${round}`, true));
    };
    await newRound();

    const problems: string[] = [];
    /** WeightAdvanced Events that covered more than one step: folding must have happened. */
    let folded = 0;
    /** Checks a finished rollout, then removes its objects so later rounds keep the load generator's traffic. */
    const evaluate = async (r: Rollout): Promise<void> => {
      const want = r.broken ? 'Failed' : 'Succeeded';
      const events = await canaryEvents(sb, r.name);
      const steps = weightSteps(events);
      folded += events.filter((e) => e.reason === 'WeightAdvanced' && (e.steps?.length ?? 0) > 1).length;
      const reasons = transitionReasons(events);
      const expectedSteps = r.broken ? [STEPS[0]] : STEPS;
      const expectedReasons = r.broken
        ? ['RolloutStarted', 'WeightAdvanced', 'RollbackStarted', 'RolledBack']
        : ['RolloutStarted', ...STEPS.map(() => 'WeightAdvanced'), 'PromotionStarted', 'Promoted'];
      const expectedHistory = r.broken ? [0, STEPS[0], 0] : [0, ...STEPS, 100];
      await auditor.settled(r.name, expectedHistory.at(-1) as number);
      const audit = auditor.audit(r.name);
      const mine: string[] = [];
      if (r.ended !== want) mine.push(`ended ${r.ended}, expected ${want}`);
      if (JSON.stringify(steps.map((x) => x.to)) !== JSON.stringify(expectedSteps) || steps.some((x) => x.count !== 1)) {
        mine.push(`WeightAdvanced Events ${JSON.stringify(steps.map((x) => `${x.to}x${x.count}`))}, expected each of ${expectedSteps.join(',')} once`);
      }
      if (JSON.stringify(reasons) !== JSON.stringify(expectedReasons)) mine.push(`transitions ${reasons.join(',')}`);
      if (JSON.stringify(audit.history) !== JSON.stringify(expectedHistory)) mine.push(`route canary weights ${audit.history.join(' -> ')}, expected ${expectedHistory.join(' -> ')}`);
      mine.push(...audit.violations);
      tally.record(r.broken ? 'broken rollout under kills' : 'healthy rollout under kills', mine.length === 0, `${r.name}: ${mine.join('; ')}`);
      problems.push(...mine.map((m) => `${r.name}: ${m}`));
      await deleteWithRetry(k, canaryPath(r.name));
      await deleteWithRetry(k, routePath(r.name));
      for (const d of ['stable', 'canary']) await deleteWithRetry(k, `/apis/apps/v1/namespaces/${NS}/deployments/${r.name}-${d}`);
    };
    const refresh = async (): Promise<void> => {
      for (const r of rollouts.filter((x) => !x.ended)) {
        // Ended: a final phase whose Event is announced (a kill between the two leaves it owed in status).
        const status = (await readCanary(k, r.name))?.status;
        const phase = status?.pendingEvent ? undefined : status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Invalid') {
          r.ended = phase;
          await evaluate(r);
        }
      }
      // Keep two rollouts in flight: a finished round is replaced by a new one.
      if (rollouts.every((x) => x.ended)) await newRound();
    };

    for (let kill = 1; kill <= KILLS; kill++) {
      controller = startController(sb, FOLD);
      await started(controller);
      await sleep(Math.floor(random() * 2500));
      await controller.stop('SIGKILL');
      controller = undefined;
      await refresh();
    }
    // One more round under a controller left alone: a whole rollout whose steps fold (a fold of 3, then the
    // rest written before PromotionStarted), besides the short folds between kills.
    await newRound();
    controller = startController(sb, FOLD);
    const end = Date.now() + 90_000;
    while (rollouts.some((r) => !r.ended) && Date.now() < end) {
      await sleep(500);
      for (const r of rollouts.filter((x) => !x.ended)) {
        // Ended: a final phase whose Event is announced (a kill between the two leaves it owed in status).
        const status = (await readCanary(k, r.name))?.status;
        const phase = status?.pendingEvent ? undefined : status?.phase;
        if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Invalid') {
          r.ended = phase;
          await evaluate(r);
        }
      }
    }
    await controller.stop();
    controller = undefined;
    for (const r of rollouts.filter((x) => !x.ended)) {
      problems.push(`${r.name}: did not end (phase ${(await readCanary(k, r.name))?.status?.phase})`);
      tally.record(r.broken ? 'broken rollout under kills' : 'healthy rollout under kills', false, `${r.name}: did not end`);
    }
    for (let i = 0; i < KILLS; i++) tally.record('SIGKILL', problems.length === 0, 'see rollout problems');
    process.stdout.write(`faults-kill: ${KILLS} kills over ${round} rounds (${rollouts.length} rollouts), ${folded} folded WeightAdvanced Events\n${problems.join('\n')}\n`);
    expect(problems).toEqual([]);
    expect(folded).toBeGreaterThan(0);
    expect(rollouts.filter((r) => r.ended).length).toBeGreaterThanOrEqual(4);
  }, 330_000);
});
