import { ERROR_RATE_ANNOTATION, injectError, LATENCY_ANNOTATION, parseFaults, pickLatency } from './faults.js';
import { seededRandom } from '../mesh/weighted-pick.js';

describe('fault annotations', () => {
  it('reads error-rate and a fixed or ranged latency', () => {
    expect(parseFaults({ [ERROR_RATE_ANNOTATION]: '0.25', [LATENCY_ANNOTATION]: '200' })).toEqual({ errorRate: 0.25, latency: { min: 200, max: 200 }, problems: [] });
    expect(parseFaults({ [LATENCY_ANNOTATION]: '100-300' }).latency).toEqual({ min: 100, max: 300 });
    expect(parseFaults({ [LATENCY_ANNOTATION]: ' 100 - 300 ' }).latency).toEqual({ min: 100, max: 300 });
    expect(parseFaults(undefined)).toEqual({ errorRate: 0, latency: { min: 0, max: 0 }, problems: [] });
  });

  it('ignores values it cannot read and says why', () => {
    const f = parseFaults({ [ERROR_RATE_ANNOTATION]: '1.5', [LATENCY_ANNOTATION]: '300-100' });
    expect(f.errorRate).toBe(0);
    expect(f.latency).toEqual({ min: 0, max: 0 });
    expect(f.problems).toHaveLength(2);
    expect(parseFaults({ [ERROR_RATE_ANNOTATION]: 'half' }).problems[0]).toContain(ERROR_RATE_ANNOTATION);
  });

  it('draws latency uniformly within the range', () => {
    const random = seededRandom(3);
    const draws = Array.from({ length: 2000 }, () => pickLatency({ min: 100, max: 300 }, random));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...draws)).toBeLessThanOrEqual(300);
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    // Uniform(100,300): sd = 200/sqrt(12) ≈ 57.7; the mean of 2000 draws has sd ≈ 1.3.
    expect(Math.abs(mean - 200)).toBeLessThan(5 * (200 / Math.sqrt(12)) / Math.sqrt(2000));
    expect(pickLatency({ min: 0, max: 0 }, random)).toBe(0);
  });

  it('injects errors at the configured share (5-sigma bound) and never at 0', () => {
    const random = seededRandom(9);
    let errors = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (injectError(0.3, random)) errors++;
    expect(Math.abs(errors / n - 0.3)).toBeLessThan(5 * Math.sqrt((0.3 * 0.7) / n));
    expect(Array.from({ length: 1000 }, () => injectError(0, random)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 1000 }, () => injectError(1, random)).every(Boolean)).toBe(true);
  });
});
