import { mirrorFilters, mirrorShare, routeProblems, ruleProblems } from './route-support.js';
import { backends, route } from './test-fixtures.js';

const mirror = { backendRef: { name: 'backend-v2', port: 80 } };

describe('what the sandbox mesh can program', () => {
  it('accepts header modifiers and mirrors on rules, header modifiers on backendRefs, and valid regexes', () => {
    expect(
      ruleProblems({
        matches: [{ headers: [{ type: 'RegularExpression', name: 'cookie', value: '(.*;\\s*)?canary=always(;.*)?' }], queryParams: [{ name: 'beta', value: '1' }] }],
        filters: [
          { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: '1' }] } },
          { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Set-Cookie', value: 'canary=always' }] } },
          { type: 'RequestMirror', requestMirror: mirror },
          { type: 'RequestMirror', requestMirror: { ...mirror, percent: 10 } },
        ],
        backendRefs: [{ name: 'backend-v1', port: 80, filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { remove: ['x'] } }] }],
      }),
    ).toEqual([]);
  });

  it('names unsupported filters, mirrors on a backendRef, invalid regexes and sessionPersistence', () => {
    const r = route('r', [
      { name: 'rewrite', filters: [{ type: 'URLRewrite' }], backendRefs: backends(['a', 1]) },
      { filters: [{ type: 'ExtensionRef' }], backendRefs: [{ name: 'b', port: 80, filters: [{ type: 'RequestMirror', requestMirror: mirror }] }] },
      { matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: '(?=a)' }] }], sessionPersistence: { sessionName: 's', type: 'Cookie' } },
    ]);
    expect(routeProblems(r)).toEqual([
      'rule "rewrite": filter type "URLRewrite" is not implemented by the sandbox mesh',
      'rule 1: unsupported filter type "ExtensionRef"',
      'rule 1: unsupported filter type "RequestMirror" on backendRef b',
      'rule 2: invalid regular expression "(?=a)" in header match x: lookaround assertions are not supported by RE2',
      'rule 2: sessionPersistence is not implemented by the sandbox mesh',
    ]);
  });

  it('reads the mirrored share from fraction, percent, or 100% when neither is set', () => {
    expect(mirrorShare(mirror)).toBe(1);
    expect(mirrorFilters({ filters: [{ type: 'RequestMirror', requestMirror: {} as typeof mirror }, { type: 'RequestMirror', requestMirror: mirror }] })).toEqual([mirror]);
    expect(mirrorShare({ ...mirror, percent: 25 })).toBe(0.25);
    expect(mirrorShare({ ...mirror, percent: 0 })).toBe(0);
    expect(mirrorShare({ ...mirror, fraction: { numerator: 1, denominator: 3 } })).toBeCloseTo(1 / 3);
    expect(mirrorShare({ ...mirror, fraction: { numerator: 5 } })).toBe(0.05);
    expect(mirrorShare({ ...mirror, fraction: { numerator: 5, denominator: 0 } })).toBe(0);
  });
});
