/**
 * The rules and filter a traffic shape needs in the user's route (docs/traffic-shapes.md): the A/B rule with
 * matches, the session-affinity cookie rule and Set-Cookie filter, the RequestMirror filter. routeshift never
 * writes route structure: it finds what the user wrote, says precisely what is missing, and moves only weights
 * and the mirror's percent, in one JSON Patch with `test` ops pinning everything it writes.
 */
import type { AnalysisSpec, TrafficMatch, ValueMatch } from '../api/canary.js';
import { RouteMismatchError } from './errors.js';
import { formatPointer, jsonEqual, type JsonPatchOp } from './json-patch.js';
import { backendIdentity, describeBackend, locateOwnedBackends, routeLabel, routeNamespace, sameBackend, serviceIdentity, type LocateInput } from './locate.js';
import { buildWeightPatch } from './patch.js';
import type { BackendRef, OwnedBackends, Route, RouteRule } from './types.js';
import { readWeights, weightsFor } from './weights.js';

export type ShapeSettings = Pick<AnalysisSpec, 'matchRule' | 'match' | 'sessionAffinity' | 'mirror'>;

export interface ShapeInput extends LocateInput {
  shape?: ShapeSettings;
}

/** Where the mirror filter sits, and its percent as read (absent: the API's "mirror everything"). */
export interface OwnedMirror {
  ruleIndex: number;
  filterIndex: number;
  backendName: string;
  percent: number | undefined;
}

/** Everything routeshift drives in one route. */
export interface OwnedShape {
  main: OwnedBackends;
  matchRule?: OwnedBackends;
  affinityRule?: OwnedBackends;
  mirror?: OwnedMirror;
}

/** What to write: canary percents of each rule (0..100) and the mirror's percent. Mirrors analysis' TrafficTarget. */
export interface ShapeTarget {
  canary: number;
  matchRule?: number;
  affinityRule?: number;
  mirrorPercent?: number;
}

function missing(message: string, path?: string): RouteMismatchError {
  return new RouteMismatchError('ShapeMismatch', message, path ? { path } : undefined);
}

function ruleText(rule: RouteRule | undefined, index: number, label: string): string {
  return `${rule?.name ? `rule ${index} ("${rule.name}")` : `rule ${index}`} of ${label}`;
}

function describeMatch(m: TrafficMatch): string {
  const one = (kind: string) => (v: ValueMatch) => `${kind} ${v.name} ${v.type === 'RegularExpression' ? '~' : '='} ${JSON.stringify(v.value)}`;
  return [...(m.headers ?? []).map(one('header')), ...(m.queryParams ?? []).map(one('query parameter'))].join(' and ');
}

function sameValueMatch(a: ValueMatch, b: unknown, header: boolean): boolean {
  const v = b as Partial<ValueMatch> | null;
  if (!v || typeof v.name !== 'string') return false;
  const name = header ? a.name.toLowerCase() === v.name.toLowerCase() : a.name === v.name;
  return name && a.value === v.value && (a.type ?? 'Exact') === (v.type ?? 'Exact');
}

/** True when one of the rule's matches requires every header and query parameter of `want` (it may require more). */
function ruleHasMatch(rule: RouteRule | undefined, want: TrafficMatch): boolean {
  const matches = Array.isArray(rule?.matches) ? (rule.matches as Array<{ headers?: unknown[]; queryParams?: unknown[] }>) : [];
  return matches.some(
    (m) =>
      (want.headers ?? []).every((h) => (m?.headers ?? []).some((x) => sameValueMatch(h, x, true))) &&
      (want.queryParams ?? []).every((q) => (m?.queryParams ?? []).some((x) => sameValueMatch(q, x, false))),
  );
}

/** The pair in another rule, with the weighted rule's identity rules; never the weighted rule itself. */
function pairIn(route: Route, input: LocateInput, rule: string | number, main: OwnedBackends, what: string, path: string): OwnedBackends {
  const owned = locateOwnedBackends(route, { ...input, routeRef: { ...input.routeRef, rule } });
  if (owned.ruleIndex === main.ruleIndex) {
    throw missing(`${what} names ${ruleText(route.spec.rules?.[main.ruleIndex], main.ruleIndex, routeLabel(route, input))}, the weighted rule; it must be a rule of its own`, path);
  }
  return owned;
}

