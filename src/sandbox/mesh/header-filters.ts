import type { HTTPHeader, HTTPHeaderFilter } from './kube/types.js';

export type HeaderMap = Record<string, string | string[] | number | undefined>;

/** Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Copies headers without hop-by-hop ones (including those the Connection header names). */
export function forwardableHeaders(headers: Readonly<HeaderMap>): HeaderMap {
  const connectionListed = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(lower) || connectionListed.has(lower)) continue;
    out[lower] = value;
  }
  return out;
}

/** Headers that cannot be folded into one comma-separated line (RFC 9110 §5.3): each value is its own line. */
const NOT_FOLDABLE = new Set(['set-cookie']);

/** Later entries with a name already seen in the same list are ignored, as the spec says. */
function firstByName(headers: readonly HTTPHeader[] | undefined): HTTPHeader[] {
  const seen = new Set<string>();
  return (headers ?? []).filter((h) => {
    const k = h.name.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function appendValue(existing: HeaderMap[string], name: string, value: string): string | string[] {
  if (existing === undefined) return NOT_FOLDABLE.has(name) ? [value] : value;
  if (NOT_FOLDABLE.has(name)) return [...(Array.isArray(existing) ? existing : [String(existing)]), value];
  return `${Array.isArray(existing) ? existing.join(',') : String(existing)},${value}`;
}

/**
 * Applies Gateway API header modifiers in place, in order: `set` replaces, `add` appends to an
 * existing value with a comma (as the spec's example shows) except for Set-Cookie, which gets a
 * line of its own, `remove` deletes. Names are case-insensitive.
 */
export function applyHeaderFilters(headers: HeaderMap, filters: readonly HTTPHeaderFilter[]): HeaderMap {
  for (const f of filters) {
    for (const h of firstByName(f.set)) headers[h.name.toLowerCase()] = h.value;
    for (const h of firstByName(f.add)) {
      const name = h.name.toLowerCase();
      headers[name] = appendValue(headers[name], name, h.value);
    }
    for (const name of f.remove ?? []) delete headers[name.toLowerCase()];
  }
  return headers;
}
