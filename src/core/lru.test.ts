import { LruMap } from './lru.js';

describe('LruMap', () => {
  it('drops the least recently used entry when full; a hit counts as a use', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    expect(m.get('a')).toBe(1); // a is now the most recent
    m.set('c', 3); // b goes
    expect(m.get('b')).toBeUndefined();
    expect(m.get('a')).toBe(1);
    expect(m.get('c')).toBe(3);
  });

  it('computes a value once and remembers it; replacing a key does not evict another', () => {
    const m = new LruMap<string, number>(2);
    let calls = 0;
    expect(m.getOrSet('x', () => ++calls)).toBe(1);
    expect(m.getOrSet('x', () => ++calls)).toBe(1);
    expect(calls).toBe(1);
    m.set('y', 2);
    m.set('y', 3);
    expect(m.get('x')).toBe(1);
    expect(m.get('y')).toBe(3);
  });
});
