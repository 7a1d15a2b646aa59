import { describe, expect, it } from '@jest/globals';
import { goFloat, goValue } from './go-format.js';

describe('Go %+v formatting', () => {
  it('prints floats as Go does', () => {
    expect([0, 1, 3, 123456, 2000000, 1234567, 12.5, 0.0001, 0.00001, -2].map(goFloat)).toEqual(['0', '1', '3', '123456', '2e+06', '1.234567e+06', '12.5', '0.0001', '1e-05', '-2']);
  });

  it('prints maps with sorted keys, slices, nil and strings unquoted', () => {
    expect(goValue({ metadata: { labels: { team: null } }, bogus: 1, data: { a: '2' }, list: ['x', true] })).toBe('map[bogus:1 data:map[a:2] list:[x true] metadata:map[labels:map[team:<nil>]]]');
  });
});
