import { advanceWindowMs, DEFAULT_CONFIG, validateConfig } from './config.js';

describe('events.advanceWindow', () => {
  it('defaults to 60s; 0s (or 0) turns folding off', () => {
    expect(advanceWindowMs(DEFAULT_CONFIG.events.advanceWindow)).toBe(60_000);
    expect(['0s', '0', '0ms'].map(advanceWindowMs)).toEqual([0, 0, 0]);
    expect(advanceWindowMs('1m30s')).toBe(90_000);
  });

  it('reports a value that is not a duration, or longer than 10m, under its path', () => {
    const problems = (v: string) => validateConfig({ ...structuredClone(DEFAULT_CONFIG), events: { advanceWindow: v } });
    expect(problems('soon')).toEqual([{ path: 'events.advanceWindow', message: expect.stringMatching(/^"soon" is not a duration \(use e\.g\. 60s/) }]);
    expect(problems('11m')).toEqual([{ path: 'events.advanceWindow', message: '"11m" is longer than 10m' }]);
    expect(problems('30s')).toEqual([]);
  });
});
