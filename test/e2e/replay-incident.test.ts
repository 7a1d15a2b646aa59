import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { chromium } from 'playwright-core';
import type { ReplayResult } from '../../src/replay/types.js';
import { runCli } from '../support/cli-process.js';
import { historyEnd, replayCanaryYaml, startHistoryPrometheus, type HistoryPrometheus } from '../support/history-prometheus.js';

/**
 * Six hours of exact traffic (no noise, a sample every 15 s): stable and canary at 10 requests/s, p99 250 ms.
 * At INCIDENT the canary starts failing 10% of its requests. The replay must hold at the first interval whose
 * window holds the failures and roll back at the next (threshold 2), at 90% success.
 */

jest.setTimeout(180_000);

const MIN = 60_000;
const END = historyEnd();
const START = END - 6 * 3_600_000;
const INCIDENT = START + 3 * 3_600_000;
const iso = (t: number): string => new Date(t).toISOString();

let prom: HistoryPrometheus;
let canaryFile: string;

beforeAll(async () => {
  prom = await startHistoryPrometheus({
    start: START,
    end: END,
    sampleEveryMs: 15_000,
    services: [
      { namespace: 'shop', service: 'web-stable', rps: 10, errorShare: () => 0 },
      // A sample's counts are the requests since the previous sample: those after INCIDENT fail at 10%.
      { namespace: 'shop', service: 'web-canary', rps: 10, errorShare: (t) => (t > INCIDENT ? 0.1 : 0) },
    ],
    // What routeshift recorded: the canary held 25% from 20 minutes before the incident, 0 once it was rolled back.
    gauges: [
      {
        name: 'routeshift_canary_weight',
        labels: { namespace: 'shop', name: 'web' },
        valueAt: (t) => (t >= INCIDENT - 20 * MIN && t < INCIDENT + 30 * MIN ? 25 : 0),
      },
    ],
  });
  canaryFile = prom.file('canary.yaml', replayCanaryYaml());
});

afterAll(async () => {
  await prom?.stop();
});

const replayArgs = (from: number, to: number, ...more: string[]): string[] => [
  'replay', '-f', canaryFile, '--from', iso(from), '--to', iso(to), '--prometheus', prom.url, ...more,
];

describe('routeshift replay of a known incident', () => {
  let result: ReplayResult;
  let report: string;

  beforeAll(async () => {
    report = `${prom.dir}/report.html`;
    const r = await runCli(replayArgs(INCIDENT - 2 * MIN, INCIDENT + 10 * MIN, '-o', 'json', '--report', report));
    expect(r.stderr).toContain('report written');
    expect(r.code).toBe(0);
    result = JSON.parse(r.stdout) as ReplayResult;
  });

  it('advances while the canary is healthy, holds at the first bad interval and rolls back at the next', () => {
    const at = (t: number) => result.steps.find((s) => s.time === iso(t));
    expect(at(INCIDENT - 2 * MIN)?.decision).toMatchObject({ action: 'advance', fromWeight: 0, toWeight: 5 });
    expect(at(INCIDENT - MIN)?.decision).toMatchObject({ action: 'advance', toWeight: 10 });
    // The window ending at INCIDENT holds only requests from before it.
    expect(at(INCIDENT)?.decision).toMatchObject({ action: 'advance', toWeight: 20 });
    const first = at(INCIDENT + MIN);
    expect(first?.decision).toMatchObject({ action: 'hold', reason: 'CheckFailed' });
    expect(first?.failedChecks).toBe(1);
    const rollback = at(INCIDENT + 2 * MIN);
    expect(rollback?.decision).toMatchObject({ action: 'rollback', reason: 'ThresholdReached' });
    expect(rollback?.decision.message).toContain('(2/2 failed checks)');
    expect(rollback?.weight).toBe(20);
    for (const s of [first, rollback]) {
      const success = s?.reports.find((q) => q.name === 'request-success-rate');
      expect(success?.verdict).toBe('fail');
      expect(success?.value).toBeCloseTo(90, 6);
      const latency = s?.reports.find((q) => q.name === 'request-duration');
      expect(latency?.verdict).toBe('pass');
      expect(latency?.value).toBeCloseTo(250, 6);
    }
    expect(result.rollouts[0]).toMatchObject({ index: 1, outcome: 'rolled-back', reason: 'ThresholdReached', end: iso(INCIDENT + 2 * MIN) });
    expect(result.steps.filter((s) => s.decision.action === 'rollback' && Date.parse(s.time) <= INCIDENT)).toHaveLength(0);
  });

  it('gives the same answers step by step with instant queries as with range queries', async () => {
    const r = await runCli(replayArgs(INCIDENT - 2 * MIN, INCIDENT + 10 * MIN, '-o', 'json', '--no-range'));
    expect(r.code).toBe(0);
    const instant = JSON.parse(r.stdout) as ReplayResult;
    expect(instant.reads).toBe('instant');
    expect(result.reads).toBe('range');
    expect(instant.steps).toEqual(result.steps);
  });

  it('prints the rollback in the terminal table', async () => {
    const r = await runCli(replayArgs(INCIDENT - 2 * MIN, INCIDENT + 10 * MIN, '--only', 'rollback'));
    expect(r.code).toBe(0);
    const first = r.stdout.split('\n')[1] ?? '';
    expect(first).toContain(iso(INCIDENT + 2 * MIN));
    expect(first).toContain('rollback (ThresholdReached)');
    expect(first).toMatch(/request-success-rate=90 fail/);
  });

  it('draws a chart per metric in headless Chromium, with no network access', async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`file://${report}`);
      await page.waitForFunction("document.querySelectorAll('canvas').length === 2");
      // Pixels of the value line's blue and of the rollback marker's red, per canvas (browser code as text:
      // the project compiles without the DOM types).
      const colored = (await page.evaluate(`[...document.querySelectorAll('canvas')].map((c) => {
        const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const near = (i, r, g, b) => Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40 && Math.abs(data[i + 2] - b) < 40 && data[i + 3] > 200;
        let blue = 0, red = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (near(i, 0x1f, 0x6f, 0xd1)) blue++;
          if (near(i, 0xd6, 0x27, 0x28)) red++;
        }
        return { blue, red };
      })`)) as Array<{ blue: number; red: number }>;
      expect(colored).toHaveLength(2);
      expect(errors).toEqual([]);
      for (const c of colored) {
        expect(c.blue).toBeGreaterThan(100);
        expect(c.red).toBeGreaterThan(100);
      }
      expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
      expect(await page.textContent('#summary')).toContain('rolled back');
    } finally {
      await browser.close();
    }
  });
});

