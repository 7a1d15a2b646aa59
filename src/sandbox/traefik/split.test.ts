import { measureSteps, type SplitSample } from './split.js';

/** One sample per second; Traefik reports each generation one second after the change. */
function walk(weights: number[], secondsPerStep: number, realShare: (w: number) => number): SplitSample[] {
  const out: SplitSample[] = [];
  let stable = 0;
  let canary = 0;
  let t = 0;
  weights.forEach((w, gen) => {
    for (let s = 0; s < secondsPerStep; s++, t += 1000) {
      out.push({ t, generation: gen + 1, observed: s >= 1, stableWeight: 100 - w, canaryWeight: w, stableCount: stable, canaryCount: canary });
      const share = realShare(w);
      canary += 100 * share;
      stable += 100 * (1 - share);
    }
  });
  return out;
}

describe('measureSteps', () => {
  it('measures each weight from the counters after Traefik reported it and settled', () => {
    const steps = measureSteps(walk([10, 25, 50], 8, (w) => w / 100));
    expect(steps.map((s) => s.canaryWeight)).toEqual([10, 25, 50]);
    for (const s of steps) expect(s.canaryPercent).toBeCloseTo(s.canaryWeight, 6);
    // observed at 1 s, settled at 4 s, last sample at 7 s: 3 s of 100 requests.
    expect(steps[0]).toMatchObject({ requests: 300, windowMs: 3000 });
  });

  it('reports the split Traefik applied, not the weight asked for', () => {
    const steps = measureSteps(walk([10, 50], 8, () => 0.3));
    expect(steps.map((s) => Math.round(s.canaryPercent))).toEqual([30, 30]);
  });

  it('leaves out a step Traefik never reported or that was too short to measure', () => {
    const samples = walk([10, 25], 8, (w) => w / 100).map((s) => (s.canaryWeight === 25 ? { ...s, observed: false } : s));
    expect(measureSteps(samples).map((s) => s.canaryWeight)).toEqual([10]);
    expect(measureSteps(walk([10], 4, () => 0.1))).toEqual([]);
  });
});
