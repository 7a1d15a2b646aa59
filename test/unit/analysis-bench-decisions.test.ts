import { CELLS, END_MARKER, formatMarkdown, MODES, poisson, replaceSection, rng, runDecisionBench, START_MARKER } from '../../src/bench/decisions.js';

describe('decision benchmark', () => {
  it('runs every cell and mode and reports outcomes that add up', () => {
    const report = runDecisionBench({ runs: 20, seed: 3 });
    expect(report.results).toHaveLength(CELLS.length * MODES.length);
    for (const r of report.results) {
      expect(r.runs).toBe(20);
      expect(r.promoted + r.rolledBack + r.timedOut + r.unfinished).toBe(20);
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
