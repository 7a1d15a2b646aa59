import {
  formatAge,
  formatNumber,
  makeStyle,
  metricLine,
  renderList,
  renderStatus,
  renderWatchFrame,
  statusView,
  table,
  useColor,
  visibleWidth,
  watchLine,
  weightBar,
} from './render.js';
import { canary, event, iso, progressing, T0 } from './testing.js';

const plain = makeStyle(false);
const ESC = '\x1b[';

describe('weightBar', () => {
  it('draws the stable share in full cells and the canary share in light cells', () => {
    expect(weightBar(20)).toBe('stable ████████░░ 80 | canary 20');
    expect(weightBar(0)).toBe('stable ██████████ 100 | canary 0');
    expect(weightBar(100)).toBe('stable ░░░░░░░░░░ 0 | canary 100');
    expect(weightBar(50, plain, 4)).toBe('stable ██░░ 50 | canary 50');
  });

  it('shows a small canary share as at least one cell, and a nearly full one leaves stable a cell', () => {
    expect(weightBar(1)).toBe('stable █████████░ 99 | canary 1');
    expect(weightBar(99)).toBe('stable █░░░░░░░░░ 1 | canary 99');
  });

  it('treats a missing weight as 0 and clamps out-of-range values', () => {
    expect(weightBar(undefined)).toContain('100 | canary 0');
    expect(weightBar(140)).toContain('0 | canary 100');
  });

  it('colours only when asked', () => {
    expect(weightBar(20, makeStyle(true))).toContain(ESC);
    expect(weightBar(20, plain)).not.toContain(ESC);
  });
});

describe('small formatters', () => {
  it('formatNumber keeps four significant digits below 1000', () => {
    expect(formatNumber(99.8734)).toBe('99.87');
    expect(formatNumber(0.0012346)).toBe('0.001235');
    expect(formatNumber(612.4)).toBe('612.4');
    expect(formatNumber(1234.56)).toBe('1235');
    expect(formatNumber(42)).toBe('42');
    expect(formatNumber(NaN)).toBe('NaN');
  });

  it('formatAge follows kubectl', () => {
    expect(formatAge(45_000)).toBe('45s');
    expect(formatAge(250_000)).toBe('4m10s');
    expect(formatAge(25 * 60_000)).toBe('25m');
    expect(formatAge((3 * 60 + 5) * 60_000)).toBe('3h5m');
    expect(formatAge(20 * 3_600_000)).toBe('20h');
    expect(formatAge((2 * 24 + 4) * 3_600_000)).toBe('2d4h');
    expect(formatAge(12 * 86_400_000)).toBe('12d');
    expect(formatAge(-5)).toBe('0s');
  });

  it('table pads columns by visible width, ignoring colour codes', () => {
    const red = makeStyle(true).red;
    const out = table([
      ['A', 'B', 'C'],
      [red('long-cell'), 'x', 'y'],
    ]).split('\n');
    expect(out[0]).toBe('A           B   C');
    expect(visibleWidth(out[1] ?? '')).toBe('long-cell   x   y'.length);
  });

  it('useColor needs a TTY and no NO_COLOR', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({}, {})).toBe(false);
  });
});

describe('metric lines', () => {
  it('shows value, threshold and verdict, with the reason when it did not pass', () => {
    expect(metricLine({ name: 'success', value: 99.8734, threshold: '>= 99', verdict: 'pass', message: 'fine', time: iso(0) }, plain)).toBe(
      '✔ pass  success 99.87 (>= 99)',
    );
    expect(metricLine({ name: 'latency', value: 612.4, threshold: '<= 500', verdict: 'fail', message: 'above 500', time: iso(0) }, plain)).toBe(
      '✘ fail  latency 612.4 (<= 500) - above 500',
    );
    expect(metricLine({ name: 'errors', threshold: '<= 1', verdict: 'inconclusive', message: 'no data', time: iso(0) }, plain)).toBe(
      '? inconclusive  errors - (<= 1) - no data',
    );
  });

  it('shows the stable value beside the canary value for relative checks', () => {
    const line = metricLine(
      { name: 'err-diff', value: 1.5, stableValue: 0.25, threshold: 'canary - stable <= 0.5', verdict: 'fail', message: 'diff 1.25', time: iso(0) },
      plain,
    );
    expect(line).toBe('✘ fail  err-diff 1.5 (stable 0.25) (canary - stable <= 0.5) - diff 1.25');
  });
});

describe('statusView', () => {
  it('derives weights, the step and the checks from status and spec', () => {
    const v = statusView(progressing());
    expect(v.weights).toEqual({ stable: 80, canary: 20 });
    expect(v.step).toEqual({ current: 2, total: 5, weights: [10, 20, 40, 60, 80] });
    expect(v.failedChecks).toBe(1);
    expect(v.threshold).toBe(5);
    expect(v.pendingRevision).toBeUndefined();
    expect(v.services).toEqual({ stable: 'podinfo-v1:9898', canary: 'podinfo-v2:9898' });
  });

  it('notices a revision the controller has not started', () => {
    const c = progressing();
    c.metadata.annotations = { 'routeshift.io/retry': 'again' };
    const v = statusView(c);
    expect(v.pendingRevision).toMatch(/^[0-9a-f]{10}$/);
    expect(v.pendingRevision).not.toBe(v.revision);
  });

  it('handles a Canary without status', () => {
    const v = statusView(canary());
    expect(v.phase).toBeUndefined();
    expect(v.step.current).toBe(0);
    expect(v.weights).toEqual({ stable: 100, canary: 0 });
  });
});

