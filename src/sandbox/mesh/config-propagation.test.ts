import { jest } from '@jest/globals';
import { ConfigPropagation } from './config-propagation.js';
import type { MeshSnapshot } from './mesh-config.js';

const snap = (n: number): MeshSnapshot => ({ services: [], routes: [], endpointSlices: [], deployments: Array.from({ length: n }, () => ({ metadata: { name: 'x' } })) });

describe('ConfigPropagation', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('applies each change delayMs after it happened, in order, with the state captured then', () => {
    let state = 1;
    const applied: number[] = [];
    const p = new ConfigPropagation(() => snap(state), (s) => applied.push(s.deployments.length), 300);
    p.changed();
    p.changed(); // same turn: one snapshot
    jest.advanceTimersByTime(0);
    state = 2;
    jest.advanceTimersByTime(100);
    p.changed();
    jest.advanceTimersByTime(199);
    expect(applied).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(applied).toEqual([1]);
    jest.advanceTimersByTime(99);
    expect(applied).toEqual([1]);
    jest.advanceTimersByTime(1);
    expect(applied).toEqual([1, 2]);
    p.stop();
  });

  it('applies at once with no delay, and nothing after stop', () => {
    const applied: number[] = [];
    const p = new ConfigPropagation(() => snap(3), (s) => applied.push(s.deployments.length), 0);
    p.changed();
    jest.advanceTimersByTime(0);
    expect(applied).toEqual([3]);
    const q = new ConfigPropagation(() => snap(4), (s) => applied.push(s.deployments.length), 50);
    q.changed();
    jest.advanceTimersByTime(0);
    q.stop();
    jest.advanceTimersByTime(100);
    expect(applied).toEqual([3]);
  });
});
