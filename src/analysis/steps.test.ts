import { isLastStep, nextStep, stepsOf, validateSteps } from './steps.js';

describe('stepsOf', () => {
  it.each([
    ['stepWeight up to maxWeight', { stepWeight: 10, maxWeight: 50 }, [10, 20, 30, 40, 50]],
    ['a last partial step clamps to maxWeight', { stepWeight: 30, maxWeight: 50 }, [30, 50]],
    ['stepWeight 25, maxWeight 50', { stepWeight: 25, maxWeight: 50 }, [25, 50]],
    ['maxWeight defaults to 50', { stepWeight: 20 }, [20, 40, 50]],
    ['neither form: stepWeight 10 up to 50', {}, [10, 20, 30, 40, 50]],
    ['stepWeight above maxWeight: one step at maxWeight', { stepWeight: 60, maxWeight: 50 }, [50]],
    ['stepWeights as given', { stepWeights: [1, 5, 25, 80] }, [1, 5, 25, 80]],
    ['maxWeight 100 never becomes a step', { stepWeight: 40, maxWeight: 100 }, [40, 80, 99]],
  ])('%s', (_n, analysis, expected) => {
    expect(stepsOf(analysis)).toEqual(expected);
  });

  it('returns a copy of stepWeights', () => {
    const stepWeights = [10, 20];
    stepsOf({ stepWeights }).push(30);
    expect(stepWeights).toEqual([10, 20]);
  });
});

describe('nextStep / isLastStep', () => {
  const steps = [10, 20, 50];
  it.each([
    [-1, { stepIndex: 0, weight: 10 }],
    [0, { stepIndex: 1, weight: 20 }],
    [1, { stepIndex: 2, weight: 50 }],
    [2, undefined],
    [5, undefined],
  ])('after step %p', (i, expected) => {
    expect(nextStep(steps, i)).toEqual(expected);
  });

  it.each([
    [-1, false],
    [1, false],
    [2, true],
    [3, true],
  ])('isLastStep(%p) = %p', (i, expected) => {
    expect(isLastStep(steps, i)).toBe(expected);
  });
});

describe('validateSteps', () => {
  it.each([
    ['stepWeight form', { stepWeight: 10, maxWeight: 50 }, []],
    ['stepWeights form', { stepWeights: [5, 10, 99] }, []],
    ['neither form (defaults)', {}, []],
    ['both forms', { stepWeights: [10], stepWeight: 10 }, [{ path: 'spec.analysis', message: 'set either stepWeights or stepWeight, not both' }]],
    [
      'maxWeight with stepWeights',
      { stepWeights: [10, 20], maxWeight: 50 },
      [{ path: 'spec.analysis.maxWeight', message: 'maxWeight only applies to stepWeight; with stepWeights the last step is the highest weight' }],
    ],
    ['empty stepWeights', { stepWeights: [] }, [{ path: 'spec.analysis.stepWeights', message: 'must list at least one weight' }]],
    [
      '100 is promotion, not a step',
      { stepWeights: [50, 100] },
      [{ path: 'spec.analysis.stepWeights[1]', message: '100 must be a whole number from 1 to 99 (100 is the promotion itself, not a step)' }],
    ],
    [
      '0 and fractions',
      { stepWeights: [0, 2.5, 10] },
      [
        { path: 'spec.analysis.stepWeights[0]', message: '0 must be a whole number from 1 to 99 (100 is the promotion itself, not a step)' },
        { path: 'spec.analysis.stepWeights[1]', message: '2.5 must be a whole number from 1 to 99 (100 is the promotion itself, not a step)' },
      ],
    ],
    [
      'not ascending',
      { stepWeights: [10, 30, 30, 20] },
      [
        { path: 'spec.analysis.stepWeights[2]', message: '30 must be above the previous step 30 (steps ascend)' },
        { path: 'spec.analysis.stepWeights[3]', message: '20 must be above the previous step 30 (steps ascend)' },
      ],
    ],
    [
      'stepWeight and maxWeight out of range',
      { stepWeight: 0, maxWeight: 100 },
      [
        { path: 'spec.analysis.stepWeight', message: '0 must be a whole number from 1 to 99 (100 is the promotion itself, not a step)' },
        { path: 'spec.analysis.maxWeight', message: '100 must be a whole number from 1 to 99 (100 is the promotion itself, not a step)' },
      ],
    ],
  ])('%s', (_n, analysis, expected) => {
    expect(validateSteps(analysis)).toEqual(expected);
  });

  it('uses the given path', () => {
    expect(validateSteps({ stepWeight: 0 }, 'analysis')[0]?.path).toBe('analysis.stepWeight');
  });
});