function locateMatchRule(route: Route, input: ShapeInput, main: OwnedBackends): OwnedBackends | undefined {
  const { matchRule, match = [] } = input.shape ?? {};
  if (matchRule === undefined && match.length === 0) return undefined;
  const label = routeLabel(route, input);
  const rules = route.spec.rules ?? [];
  let index: string | number | undefined = matchRule;
  if (index === undefined) {
    const found = rules.map((r, i) => (i !== main.ruleIndex && match.every((m) => ruleHasMatch(r, m)) ? i : -1)).filter((i) => i >= 0);
    if (found.length === 0) {
      const ns = routeNamespace(route, input);
      const backends = [input.stable, input.canary].map((svc) => describeBackend(serviceIdentity(svc, ns), ns)).join(' and ');
      throw missing(
        `no rule of ${label} matches ${match.map(describeMatch).join(', or ')} (spec.analysis.match); add a rule with these matches ` +
          `and backendRefs ${backends}, or set spec.analysis.matchRule`,
        'spec.analysis.match',
      );
    }
    if (found.length > 1) throw missing(`${found.length} rules of ${label} have the matches of spec.analysis.match (${found.join(', ')}); set spec.analysis.matchRule`, 'spec.analysis.matchRule');
    index = found[0] as number;
  }
  const owned = pairIn(route, input, index, main, 'spec.analysis.matchRule', 'spec.analysis.matchRule');
  const rule = rules[owned.ruleIndex];
  const where = ruleText(rule, owned.ruleIndex, label);
  if (!Array.isArray(rule?.matches) || rule.matches.length === 0) {
    throw missing(`${where} has no matches: as the A/B rule it would take every request; give it the header, cookie or query matches of the testers`, 'spec.analysis.matchRule');
  }
  const absent = match.filter((m) => !ruleHasMatch(rule, m));
  if (absent.length > 0) throw missing(`${where} does not match ${absent.map(describeMatch).join(', or ')} (spec.analysis.match)`, 'spec.analysis.match');
  return owned;
}

interface HeaderFilter {
  type?: string;
  responseHeaderModifier?: { set?: Array<{ name?: string; value?: string }>; add?: Array<{ name?: string; value?: string }> };
}

/** The Set-Cookie values the canary's backendRef filters write on its answers. */
function setCookieValues(ref: BackendRef): string[] {
  return ((ref.filters ?? []) as HeaderFilter[])
    .filter((f) => f?.type === 'ResponseHeaderModifier')
    .flatMap((f) => [...(f.responseHeaderModifier?.set ?? []), ...(f.responseHeaderModifier?.add ?? [])])
    .filter((h) => typeof h?.name === 'string' && h.name.toLowerCase() === 'set-cookie')
    .map((h) => String(h.value ?? ''));
}

