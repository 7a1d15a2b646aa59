import type { Canary } from '../api/canary.js';
import { ValidationCache } from './analysis.js';
import { TemplateSet } from '../metrics/templates.js';

function canary(interval: string, name = 'c'): Canary {
  return {
    apiVersion: 'routeshift.io/v1alpha1',
    kind: 'Canary',
    metadata: { name, namespace: 'ns' },
    spec: { analysis: { interval } },
  } as unknown as Canary;
}

describe('ValidationCache', () => {
  it('computes once per spec and templates revision', () => {
    const cache = new ValidationCache();
    let calls = 0;
    const compute = () => {
      calls++;
      return [{ path: 'spec.x', message: `call ${calls}` }];
    };
    expect(cache.get(canary('10s'), 0, compute)).toEqual([{ path: 'spec.x', message: 'call 1' }]);
    expect(cache.get(canary('10s'), 0, compute)).toEqual([{ path: 'spec.x', message: 'call 1' }]);
    expect(calls).toBe(1);
    cache.get(canary('20s'), 0, compute);
    expect(calls).toBe(2);
    cache.get(canary('10s'), 1, compute);
    expect(calls).toBe(3);
    cache.get(canary('10s', 'other'), 1, compute);
    expect(calls).toBe(4);
  });

  it('hands out copies, so a caller cannot change what it holds', () => {
    const cache = new ValidationCache();
    const a = cache.get(canary('10s'), 0, () => [{ path: 'p', message: 'm' }]);
    a[0]!.message = 'changed';
    a.push({ path: 'q', message: 'n' });
    expect(cache.get(canary('10s'), 0, () => [])).toEqual([{ path: 'p', message: 'm' }]);
  });

  it('keeps at most its size, dropping the least recently used', () => {
    const cache = new ValidationCache(2);
    let calls = 0;
    const compute = () => (calls++, []);
    cache.get(canary('1s'), 0, compute);
    cache.get(canary('2s'), 0, compute);
    cache.get(canary('1s'), 0, compute); // 1s is now the most recent
    cache.get(canary('3s'), 0, compute); // evicts 2s
    expect(calls).toBe(3);
    cache.get(canary('1s'), 0, compute);
    expect(calls).toBe(3);
    cache.get(canary('2s'), 0, compute);
    expect(calls).toBe(4);
  });
});

describe('TemplateSet.revision', () => {
  it('moves on every add and remove', () => {
    const set = new TemplateSet();
    const r0 = set.revision;
    set.add({ apiVersion: 'routeshift.io/v1alpha1', kind: 'MetricTemplate', metadata: { name: 't', namespace: 'ns' }, spec: { query: 'up' } } as never);
    expect(set.revision).toBeGreaterThan(r0);
    const r1 = set.revision;
    set.remove('t', 'ns');
    expect(set.revision).toBeGreaterThan(r1);
  });
});
