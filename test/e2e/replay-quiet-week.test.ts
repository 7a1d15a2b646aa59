import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { ReplayResult } from '../../src/replay/types.js';
import { quietWeek } from '../../src/sandbox/history.js';
import { runCli } from '../support/cli-process.js';
import { historyEnd, replayCanaryYaml, startHistoryPrometheus, type HistoryPrometheus } from '../support/history-prometheus.js';

/**
 * A week of quiet, noisy traffic (src/sandbox/history.ts quietWeek: a daily cycle, Poisson counts, 0.1% errors,
 * p99 near 250 ms). Judging the stable against itself with the documented example Canary (docs/configuration.md:
 * success >= 99, p99 <= 500 ms, threshold 5, steps 10, 25, 50, 75) must raise no alarm; the same week at a
 * threshold inside the noise must raise some, or the first check proves nothing.
 */

/** The Canary of docs/configuration.md, on the `app` templates. */
const documented = (minSuccess = 99): string => replayCanaryYaml({ minSuccess, maxLatencyMs: 500, threshold: 5, steps: [10, 25, 50, 75] });

jest.setTimeout(300_000);

const END = historyEnd();
const history = quietWeek(END);
const iso = (t: number): string => new Date(t).toISOString();

let prom: HistoryPrometheus;

beforeAll(async () => {
  prom = await startHistoryPrometheus(history);
});

afterAll(async () => {
  await prom?.stop();
});

async function replayWeek(canaryYaml: string, name: string): Promise<ReplayResult> {
  const file = prom.file(name, canaryYaml);
  const r = await runCli(['replay', '-f', file, '--from', iso(history.start), '--to', iso(END), '--prometheus', prom.url, '--stable-only', '-o', 'json'], {
    timeoutMs: 120_000,
  });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ReplayResult;
}

describe('routeshift replay --stable-only over a quiet week', () => {
  it('reports no false alarms at the Canary thresholds', async () => {
    const week = await replayWeek(documented(), 'canary.yaml');
    expect(week.stableOnly).toBe(true);
    expect(week.summary.intervals).toBe(7 * 24 * 60 + 1);
    // Every interval but a rollout's first is judged on values that exist.
    expect(week.summary.analysed).toBeGreaterThan(8000);
    const judged = week.steps.flatMap((s) => s.reports).filter((q) => q.value !== undefined);
    expect(judged.length).toBe(2 * week.summary.analysed);
    // The noise is there: the stable's success rate moves between intervals.
    const success = new Set(week.steps.flatMap((s) => s.reports).filter((q) => q.name === 'request-success-rate').map((q) => q.value));
    expect(success.size).toBeGreaterThan(50);
    // Listed with their messages, so a failure says which check fired when.
    expect(week.steps.filter((s) => s.decision.action === 'rollback').map((s) => `${s.time} ${s.decision.message}`)).toEqual([]);
    expect(week.summary.rollbacks).toBe(0);
  });

  it('does raise alarms on the same week at a threshold inside the noise', async () => {
    const tight = await replayWeek(documented(99.95), 'tight.yaml');
    expect(tight.summary.rollbacks).toBeGreaterThan(10);
    expect(tight.rollouts.find((r) => r.outcome === 'rolled-back')?.reason).toBe('ThresholdReached');
  });
});
