import { labelSelectorMatches, serviceSelects } from './selector.js';

describe('selectors', () => {
  it('Service selectors are equality maps; an empty selector selects nothing', () => {
    expect(serviceSelects({ app: 'backend' }, { app: 'backend', version: 'v1' })).toBe(true);
    expect(serviceSelects({ app: 'backend', version: 'v2' }, { app: 'backend', version: 'v1' })).toBe(false);
    expect(serviceSelects({}, { app: 'backend' })).toBe(false);
    expect(serviceSelects(undefined, { app: 'backend' })).toBe(false);
  });

  it('LabelSelector supports matchLabels and every matchExpressions operator', () => {
    const labels = { app: 'backend', version: 'v1' };
    expect(labelSelectorMatches({ matchLabels: { app: 'backend' } }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'version', operator: 'In', values: ['v1', 'v2'] }] }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'version', operator: 'NotIn', values: ['v1'] }] }, labels)).toBe(false);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels)).toBe(true);
    expect(labelSelectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(labelSelectorMatches({}, labels)).toBe(true);
  });
});
