import type { HTTPRequestMirrorFilter, HTTPRoute, HTTPRouteMatch, HTTPRouteRule } from './kube/types.js';
import { compileRe2 } from './re2-regex.js';

/**
 * What the sandbox mesh can program, and why it cannot program the rest. Istio refuses a filter type
 * it does not know with ConfigError InvalidFilter ("unsupported filter type %q") and accepts only the
 * two header modifiers on a backendRef; the sandbox follows that and also names the filters Istio
 * has but the sandbox does not implement. Such a route is reported Accepted=False/UnsupportedValue;
 * requests reaching a rule it cannot program get a 500 (the spec: an unsupported filter must not be
 * skipped), the route's other rules keep working.
 */
export const RULE_FILTERS: ReadonlySet<string> = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier', 'RequestMirror']);
export const BACKEND_FILTERS: ReadonlySet<string> = new Set(['RequestHeaderModifier', 'ResponseHeaderModifier']);
/** Istio implements these; the sandbox mesh does not (yet). */
const ISTIO_ONLY_FILTERS: ReadonlySet<string> = new Set(['RequestRedirect', 'URLRewrite', 'CORS']);

export const UNSUPPORTED_REASON = 'UnsupportedValue';

function filterProblem(type: string, where: string): string {
  return ISTIO_ONLY_FILTERS.has(type) && where === ''
    ? `filter type "${type}" is not implemented by the sandbox mesh`
    : `unsupported filter type "${type}"${where}`;
}

function regexProblems(match: HTTPRouteMatch): string[] {
  const out: string[] = [];
  const check = (what: string, type: string | undefined, value: string | undefined): void => {
    if (type !== 'RegularExpression' || value === undefined) return;
    const c = compileRe2(value);
    if (!c.ok) out.push(`invalid regular expression ${JSON.stringify(value)} in ${what}: ${c.error}`);
  };
  check('path match', match.path?.type, match.path?.value);
  for (const h of match.headers ?? []) check(`header match ${h.name}`, h.type, h.value);
  for (const q of match.queryParams ?? []) check(`query match ${q.name}`, q.type, q.value);
  return out;
}

/** Why the mesh cannot program this rule; empty when it can. */
export function ruleProblems(rule: HTTPRouteRule): string[] {
  const out: string[] = [];
  for (const f of rule.filters ?? []) {
    if (!RULE_FILTERS.has(f.type)) out.push(filterProblem(f.type, ''));
  }
  for (const ref of rule.backendRefs ?? []) {
    for (const f of ref.filters ?? []) {
      if (!BACKEND_FILTERS.has(f.type)) out.push(filterProblem(f.type, ` on backendRef ${ref.name}`));
    }
  }
  for (const m of rule.matches ?? []) out.push(...regexProblems(m));
  if (rule.sessionPersistence !== undefined) out.push('sessionPersistence is not implemented by the sandbox mesh');
  return out;
}

/** Every rule's problems, each prefixed with the rule it is about. */
export function routeProblems(route: HTTPRoute): string[] {
  return (route.spec?.rules ?? []).flatMap((rule, i) =>
    ruleProblems(rule).map((p) => `rule ${rule.name ? `"${rule.name}"` : i}: ${p}`),
  );
}

export function mirrorFilters(rule: HTTPRouteRule): HTTPRequestMirrorFilter[] {
  // The CRD requires backendRef; a server that skips validation could still send a mirror without one.
  return (rule.filters ?? []).flatMap((f) => (f.type === 'RequestMirror' && f.requestMirror?.backendRef ? [f.requestMirror] : []));
}

/**
 * The share of requests a mirror filter copies, in [0, 1]: `fraction` (denominator defaults to 100)
 * or `percent`, 100% when neither is set, as the v1.4.1 CRD documents (Istio turns both into
 * Envoy's runtime_fraction the same way).
 */
export function mirrorShare(f: HTTPRequestMirrorFilter): number {
  let share = 1;
  if (f.fraction) {
    const d = f.fraction.denominator ?? 100;
    share = d > 0 ? f.fraction.numerator / d : 0;
  } else if (f.percent !== undefined) {
    share = f.percent / 100;
  }
  return Number.isFinite(share) ? Math.min(1, Math.max(0, share)) : 0;
}
