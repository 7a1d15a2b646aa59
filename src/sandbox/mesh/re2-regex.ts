/**
 * Gateway API leaves RegularExpression matches implementation-specific; Istio hands them to Envoy's
 * `safe_regex`, which is RE2 and a full match (the whole path, header value or query value must
 * match). The sandbox runs them on JavaScript's engine, so it refuses what RE2 refuses and JavaScript
 * would accept (backreferences, lookaround), and translates the RE2 spellings JavaScript lacks
 * (`(?P<name>`, a leading `(?i)`).
 */
export type CompiledRegex = { ok: true; re: RegExp } | { ok: false; error: string };

const NOT_RE2: Array<[RegExp, string]> = [
  [/\(\?<?[=!]/, 'lookaround assertions are not supported by RE2'],
  // An escape not itself escaped: an odd run of backslashes before the digit or `k<`.
  [/(^|[^\\])(\\\\)*\\([1-9]|k<)/, 'backreferences are not supported by RE2'],
];

const cache = new Map<string, CompiledRegex>();

export function compileRe2(source: string): CompiledRegex {
  let compiled = cache.get(source);
  if (compiled === undefined) {
    compiled = compile(source);
    if (cache.size > 1000) cache.clear();
    cache.set(source, compiled);
  }
  return compiled;
}

function compile(source: string): CompiledRegex {
  for (const [pattern, error] of NOT_RE2) {
    if (pattern.test(source)) return { ok: false, error };
  }
  let body = source.replace(/\(\?P</g, '(?<');
  let flags = '';
  const leading = /^\(\?([ims]+)\)/.exec(body);
  if (leading) {
    flags = [...new Set(leading[1])].join('');
    body = body.slice(leading[0].length);
  }
  try {
    return { ok: true, re: new RegExp(`^(?:${body})$`, flags) };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Full match; an expression that does not compile matches nothing (the route's status says why). */
export function fullMatch(source: string, value: string): boolean {
  const c = compileRe2(source);
  return c.ok && c.re.test(value);
}
