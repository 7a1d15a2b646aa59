import type { SequentialEvidence } from '../api/canary.js';

/** Sequential evidence of metric "sr" with the given counts and no verdict yet (for tests). */
export const evidenceOf = (canaryTotal: number, canaryBad: number, stableTotal: number, stableBad: number): SequentialEvidence => ({
  name: 'sr',
  canaryTotal,
  canaryBad,
  stableTotal,
  stableBad,
  verdict: 'unknown',
});