describe('routeshift replay of a sequential metric', () => {
  it('carries the evidence from interval to interval and rolls back soon after the incident', async () => {
    const file = prom.file(
      'sequential.yaml',
      replayCanaryYaml().replace(/ {6}- name: request-success-rate\n {8}thresholdRange:\n {10}min: 99\n/, '      - name: request-success-rate\n        mode: sequential\n'),
    );
    const r = await runCli(['replay', '-f', file, '--from', iso(INCIDENT - 2 * MIN), '--to', iso(INCIDENT + 10 * MIN), '--prometheus', prom.url, '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as ReplayResult;
    const rollback = result.steps.find((s) => s.decision.action === 'rollback');
    expect(rollback?.decision).toMatchObject({ action: 'rollback', reason: expect.stringMatching(/^(SequentialWorse|Catastrophic)$/) });
    const at = Date.parse(rollback?.time ?? '');
    expect(at).toBeGreaterThan(INCIDENT);
    expect(at).toBeLessThanOrEqual(INCIDENT + 5 * MIN);
    // 600 canary requests a minute, summed over every analysed interval of the rollout so far; 60 bad a minute after the incident.
    const analysedBefore = result.steps.filter((s) => s.rollout === rollback?.rollout && s.reports.length > 0 && Date.parse(s.time) <= at);
    const ev = rollback?.evidence?.find((e) => e.name === 'request-success-rate');
    expect(ev?.canaryTotal).toBe(600 * analysedBefore.length);
    expect(ev?.canaryBad).toBe(60 * ((at - INCIDENT) / MIN));
    expect(ev?.stableBad).toBe(0);
  });
});

describe('routeshift replay --weights recorded', () => {
  it('judges the intervals routeshift recorded a canary share for, at that weight', async () => {
    const r = await runCli(replayArgs(INCIDENT - 60 * MIN, INCIDENT + 60 * MIN, '-o', 'json', '--weights', 'recorded'));
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as ReplayResult;
    expect(result.weights).toBe('recorded');
    // Not analysed at weight 0; the first interval at 25 starts the rollout, the next is the first analysis.
    expect(result.steps[0]?.time).toBe(iso(INCIDENT - 19 * MIN));
    expect(result.steps.every((s) => s.weight === 25)).toBe(true);
    expect(result.steps.slice(0, 19).every((s) => s.decision.action === 'advance')).toBe(true);
    const rollback = result.steps.find((s) => s.decision.action === 'rollback');
    expect(rollback?.time).toBe(iso(INCIDENT + 2 * MIN));
    expect(rollback?.reports.find((q) => q.name === 'request-success-rate')?.value).toBeCloseTo(90, 6);
    expect(Date.parse(result.steps[result.steps.length - 1]?.time ?? '')).toBeLessThan(INCIDENT + 30 * MIN);
  });
});

describe('routeshift replay refuses to make up a verdict', () => {
  it('exits non-zero on a window with no data', async () => {
    const r = await runCli(replayArgs(START - 3 * 86_400_000, START - 2 * 86_400_000));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no data between .* for metrics request-success-rate, request-duration/);
    expect(r.stdout).toBe('');
  });

  it('exits non-zero when Prometheus cannot be reached', async () => {
    const r = await runCli(['replay', '-f', canaryFile, '--from', iso(INCIDENT), '--to', iso(INCIDENT + 10 * MIN), '--prometheus', 'http://127.0.0.1:9']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/cannot replay: cannot reach Prometheus at http:\/\/127\.0\.0\.1:9/);
    expect(r.stdout).toBe('');
  });

  it('exits non-zero on a Canary that fails validation', async () => {
    const bad = prom.file('bad.yaml', replayCanaryYaml().replace('stepWeights: [5, 10, 20, 30, 50]', 'stepWeights: [50, 10]'));
    const r = await runCli(['replay', '-f', bad, '--from', iso(INCIDENT), '--to', iso(INCIDENT + 10 * MIN), '--prometheus', prom.url]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is invalid; nothing replayed');
    expect(r.stderr).toContain('spec.analysis.stepWeights');
    expect(r.stdout).toBe('');
  });
});
