import type { AnalysisSpec } from '../api/canary.js';
import { validateDecisionSettings } from './validate.js';

const base: AnalysisSpec = { interval: '1m', threshold: 5, stepWeight: 10, maxWeight: 50 };

describe('validateDecisionSettings', () => {
  it.each([
    ['a plain spec', {}, []],
    ['a sequential metric with its settings', { metrics: [{ name: 'sr', mode: 'sequential' as const, sequential: { tolerance: 0.5, falseRollback: 0.05 } }] }, []],
    ['threshold 0', { threshold: 0 }, ['spec.analysis.threshold']],
    ['inconclusiveLimit 0', { inconclusiveLimit: 0 }, ['spec.analysis.inconclusiveLimit']],
    ['onInconclusiveLimit pause', { onInconclusiveLimit: 'pause' as const }, []],
    ['onInconclusiveLimit not rollback or pause', { onInconclusiveLimit: 'wait' }, ['spec.analysis.onInconclusiveLimit']],
    ['a bad progressDeadline', { progressDeadline: 'ten minutes' }, ['spec.analysis.progressDeadline']],
    ['step problems come along', { stepWeight: 10, stepWeights: [10] }, ['spec.analysis', 'spec.analysis.maxWeight']],
    ['duplicate metric names', { metrics: [{ name: 'a', thresholdRange: { min: 1 } }, { name: 'a', thresholdRange: { min: 1 } }] }, ['spec.analysis.metrics[1].name']],
    ['min above max', { metrics: [{ name: 'a', thresholdRange: { min: 2, max: 1 }, relative: { compare: 'ratio' as const, min: 3, max: 1 } }] }, ['spec.analysis.metrics[0].thresholdRange', 'spec.analysis.metrics[0].relative']],
    ['errorsBeforeFailure 0', { metrics: [{ name: 'a', thresholdRange: { min: 1 }, errorsBeforeFailure: 0 }] }, ['spec.analysis.metrics[0].errorsBeforeFailure']],
    [
      'threshold settings on a sequential metric',
      { metrics: [{ name: 'a', mode: 'sequential' as const, thresholdRange: { min: 99 }, minRequests: 10 }] },
      ['spec.analysis.metrics[0].thresholdRange', 'spec.analysis.metrics[0].minRequests'],
    ],
    [
      'sequential settings out of range',
      { metrics: [{ name: 'a', mode: 'sequential' as const, sequential: { tolerance: 0, falseRollback: 0.7, badPromotion: 0, catastrophicErrorRate: 0 } }] },
      [
        'spec.analysis.metrics[0].sequential.tolerance',
        'spec.analysis.metrics[0].sequential.falseRollback',
        'spec.analysis.metrics[0].sequential.badPromotion',
        'spec.analysis.metrics[0].sequential.catastrophicErrorRate',
      ],
    ],
    ['a stable baseline of an hour', { metrics: [{ name: 'a', mode: 'sequential' as const, sequential: { stableBaseline: '1h' } }] }, []],
    ...['0s', '500ms', '25h', 'an hour'].map((w) => [
      `a stable baseline of ${w}`,
      { metrics: [{ name: 'a', mode: 'sequential' as const, sequential: { stableBaseline: w } }] },
      ['spec.analysis.metrics[0].sequential.stableBaseline'],
    ] as [string, Partial<AnalysisSpec>, string[]]),
    ['sequential settings on a threshold metric', { metrics: [{ name: 'a', thresholdRange: { min: 1 }, sequential: { tolerance: 1 } }] }, ['spec.analysis.metrics[0].sequential']],
  ])('%s', (_n, over, paths) => {
    const problems = validateDecisionSettings({ ...base, ...over } as AnalysisSpec);
    expect(problems.map((p) => p.path)).toEqual(paths);
    for (const p of problems) expect(p.message.length).toBeGreaterThan(10);
  });
});
