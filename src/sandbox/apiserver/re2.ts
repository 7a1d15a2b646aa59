/**
 * Kubernetes evaluates `pattern` and CEL `matches()` with Go's RE2; JavaScript's RegExp differs
 * in a few spellings that CRDs use (Gateway API: `(?i)` prefixes). This translates those.
 */
const cache = new Map<string, RegExp | null>();

export function re2ToRegExp(pattern: string): RegExp | null {
  if (cache.has(pattern)) return cache.get(pattern) ?? null;
  let src = pattern;
  let flags = '';
  // Leading inline flags, e.g. (?i) or (?is); JS (Node 20) has no inline modifiers.
  const lead = /^\^?\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    const caret = src.startsWith('^') ? '^' : '';
    src = caret + src.slice(lead[0].length);
    for (const f of lead[1] as string) if ((f === 'i' || f === 'm' || f === 's') && !flags.includes(f)) flags += f;
  }
  src = src.replace(/\(\?P</g, '(?<').replace(/\\z/g, '$').replace(/\\A/g, '^');
  let re: RegExp | null = null;
  for (const extra of ['u', '']) {
    try {
      re = new RegExp(src, flags + extra);
      break;
    } catch {
      re = null;
    }
  }
  cache.set(pattern, re);
  return re;
}
