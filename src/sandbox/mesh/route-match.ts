import type { HTTPRoute, HTTPRouteMatch, HTTPRouteRule } from './kube/types.js';
import { fullMatch } from './re2-regex.js';

/** The parts of an HTTP request that HTTPRoute matches look at. Header names are lower case. */
export interface RequestFacts {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One match of one rule of one route, with what the precedence order needs. */
export interface CandidateMatch {
  route: HTTPRoute;
  rule: HTTPRouteRule;
  ruleIndex: number;
  matchIndex: number;
  match: HTTPRouteMatch;
}

/** The match a rule without `matches` gets (Gateway API default). */
export const DEFAULT_MATCH: HTTPRouteMatch = { path: { type: 'PathPrefix', value: '/' } };

export function pathOf(match: HTTPRouteMatch): { type: 'Exact' | 'PathPrefix' | 'RegularExpression'; value: string } {
  return { type: match.path?.type ?? 'PathPrefix', value: match.path?.value ?? '/' };
}

/**
 * PathPrefix matches whole path elements: `/foo` matches `/foo`, `/foo/` and `/foo/bar`, not
 * `/foobar`. A trailing slash on the prefix is ignored.
 */
export function pathPrefixMatches(prefix: string, path: string): boolean {
  const p = prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  if (p === '/' || p === '') return path.startsWith('/');
  if (!path.startsWith(p)) return false;
  return path.length === p.length || path[p.length] === '/';
}

function headerValue(headers: RequestFacts['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/** "Subsequent entries with an equivalent name MUST be ignored" (header names compare case-insensitively). */
function firstByName<T extends { name: string }>(items: readonly T[] | undefined, fold: boolean): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const item of items ?? []) {
    const k = fold ? item.name.toLowerCase() : item.name;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(item);
  }
  return out;
}

function valueMatches(type: string | undefined, expected: string, actual: string): boolean {
  return (type ?? 'Exact') === 'Exact' ? actual === expected : fullMatch(expected, actual);
}

export function matchApplies(match: HTTPRouteMatch, req: RequestFacts): boolean {
  const path = pathOf(match);
  switch (path.type) {
    case 'Exact':
      if (req.path !== path.value) return false;
      break;
    case 'PathPrefix':
      if (!pathPrefixMatches(path.value, req.path)) return false;
      break;
    case 'RegularExpression':
      if (!fullMatch(path.value, req.path)) return false;
      break;
    default:
      return false;
  }
  if (match.method && match.method.toUpperCase() !== req.method.toUpperCase()) return false;
  // A Cookie header is one header like any other: cookie matches are RegularExpression header
  // matches on `cookie` (Node joins repeated Cookie lines with "; ", as HTTP/2 prescribes).
  for (const h of firstByName(match.headers, true)) {
    const v = headerValue(req.headers, h.name);
    if (v === undefined || !valueMatches(h.type, h.value, v)) return false;
  }
  // The first value of a repeated query parameter counts, as Envoy does; names are case-sensitive.
  for (const q of firstByName(match.queryParams, false)) {
    const v = req.query.get(q.name);
    if (v === null || !valueMatches(q.type, q.value, v)) return false;
  }
  return true;
}

/** Every (rule, match) of the routes, a rule without matches standing for PathPrefix `/`. */
export function candidateMatches(routes: readonly HTTPRoute[]): CandidateMatch[] {
  const out: CandidateMatch[] = [];
  for (const route of routes) {
    (route.spec?.rules ?? []).forEach((rule, ruleIndex) => {
      const matches = rule.matches && rule.matches.length > 0 ? rule.matches : [DEFAULT_MATCH];
      matches.forEach((match, matchIndex) => out.push({ route, rule, ruleIndex, matchIndex, match }));
    });
  }
  return out;
}

const PATH_RANK = { Exact: 3, PathPrefix: 2, RegularExpression: 1 } as const;

/**
 * Gateway API HTTPRoute precedence (HTTPRouteRule docs): exact path, then the longest prefix, then a
 * method match, then the most header matches, then the most query matches; ties go to the oldest
 * route, then the route first by "namespace/name", then rule and match order. Regular-expression
 * paths are implementation specific; here they rank below every prefix.
 */
export function comparePrecedence(a: CandidateMatch, b: CandidateMatch): number {
  const pa = pathOf(a.match);
  const pb = pathOf(b.match);
  if (PATH_RANK[pa.type] !== PATH_RANK[pb.type]) return PATH_RANK[pb.type] - PATH_RANK[pa.type];
  if (pa.type !== 'Exact' && pa.value.length !== pb.value.length) return pb.value.length - pa.value.length;
  const ma = a.match.method ? 1 : 0;
  const mb = b.match.method ? 1 : 0;
  if (ma !== mb) return mb - ma;
  const ha = a.match.headers?.length ?? 0;
  const hb = b.match.headers?.length ?? 0;
  if (ha !== hb) return hb - ha;
  const qa = a.match.queryParams?.length ?? 0;
  const qb = b.match.queryParams?.length ?? 0;
  if (qa !== qb) return qb - qa;
  if (a.route !== b.route) {
    const ta = Date.parse(a.route.metadata.creationTimestamp ?? '') || Number.MAX_SAFE_INTEGER;
    const tb = Date.parse(b.route.metadata.creationTimestamp ?? '') || Number.MAX_SAFE_INTEGER;
    if (ta !== tb) return ta - tb;
    const ka = `${a.route.metadata.namespace ?? ''}/${a.route.metadata.name}`;
    const kb = `${b.route.metadata.namespace ?? ''}/${b.route.metadata.name}`;
    if (ka !== kb) return ka < kb ? -1 : 1;
  }
  if (a.ruleIndex !== b.ruleIndex) return a.ruleIndex - b.ruleIndex;
  return a.matchIndex - b.matchIndex;
}

/** Candidates in the order they should be tried. */
export function orderCandidates(routes: readonly HTTPRoute[]): CandidateMatch[] {
  return candidateMatches(routes).sort(comparePrecedence);
}

/** The first candidate, in precedence order, whose match applies to the request. */
export function selectMatch(ordered: readonly CandidateMatch[], req: RequestFacts): CandidateMatch | undefined {
  return ordered.find((c) => matchApplies(c.match, req));
}
