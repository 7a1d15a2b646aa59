/**
 * Issue 16's sandbox acceptance, as a new user tries it: the sandbox at 20 requests per second, a Canary with
 * `request-success-rate` in `mode: sequential`, `interval: 5s`, `threshold: 2`, steps 10/30/60.
 * - The healthy canary is promoted. Before issue 16 the time-out was `threshold × 2` = 4 intervals whatever the
 *   traffic, so it was rolled back (Failed) at weight 60 with 0 bad of 279 canary requests; now the time-out
 *   waits while the evidence the test needs is on its way, and says how long that should take.
 * - A rollout without any answer times out into a person's hands (phase Waiting, Event AwaitingDecision),
 *   never Failed, and keeps its weight.
 * Needs `npm run build`.
 */
import type { Canary } from '../../src/api/canary.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { canaryEvents, createAll, routeWeights, sandboxWithController, stopAll, waitForCanary, type ControllerProcess, type SeenEvent } from '../support/harness.js';
import { release } from '../support/releases.js';

let sb: Sandbox;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  // One release is the only load target at first, so its root Service gets all 20 requests per second.
  ({ sb, controller } = await sandboxWithController({ rps: 20 }));
}, 60_000);

afterAll(() => stopAll(controller, sb));

const count = (events: SeenEvent[], reason: string): number => events.filter((e) => e.reason === reason).reduce((n, e) => n + e.count, 0);
const ended = (c: Canary): boolean => ['Succeeded', 'Failed', 'TimedOut'].includes(c.status?.phase ?? '');

describe('decisions users can trust on the sandbox', () => {
  it('promotes the healthy canary at 20 rps with threshold 2 and a 5s interval, saying when promotion may come', async () => {
    const r = release('healthy');
    await createAll(sb.kubeConfig, r.objects);
    const c = r.canaryObject({ interval: '5s', threshold: 2, stepWeights: [10, 30, 60] });
    c.spec.analysis.metrics = [{ name: 'request-success-rate', mode: 'sequential' }];
    await createAll(sb.kubeConfig, [c]);

    const done = await waitForCanary(sb, r.name, ended, 240_000);
    const events = await canaryEvents(sb, r.name);
    expect({ phase: done.status?.phase, message: done.status?.message }).toMatchObject({ phase: 'Succeeded' });
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 0, [r.canary]: 100 });
    expect(count(events, 'RollbackStarted')).toBe(0);
    expect(events.find((e) => e.reason === 'PromotionStarted')?.message).toMatch(/not worse, canary - stable <= \+[\d.]+pp \(99% confidence, tolerance 2pp\)/);
    // Announced at the start, then at each step, in time at the traffic seen.
    const forecasts = events.filter((e) => e.reason === 'DecisionForecast').map((e) => e.message);
    expect(forecasts.some((m) => /^request-success-rate: promotion needs about \d+ clean canary requests/.test(m))).toBe(true);
    expect(forecasts.some((m) => /^request-success-rate: at [\d.]+ canary rps, promotion needs about \d+ canary requests \(\d+ so far\): about \d+(s|m) at weight 60$/.test(m))).toBe(true);
  }, 300_000);

  it('hands a rollout without an answer to a person at the time-out, never Failed, and keeps its weight', async () => {
    const r = release('quiet');
    await createAll(sb.kubeConfig, r.objects);
    const c = r.canaryObject({ interval: '5s', threshold: 2, stepWeights: [10, 30, 60] });
    // Never enough requests for an answer: every analysis is inconclusive.
    c.spec.analysis.metrics = [{ name: 'request-success-rate', interval: '10s', thresholdRange: { min: 99 }, minRequests: 1_000_000 }];
    await createAll(sb.kubeConfig, [c]);

    const waiting = await waitForCanary(sb, r.name, (x) => x.status?.phase === 'Waiting' || ended(x), 120_000);
    expect(waiting.status?.phase).toBe('Waiting');
    expect(waiting.status?.message).toMatch(/^Waiting for a decision at weight 10: request-success-rate .*4\/4 inconclusive \(onInconclusiveLimit: pause\)/);
    expect(await routeWeights(sb, r.route)).toEqual({ [r.stable]: 90, [r.canary]: 10 });
    const events = await canaryEvents(sb, r.name);
    expect(count(events, 'AwaitingDecision')).toBeGreaterThanOrEqual(1);
    expect(count(events, 'RollbackStarted')).toBe(0);
  }, 180_000);
});