function locateAffinity(route: Route, input: ShapeInput, main: OwnedBackends): OwnedBackends | undefined {
  const sa = input.shape?.sessionAffinity;
  if (!sa) return undefined;
  const label = routeLabel(route, input);
  const mainRule = route.spec.rules?.[main.ruleIndex];
  const mainText = ruleText(mainRule, main.ruleIndex, label);
  if (sa.rule === undefined) {
    const sp = mainRule?.sessionPersistence as { sessionName?: string; type?: string } | undefined;
    if (!sp) {
      throw missing(
        `spec.analysis.sessionAffinity has no rule, so it uses the weighted rule's sessionPersistence, which ${mainText} does not have: ` +
          `add sessionPersistence {sessionName: ${sa.cookieName}, type: Cookie} (where the mesh supports it) or set sessionAffinity.rule to a cookie rule`,
        'spec.analysis.sessionAffinity',
      );
    }
    if (sp.sessionName !== undefined && sp.sessionName !== sa.cookieName) {
      throw missing(`${mainText} has sessionPersistence.sessionName "${sp.sessionName}", not cookieName "${sa.cookieName}"`, 'spec.analysis.sessionAffinity.cookieName');
    }
    return undefined;
  }
  const ns = routeNamespace(route, input);
  const canaryName = describeBackend(backendIdentity(main.canaryRef, ns), ns);
  const cookies = setCookieValues(main.canaryRef);
  const setsIt = cookies.filter((v) => v.startsWith(`${sa.cookieName}=`));
  if (setsIt.length === 0) {
    throw missing(
      `the canary backendRef ${canaryName} in ${mainText} must set the cookie: a ResponseHeaderModifier filter that sets Set-Cookie "${sa.cookieName}=...` +
        `${sa.maxAge ? `; Max-Age=${sa.maxAge}` : ''}" (${cookies.length ? `its Set-Cookie values: ${cookies.join(', ')}` : 'it sets no Set-Cookie header'})`,
      'spec.analysis.sessionAffinity',
    );
  }
  if (sa.maxAge !== undefined && !setsIt.some((v) => new RegExp(`;\\s*max-age=${sa.maxAge}(;|$)`, 'i').test(v))) {
    throw missing(`the Set-Cookie value of ${canaryName} in ${mainText} (${setsIt.join(', ')}) has no Max-Age=${sa.maxAge} (sessionAffinity.maxAge)`, 'spec.analysis.sessionAffinity.maxAge');
  }
  const owned = pairIn(route, input, sa.rule, main, 'spec.analysis.sessionAffinity.rule', 'spec.analysis.sessionAffinity.rule');
  const rule = route.spec.rules?.[owned.ruleIndex];
  const matches = Array.isArray(rule?.matches) ? (rule.matches as Array<{ headers?: Array<{ name?: string; value?: string }> }>) : [];
  const onCookie = matches.length > 0 && matches.every((m) => (m?.headers ?? []).some((h) => h?.name?.toLowerCase() === 'cookie' && String(h.value ?? '').includes(sa.cookieName)));
  if (!onCookie) {
    throw missing(
      `${ruleText(rule, owned.ruleIndex, label)} must match the cookie in every match: a header match on Cookie naming "${sa.cookieName}" ` +
        `(e.g. type RegularExpression, value "(.*;\\\\s*)?${sa.cookieName}=.*": meshes match the whole header value)`,
      'spec.analysis.sessionAffinity.rule',
    );
  }
  return owned;
}

interface MirrorFilter {
  type?: string;
  requestMirror?: { backendRef?: BackendRef; percent?: number; fraction?: unknown };
}

function locateMirror(route: Route, input: ShapeInput, main: OwnedBackends): OwnedMirror | undefined {
  if (!input.shape?.mirror) return undefined;
  const label = routeLabel(route, input);
  const ns = routeNamespace(route, input);
  const rule = route.spec.rules?.[main.ruleIndex];
  const want = serviceIdentity(input.canary, ns);
  const filters = (Array.isArray(rule?.filters) ? rule.filters : []) as MirrorFilter[];
  const found = filters
    .map((f, i) => (f?.type === 'RequestMirror' && f.requestMirror?.backendRef && sameBackend(backendIdentity(f.requestMirror.backendRef, ns), want) ? i : -1))
    .filter((i) => i >= 0);
  const where = ruleText(rule, main.ruleIndex, label);
  if (found.length === 0) {
    const mirrors = filters.filter((f) => f?.type === 'RequestMirror').map((f) => (f.requestMirror?.backendRef ? describeBackend(backendIdentity(f.requestMirror.backendRef, ns), ns) : '?'));
    throw missing(
      `spec.analysis.mirror needs ${where} to have a RequestMirror filter to the canary ${describeBackend(want, ns)} with percent: 0 ` +
        `(${mirrors.length ? `it mirrors to ${mirrors.join(', ')}` : 'it has no RequestMirror filter'})`,
      'spec.analysis.mirror',
    );
  }
  if (found.length > 1) throw missing(`${where} has ${found.length} RequestMirror filters to ${describeBackend(want, ns)} (filters ${found.join(', ')}); keep one`, 'spec.analysis.mirror');
  const index = found[0] as number;
  const mirror = filters[index]?.requestMirror ?? {};
  if (mirror.fraction !== undefined) {
    throw missing(`the RequestMirror filter ${index} of ${where} uses fraction; routeshift drives percent: write percent: 0 instead`, 'spec.analysis.mirror');
  }
  return { ruleIndex: main.ruleIndex, filterIndex: index, backendName: mirror.backendRef?.name ?? '', percent: mirror.percent };
}

