import type { HTTPHeaderFilter } from './kube/types.js';

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

/**
 * Applies Gateway API header modifiers in place, in order: `set` replaces, `add` appends to an
 * existing value with a comma (as the spec's example shows), `remove` deletes. Names are case-insensitive.
 */
export function applyHeaderFilters(headers: HeaderMap, filters: readonly HTTPHeaderFilter[]): HeaderMap {
  for (const f of filters) {
    for (const h of f.set ?? []) headers[h.name.toLowerCase()] = h.value;
    for (const h of f.add ?? []) {
      const name = h.name.toLowerCase();
      const existing = headers[name];
      headers[name] = existing === undefined ? h.value : `${Array.isArray(existing) ? existing.join(',') : String(existing)},${h.value}`;
    }
    for (const name of f.remove ?? []) delete headers[name.toLowerCase()];
  }
  return headers;
}
