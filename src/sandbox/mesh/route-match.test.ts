import type { HTTPRouteMatch } from './kube/types.js';
import { matchApplies, orderCandidates, pathPrefixMatches, selectMatch, type RequestFacts } from './route-match.js';
import { backends, route } from './test-fixtures.js';

function req(path: string, extra: Partial<Omit<RequestFacts, 'path' | 'query'>> & { query?: string } = {}): RequestFacts {
  return { method: extra.method ?? 'GET', path, query: new URLSearchParams(extra.query ?? ''), headers: extra.headers ?? {} };
}

describe('path matching', () => {
  it('matches PathPrefix by whole path elements', () => {
    expect(pathPrefixMatches('/foo', '/foo')).toBe(true);
    expect(pathPrefixMatches('/foo', '/foo/')).toBe(true);
    expect(pathPrefixMatches('/foo', '/foo/bar')).toBe(true);
    expect(pathPrefixMatches('/foo', '/foobar')).toBe(false);
    expect(pathPrefixMatches('/foo/', '/foo/bar')).toBe(true);
    expect(pathPrefixMatches('/foo/', '/foo')).toBe(true);
    expect(pathPrefixMatches('/', '/anything')).toBe(true);
  });

  it('matches Exact, RegularExpression (full match), method, headers and query params', () => {
    expect(matchApplies({ path: { type: 'Exact', value: '/a' } }, req('/a'))).toBe(true);
    expect(matchApplies({ path: { type: 'Exact', value: '/a' } }, req('/a/'))).toBe(false);
    expect(matchApplies({ path: { type: 'RegularExpression', value: '/v[0-9]+' } }, req('/v12'))).toBe(true);
    expect(matchApplies({ path: { type: 'RegularExpression', value: '/v[0-9]+' } }, req('/v12/x'))).toBe(false);
    expect(matchApplies({ path: { type: 'RegularExpression', value: '([' } }, req('/x'))).toBe(false);
    const m: HTTPRouteMatch = {
      method: 'POST',
      headers: [{ name: 'X-Canary', value: 'true' }, { type: 'RegularExpression', name: 'user', value: 'a.*' }],
      queryParams: [{ name: 'beta', value: '1' }],
    };
    expect(matchApplies(m, req('/', { method: 'POST', headers: { 'x-canary': 'true', user: 'alice' }, query: 'beta=1' }))).toBe(true);
    expect(matchApplies(m, req('/', { method: 'GET', headers: { 'x-canary': 'true', user: 'alice' }, query: 'beta=1' }))).toBe(false);
    expect(matchApplies(m, req('/', { method: 'POST', headers: { 'x-canary': 'false', user: 'alice' }, query: 'beta=1' }))).toBe(false);
    expect(matchApplies(m, req('/', { method: 'POST', headers: { 'x-canary': 'true', user: 'bob' }, query: 'beta=1' }))).toBe(false);
    expect(matchApplies(m, req('/', { method: 'POST', headers: { 'x-canary': 'true', user: 'alice' } }))).toBe(false);
  });
});

describe('header and query matches', () => {
  it('matches a cookie with a RegularExpression match on the Cookie header', () => {
    const m: HTTPRouteMatch = { headers: [{ type: 'RegularExpression', name: 'Cookie', value: '(.*;\\s*)?canary=always(;.*)?' }] };
    expect(matchApplies(m, req('/', { headers: { cookie: 'a=1; canary=always' } }))).toBe(true);
    expect(matchApplies(m, req('/', { headers: { cookie: 'a=1; canary=sometimes' } }))).toBe(false);
    expect(matchApplies(m, req('/'))).toBe(false);
  });

  it('considers only the first entry of a repeated header name (case-insensitive) or query name, and the first query value', () => {
    const h: HTTPRouteMatch = { headers: [{ name: 'X-Env', value: 'a' }, { name: 'x-env', value: 'b' }] };
    expect(matchApplies(h, req('/', { headers: { 'x-env': 'a' } }))).toBe(true);
    const q: HTTPRouteMatch = { queryParams: [{ name: 'v', value: '1' }, { name: 'v', value: '2' }, { name: 'V', type: 'RegularExpression', value: 'x.*' }] };
    expect(matchApplies(q, req('/', { query: 'v=1&v=2&V=xyz' }))).toBe(true);
    expect(matchApplies(q, req('/', { query: 'v=2&v=1&V=xyz' }))).toBe(false);
    expect(matchApplies(q, req('/', { query: 'v=1&V=yx' }))).toBe(false);
  });
});

describe('rule precedence', () => {
  const r = route('r', [
    { name: 'catch-all', backendRefs: backends(['all', 1]) },
    { name: 'prefix-api', matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: backends(['api', 1]) },
    { name: 'prefix-api-v1', matches: [{ path: { type: 'PathPrefix', value: '/api/v1' } }], backendRefs: backends(['api-v1', 1]) },
    { name: 'exact', matches: [{ path: { type: 'Exact', value: '/api/v1/health' } }], backendRefs: backends(['health', 1]) },
    { name: 'header', matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'x-canary', value: 'yes' }] }], backendRefs: backends(['canary', 1]) },
    { name: 'method', matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'DELETE' }], backendRefs: backends(['deleter', 1]) },
  ]);
  const ordered = orderCandidates([r]);
  const pick = (path: string, extra: Parameters<typeof req>[1] = {}): string | undefined => selectMatch(ordered, req(path, extra))?.rule.name;

  it('prefers exact path, then the longest prefix', () => {
    expect(pick('/api/v1/health')).toBe('exact');
    expect(pick('/api/v1/users')).toBe('prefix-api-v1');
    expect(pick('/api/v2')).toBe('prefix-api');
    expect(pick('/other')).toBe('catch-all');
  });

  it('for equal prefixes prefers a method match, then more header matches', () => {
    expect(pick('/api/x', { headers: { 'x-canary': 'yes' } })).toBe('header');
    expect(pick('/api/x', { method: 'DELETE', headers: { 'x-canary': 'yes' } })).toBe('method');
    expect(pick('/api/x', { method: 'DELETE' })).toBe('method');
  });

  it('breaks full ties by the oldest route, then by namespace/name, then rule order', () => {
    const older = route('zzz', [{ name: 'old', backendRefs: backends(['a', 1]) }], { created: '2025-01-01T00:00:00Z' });
    const newer = route('aaa', [{ name: 'new', backendRefs: backends(['b', 1]) }], { created: '2026-06-01T00:00:00Z' });
    expect(selectMatch(orderCandidates([newer, older]), req('/'))?.rule.name).toBe('old');
    const sameTimeA = route('aaa', [{ name: 'a', backendRefs: backends(['a', 1]) }]);
    const sameTimeB = route('bbb', [{ name: 'b', backendRefs: backends(['b', 1]) }]);
    expect(selectMatch(orderCandidates([sameTimeB, sameTimeA]), req('/'))?.rule.name).toBe('a');
    const twoRules = route('r', [{ name: 'first', backendRefs: [] }, { name: 'second', backendRefs: [] }]);
    expect(selectMatch(orderCandidates([twoRules]), req('/'))?.rule.name).toBe('first');
  });

  it('gives no match when no rule applies (no implicit catch-all)', () => {
    const onlyApi = route('r', [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [] }]);
    expect(selectMatch(orderCandidates([onlyApi]), req('/web'))).toBeUndefined();
  });
});
