import { compileRe2, fullMatch } from './re2-regex.js';

describe('RE2-style regular expressions', () => {
  it('matches the whole value, as Envoy safe_regex does', () => {
    expect(fullMatch('/v[0-9]+', '/v12')).toBe(true);
    expect(fullMatch('/v[0-9]+', '/v12/x')).toBe(false);
    expect(fullMatch('a|b', 'ab')).toBe(false);
  });

  it('matches a cookie anywhere in the Cookie header with a full-match expression', () => {
    const cookie = '(.*;\\s*)?canary=always(;.*)?';
    expect(fullMatch(cookie, 'canary=always')).toBe(true);
    expect(fullMatch(cookie, 'a=1; canary=always; b=2')).toBe(true);
    expect(fullMatch(cookie, 'a=1; canary=always')).toBe(true);
    expect(fullMatch(cookie, 'a=1; xcanary=always')).toBe(false);
    expect(fullMatch(cookie, 'canary=alwaysnot')).toBe(false);
    // An unanchored-looking expression is still a full match: it does not find the cookie mid-header.
    expect(fullMatch('(^|;\\s*)canary=always(;|$)', 'a=1; canary=always')).toBe(false);
  });

  it('refuses what RE2 refuses and JavaScript would accept', () => {
    expect(compileRe2('(?=a)a')).toMatchObject({ ok: false, error: expect.stringContaining('lookaround') });
    expect(compileRe2('(?<!x)a')).toMatchObject({ ok: false });
    expect(compileRe2('(a)\\1')).toMatchObject({ ok: false, error: expect.stringContaining('backreferences') });
    expect(fullMatch('a\\\\1', 'a\\1')).toBe(true);
    expect(compileRe2('([')).toMatchObject({ ok: false });
    expect(fullMatch('([', '([')).toBe(false);
  });

  it("translates RE2's named groups and a leading flag group", () => {
    expect(fullMatch('(?P<v>v[0-9])', 'v1')).toBe(true);
    expect(fullMatch('(?i)canary', 'CaNaRy')).toBe(true);
    expect(fullMatch('canary', 'CANARY')).toBe(false);
  });
});
