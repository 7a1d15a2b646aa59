import { CELLS, computeBounds, LOAD_RPS, END_MARKER, formatMarkdown, goalSummary, MODES, poisson, replaceSection, rng, runDecisionBench, START_MARKER } from './decisions.js';

describe('decision benchmark', () => {
  it('runs every cell and mode and reports outcomes that add up', () => {
    const report = runDecisionBench({ runs: 20, seed: 3 });
    expect(report.results).toHaveLength(CELLS.length * MODES.length);
    for (const r of report.results) {
      expect(r.runs).toBe(20);
      expect(r.promoted + r.rolledBack + r.timedOut + r.handedOver + r.unfinished).toBe(20);
      // Only the rollback mode times out into a rollback; the others hand a time-out to a person.
      if (r.mode !== 'sequential-rollback') expect(r.timedOut).toBe(0);
      else expect(r.handedOver).toBe(0);
      expect(r.highestWeight).toBeGreaterThanOrEqual(10);
      if (r.cell.kind === 'bad') expect(r.harm).toBeGreaterThan(0);
      const reasons = Object.values(r.reasons).reduce((s, n) => s + (n ?? 0), 0);
      expect(reasons).toBe(r.rolledBack + r.timedOut);
      if (r.promoted > 0) expect(r.toPromotion?.median).toBeGreaterThanOrEqual(5);
    }
    const table = formatMarkdown(report);
    expect(table.split('\n')).toHaveLength(2 + CELLS.length * MODES.length);
    expect(table).toContain('| bad 50% @ 5 rps | sequential |');
  });

  it('rolls a 50%-error canary back in every mode, the sequential mode within one interval at 5 rps', () => {
    const cells = [{ rps: 5, canarySuccess: 0.5, stableSuccess: 0.999, kind: 'bad' as const }];
    const report = runDecisionBench({ runs: 50, seed: 5, cells });
    for (const r of report.results) {
      expect(r.promoted).toBe(0);
      expect(r.rolledBack).toBe(50);
    }
    const seq = report.results.find((r) => r.mode === 'sequential');
    expect(seq?.toRollback?.p90).toBe(1);
  });

  it('hands the time-out of a quiet good canary to a person by default, and says so in the goals', () => {
    const cells = [{ rps: 0.2, canarySuccess: 0.998, stableSuccess: 0.999, kind: 'good' as const }];
    const modes = MODES.filter((m) => m.id === 'sequential' || m.id === 'sequential-rollback');
    const report = runDecisionBench({ runs: 20, seed: 7, cells, modes });
    const [pause, rollback] = report.results;
    // Almost none can be shown good at 0.2 rps: those are handed to a person, never rolled back by default.
    expect(pause).toMatchObject({ mode: 'sequential', timedOut: 0, rolledBack: 0 });
    expect(pause?.handedOver).toBeGreaterThanOrEqual(18);
    expect((pause?.handedOver ?? 0) + (pause?.promoted ?? 0)).toBe(20);
    expect(rollback).toMatchObject({ mode: 'sequential-rollback', handedOver: 0, rolledBack: 0 });
    expect((rollback?.timedOut ?? 0) + (rollback?.promoted ?? 0)).toBe(20);
    // Each cell's bounds once, though the report lists the cell once per mode.
    const bounds = computeBounds(report.results.map((r) => r.cell));
    expect(bounds.promotion).toHaveLength(1);
    expect(bounds.promotion[0]).toMatchObject({ rps: 0.2, idealClean: 217 });
    const goals = goalSummary(report, bounds).join('\n');
    expect(goals).toMatch(/handed to a person instead \(good 99\.8% @ 0\.2 rps: 9\d\.\d%\)/);
    expect(goals).toContain('any test needs 217 clean canary requests');
  });

  it('the load source promotes a quiet good canary that would be handed to a person, and counts no harm for its own requests', () => {
    const good = { rps: 0.2, canarySuccess: 0.998, stableSuccess: 0.999, kind: 'good' as const };
    const bad = { rps: 0.2, canarySuccess: 0.5, stableSuccess: 0.999, kind: 'bad' as const };
    const modes = MODES.filter((m) => m.id === 'sequential');
    const cells = [good, { ...good, load: LOAD_RPS }, { ...bad, load: LOAD_RPS }];
    const report = runDecisionBench({ runs: 50, seed: 13, cells, modes });
    const [quiet, loaded, loadedBad] = report.results;
    expect(quiet?.handedOver).toBeGreaterThanOrEqual(45);
    expect(loaded).toMatchObject({ handedOver: 0, rolledBack: 0, timedOut: 0, promoted: 50 });
    expect(loadedBad).toMatchObject({ promoted: 0, rolledBack: 50 });
    // Users' requests only: at 0.2 rps and weight 10, about 1.2 requests an interval, half of them bad.
    expect(loadedBad?.harm).toBeLessThan(3);
    expect(computeBounds(cells).promotion.map((b) => b.rps)).toEqual([0.2]);
    const goals = goalSummary(report).join('\n');
    expect(goals).toContain('good 99.8% @ 0.2 rps + load source 5 rps: promoted 100.0%');
    expect(formatMarkdown(report, modes)).toContain('| good 99.8% @ 0.2 rps + load source 5 rps | sequential |');
  });

  it('the baseline mode counts an hour of stable requests once, and rolls the 97% canary at 5 rps back sooner', () => {
    const cell = { rps: 5, canarySuccess: 0.97, stableSuccess: 0.999, kind: 'bad' as const };
    const based = MODES.find((m) => m.id === 'sequential-baseline');
    expect(based?.spec.analysis.metrics?.[0]?.sequential?.stableBaseline).toBe('1h');
    const report = runDecisionBench({ runs: 300, seed: 9, cells: [cell], modes: MODES.filter((m) => m.id === 'sequential' || m.id === 'sequential-baseline') });
    const [plain, withBaseline] = report.results;
    expect(withBaseline?.rolledBack).toBe(300);
    expect(withBaseline?.toRollback?.mean).toBeLessThan(plain?.toRollback?.mean ?? 0);
    const goals = goalSummary(report, computeBounds([cell])).join('\n');
    expect(goals).toMatch(/With `stableBaseline: 1h` \(`sequential-baseline`\): 5 rps (reached|\*\*not reached\*\*) \(median \d/);
  });

  it('holds an 8%-bad canary at 2 rps at weight 30 or below, with no more harm than Flagger\'s rule', () => {
    const cell = { rps: 2, canarySuccess: 0.92, stableSuccess: 0.999, kind: 'bad' as const };
    const modes = MODES.filter((m) => m.id === 'sequential' || m.id === 'flagger');
    const report = runDecisionBench({ runs: 200, seed: 11, cells: [cell], modes });
    const [flagger, seq] = report.results;
    expect(seq?.highestWeight).toBeLessThanOrEqual(30);
    expect(seq?.promoted).toBe(0);
    expect(seq?.harm).toBeLessThanOrEqual(flagger?.harm ?? 0);
    const goals = goalSummary(report).join('\n');
    expect(goals).toMatch(/An 8%-bad canary at 2 rps never past weight 30: reached \(highest weight in 200 rollouts: (10|20|30);/);
  });

  it('replaces its own section and leaves the rest of the document alone', () => {
    const doc = `# Benchmarks\n\nintro\n\n${START_MARKER}\nold table\n${END_MARKER}\n\n## Other\nkept\n`;
    expect(replaceSection(doc, 'new table')).toBe(`# Benchmarks\n\nintro\n\n${START_MARKER}\nnew table\n${END_MARKER}\n\n## Other\nkept\n`);
    expect(replaceSection('# Benchmarks\n', 'x')).toBe(`# Benchmarks\n\n${START_MARKER}\nx\n${END_MARKER}\n`);
  });

  it('draws Poisson counts with the right mean, small and large', () => {
    const rand = rng(42);
    for (const lambda of [0.3, 4, 30, 700]) {
      let sum = 0;
      let sq = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        const k = poisson(lambda, rand);
        sum += k;
        sq += k * k;
      }
      const mean = sum / n;
      const variance = sq / n - mean * mean;
      expect(Math.abs(mean - lambda)).toBeLessThan(5 * Math.sqrt(lambda / n));
      expect(Math.abs(variance / lambda - 1)).toBeLessThan(0.06);
    }
  });
});