describe('renderStatus', () => {
  const events = [
    event('e1', 'RolloutStarted', 'Rollout started', -600_000),
    event('e2', 'CheckFailed', 'latency-p99 612.4 above 500', -30_000, { type: 'Warning', count: 3 }),
  ];
  const text = renderStatus(statusView(progressing(), events), T0, plain);

  it('shows phase, weights, step, checks and revision', () => {
    expect(text).toMatch(/^Canary: +shop\/podinfo$/m);
    expect(text).toMatch(/^Phase: +Progressing$/m);
    expect(text).toMatch(/^Weights: +stable ████████░░ 80 \| canary 20$/m);
    expect(text).toMatch(/^Step: +2\/5 +\(steps 10, 20, 40, 60, 80, then 100\)$/m);
    expect(text).toMatch(/^Failed checks: +1\/5 /m);
    expect(text).toMatch(/^Started: +2026-01-01T11:50:00.000Z \(10m ago\)$/m);
  });

  it('names an A/B test by its iterations, not by weight steps of 0', () => {
    const c = progressing();
    c.spec.analysis = { ...c.spec.analysis, stepWeights: undefined, stepWeight: undefined, maxWeight: undefined, iterations: 3, matchRule: 'testers' };
    c.status = { ...c.status, stepIndex: 1, canaryWeight: 0 };
    expect(renderStatus(statusView(c, []), T0, plain)).toMatch(/^Step: +2\/3 +\(3 A\/B iterations then 100\)$/m);
  });

  it('lists each metric against its threshold with its verdict', () => {
    expect(text).toMatch(/^ {2}request-success-rate +99\.87 +>= 99 +✔ pass$/m);
    expect(text).toMatch(/^ {2}latency-p99 +612\.4 +<= 500 +✘ fail +612\.4 above 500$/m);
  });

  it('lists conditions and events, repeats counted', () => {
    expect(text).toMatch(/^ {2}Ready +True +Progressing +10m +Rollout started$/m);
    expect(text).toMatch(/^ {2}30s \(x3\) +Warning +CheckFailed +latency-p99 612\.4 above 500$/m);
    expect(text.indexOf('RolloutStarted')).toBeLessThan(text.indexOf('CheckFailed'));
  });

  it('shows the sequential evidence per metric: counts, shares, estimate, bound, ln E and verdict', () => {
    const c = progressing();
    c.status = {
      ...c.status,
      evidence: [
        { name: 'sr', canaryTotal: 180, canaryBad: 5, stableTotal: 18_720, stableBad: 19, estimate: 2.676, bound: 5.12, logLR: 3.456, verdict: 'unknown', baseline: { window: '1h', time: 'x', total: 18_000, bad: 18 } },
      ],
    };
    const t = renderStatus(statusView(c), T0, plain);
    expect(t).toMatch(/^Evidence \(sequential, since the rollout started\):\n {2}METRIC +CANARY BAD +STABLE BAD +CANARY - STABLE +UPPER BOUND +LN E \(WORSE\) +VERDICT$/m);
    expect(t).toMatch(/^ {2}sr +5\/180 \(2\.8%\) +19\/18720 \(0\.1%\), 18000 from the 1h before +\+2\.7pp +<= \+5\.1pp +3\.46 +unknown$/m);
    expect(text).not.toContain('Evidence');
  });

  it('says when there is nothing yet', () => {
    const empty = renderStatus(statusView(canary()), T0, plain);
    expect(empty).toMatch(/^Phase: +\(not started\)$/m);
    expect(empty).toContain('(no analysis yet)');
    expect(empty).toMatch(/Events:\n {2}\(none\)/);
  });

  it('flags a suspended canary and has no colour codes when plain', () => {
    const c = progressing();
    c.spec.suspend = true;
    const t = renderStatus(statusView(c), T0, plain);
    expect(t).toContain('(suspended: spec.suspend=true)');
    expect(t).not.toContain(ESC);
    expect(renderStatus(statusView(c), T0, makeStyle(true))).toContain(ESC);
  });
});

describe('renderList', () => {
  it('shows namespace, name, phase, weight, failed/threshold and age, sorted', () => {
    const text = renderList([progressing('web', 'b'), canary('api', 'a')], T0, plain);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE +NAME +PHASE +WEIGHT +FAILED +AGE$/);
    expect(lines[1]).toMatch(/^a +api +\(not started\) +- +0\/5 +60m$/);
    expect(lines[2]).toMatch(/^b +web +Progressing +20 +1\/5 +60m$/);
  });
});

describe('watch rendering', () => {
  it('one log line per state, with the metrics and the message', () => {
    expect(watchLine(statusView(progressing()))).toBe(
      'shop/podinfo phase=Progressing stable=80 canary=20 step=2/5 failed=1/5 ' +
        'metrics: request-success-rate=99.87 pass, latency-p99=612.4 fail - Advanced canary weight 10 -> 20: all checks passed',
    );
  });

  it('the live frame has the bar, the metrics and the latest events', () => {
    const evs = Array.from({ length: 12 }, (_, i) => event(`e${i}`, 'AnalysisHeld', `held ${i}`, -120_000 + i * 1000));
    const frame = renderWatchFrame(statusView(progressing()), evs, T0, plain, 8);
    expect(frame).toContain('stable ████████░░ 80 | canary 20');
    expect(frame).toContain('✘ fail  latency-p99 612.4 (<= 500)');
    expect(frame).toContain('held 11');
    expect(frame).toContain('held 4');
    expect(frame).not.toContain('held 3');
  });
});