/** Locates the weighted pair and every rule and filter the Canary's shape drives. Throws RouteMismatchError. */
export function locateShape(route: Route, input: ShapeInput): OwnedShape {
  const main = locateOwnedBackends(route, input);
  const owned: OwnedShape = { main };
  const matchRule = locateMatchRule(route, input, main);
  if (matchRule) owned.matchRule = matchRule;
  const affinityRule = locateAffinity(route, input, main);
  if (affinityRule) owned.affinityRule = affinityRule;
  const mirror = locateMirror(route, input, main);
  if (mirror) owned.mirror = mirror;
  return owned;
}

function mirrorOps(route: Route, m: OwnedMirror, percent: number): JsonPatchOp[] {
  if (m.percent === percent) return [];
  const base = ['spec', 'rules', m.ruleIndex, 'filters', m.filterIndex];
  const f = (route.spec.rules?.[m.ruleIndex]?.filters?.[m.filterIndex] ?? {}) as MirrorFilter;
  if (f.type !== 'RequestMirror' || f.requestMirror?.backendRef?.name !== m.backendName || !jsonEqual(f.requestMirror?.percent, m.percent)) {
    throw new RouteMismatchError('RouteChanged', `${routeLabel(route)}: the RequestMirror filter moved or changed since it was read; re-reading`);
  }
  const pin: JsonPatchOp[] = [
    { op: 'test', path: formatPointer([...base, 'type']), value: 'RequestMirror' },
    { op: 'test', path: formatPointer([...base, 'requestMirror', 'backendRef', 'name']), value: m.backendName },
  ];
  const path = formatPointer([...base, 'requestMirror', 'percent']);
  if (m.percent === undefined) return [...pin, { op: 'add', path, value: percent }];
  return [...pin, { op: 'test', path, value: m.percent }, { op: 'replace', path, value: percent }];
}

/** One JSON Patch bringing every owned weight and the mirror's percent to `target`; [] when all are there. */
export function buildShapePatch(route: Route, owned: OwnedShape, target: ShapeTarget): JsonPatchOp[] {
  const ops = buildWeightPatch(route, owned.main, weightsFor(target.canary));
  if (owned.matchRule && target.matchRule !== undefined) ops.push(...buildWeightPatch(route, owned.matchRule, weightsFor(target.matchRule)));
  if (owned.affinityRule && target.affinityRule !== undefined) ops.push(...buildWeightPatch(route, owned.affinityRule, weightsFor(target.affinityRule)));
  if (owned.mirror && target.mirrorPercent !== undefined) ops.push(...mirrorOps(route, owned.mirror, target.mirrorPercent));
  return ops;
}

/** The target's parts the route does not hold, in words; [] when it holds all of them. */
export function shapeMismatches(route: Route, owned: OwnedShape, target: ShapeTarget): string[] {
  const out: string[] = [];
  const pct = (o: OwnedBackends): number => readWeights(route, o).canaryPercent;
  if (pct(owned.main) !== target.canary) out.push(`weighted rule canary ${pct(owned.main)}, wrote ${target.canary}`);
  if (owned.matchRule && target.matchRule !== undefined && pct(owned.matchRule) !== target.matchRule) out.push(`A/B rule canary ${pct(owned.matchRule)}, wrote ${target.matchRule}`);
  if (owned.affinityRule && target.affinityRule !== undefined && pct(owned.affinityRule) !== target.affinityRule) {
    out.push(`cookie rule canary ${pct(owned.affinityRule)}, wrote ${target.affinityRule}`);
  }
  if (owned.mirror && target.mirrorPercent !== undefined && owned.mirror.percent !== target.mirrorPercent) out.push(`mirror percent ${owned.mirror.percent ?? 'unset'}, wrote ${target.mirrorPercent}`);
  return out;
}
