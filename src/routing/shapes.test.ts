import type { AnalysisSpec } from '../api/canary.js';
import { applyJsonPatch } from './json-patch.js';
import { setTraffic } from './route-client.js';
import { buildShapePatch, locateShape, type ShapeInput } from './shapes.js';
import { FakeRouteClient } from './testing.js';
import type { Route, RouteKey } from './types.js';

const stable = { name: 'app-v1', port: 80 };
const canary = { name: 'app-v2', port: 80 };
const pair = (canaryWeight: number) => [
  { name: 'app-v1', port: 80, weight: 100 - canaryWeight },
  { name: 'app-v2', port: 80, weight: canaryWeight },
];
const KEY: RouteKey = { kind: 'HTTPRoute', namespace: 'default', name: 'app' };

function route(over: { mainFilters?: unknown[]; canaryFilters?: unknown[]; extra?: Route['spec']['rules'] } = {}): Route {
  const main = pair(0);
  if (over.canaryFilters) (main[1] as { filters?: unknown[] }).filters = over.canaryFilters;
  return {
    kind: 'HTTPRoute',
    metadata: { name: 'app', namespace: 'default' },
    spec: {
      rules: [
        ...(over.extra ?? []),
        { name: 'main', ...(over.mainFilters ? { filters: over.mainFilters } : {}), backendRefs: main },
      ],
    },
  };
}

const testers = { name: 'testers', matches: [{ headers: [{ name: 'X-Canary', value: 'insider' }] }], backendRefs: pair(0) };
const sticky = { name: 'sticky', matches: [{ headers: [{ name: 'Cookie', type: 'RegularExpression', value: '(.*;\\s*)?canary=.*' }] }], backendRefs: pair(0) };
const setCookie = [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { set: [{ name: 'Set-Cookie', value: 'canary=1; Max-Age=3600; Path=/' }] } }];
const mirrorTo = (percent?: number) => [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'app-v2', port: 80 }, ...(percent === undefined ? {} : { percent }) } }];

const input = (shape: Partial<AnalysisSpec>): ShapeInput => ({ routeRef: { name: 'app', rule: 'main' }, stable, canary, canaryNamespace: 'default', shape });
const problem = (r: Route, shape: Partial<AnalysisSpec>): string => {
  try {
    locateShape(r, input(shape));
  } catch (err) {
    return `${(err as { code: string }).code}: ${(err as Error).message}`;
  }
  return 'no problem';
};

describe('locateShape', () => {
  it('finds the A/B rule by name, or by the matches of analysis.match', () => {
    const r = route({ extra: [testers] });
    expect(locateShape(r, input({ matchRule: 'testers' })).matchRule).toMatchObject({ ruleIndex: 0, ruleName: 'testers' });
    expect(locateShape(r, input({ match: [{ headers: [{ name: 'x-canary', value: 'insider' }] }] })).matchRule).toMatchObject({ ruleIndex: 0 });
  });

  it('says precisely what the A/B rule lacks', () => {
    expect(problem(route(), { match: [{ headers: [{ name: 'x-canary', value: 'insider' }] }] })).toMatch(
      /^ShapeMismatch: no rule of HTTPRoute default\/app matches header x-canary = "insider" .*add a rule with these matches and backendRefs app-v1:80 and app-v2:80/,
    );
    expect(problem(route({ extra: [testers] }), { matchRule: 'testers', match: [{ queryParams: [{ name: 'canary', value: 'yes' }] }] })).toMatch(
      /rule 0 \("testers"\) of HTTPRoute default\/app does not match query parameter canary = "yes"/,
    );
    expect(problem(route({ extra: [{ name: 'testers', backendRefs: pair(0) }] }), { matchRule: 'testers' })).toMatch(/has no matches/);
    expect(problem(route({ extra: [testers] }), { matchRule: 'main' })).toMatch(/the weighted rule; it must be a rule of its own/);
    expect(problem(route({ extra: [{ ...testers, backendRefs: [pair(0)[0]] as never }] }), { matchRule: 'testers' })).toMatch(/^BackendNotFound: .*no backendRef Service app-v2:80/);
  });

  it('checks the session-affinity cookie: the Set-Cookie filter on the canary and the rule matching it', () => {
    const sa = { sessionAffinity: { cookieName: 'canary', maxAge: 3600, rule: 'sticky' } };
    expect(locateShape(route({ canaryFilters: setCookie, extra: [sticky] }), input(sa)).affinityRule).toMatchObject({ ruleName: 'sticky' });
    expect(problem(route({ extra: [sticky] }), sa)).toMatch(/canary backendRef app-v2:80 in rule 1 \("main"\) .* must set the cookie: .*it sets no Set-Cookie header/);
    expect(problem(route({ canaryFilters: setCookie, extra: [sticky] }), { sessionAffinity: { ...sa.sessionAffinity, maxAge: 60 } })).toMatch(/has no Max-Age=60/);
    expect(problem(route({ canaryFilters: setCookie, extra: [{ ...sticky, matches: [{ path: { value: '/' } }] }] }), sa)).toMatch(/must match the cookie in every match/);
  });

  it('without a cookie rule, needs the weighted rule sessionPersistence', () => {
    expect(problem(route(), { sessionAffinity: { cookieName: 'canary' } })).toMatch(/does not have: add sessionPersistence \{sessionName: canary, type: Cookie\}/);
    const r = route();
    (r.spec.rules?.[0] as { sessionPersistence?: unknown }).sessionPersistence = { sessionName: 'other', type: 'Cookie' };
    expect(problem(r, { sessionAffinity: { cookieName: 'canary' } })).toMatch(/sessionName "other", not cookieName "canary"/);
  });

  it('finds the RequestMirror filter to the canary, and refuses one it cannot drive', () => {
    expect(locateShape(route({ mainFilters: mirrorTo(0) }), input({ mirror: true })).mirror).toEqual({ ruleIndex: 0, filterIndex: 0, backendName: 'app-v2', percent: 0 });
    expect(problem(route(), { mirror: true })).toMatch(/needs rule 0 \("main"\) .* RequestMirror filter to the canary app-v2:80 with percent: 0 \(it has no RequestMirror filter\)/);
    const fraction = [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'app-v2', port: 80 }, fraction: { numerator: 1 } } }];
    expect(problem(route({ mainFilters: fraction }), { mirror: true })).toMatch(/uses fraction; routeshift drives percent/);
  });
});

describe('buildShapePatch', () => {
  it('flips the named A/B rule with test ops pinning it, leaving the weighted rule alone', () => {
    const r = route({ extra: [testers] });
    const ops = buildShapePatch(r, locateShape(r, input({ matchRule: 'testers' })), { canary: 0, matchRule: 100 });
    expect(ops.filter((o) => o.op !== 'test')).toEqual([
      { op: 'replace', path: '/spec/rules/0/backendRefs/0/weight', value: 0 },
      { op: 'replace', path: '/spec/rules/0/backendRefs/1/weight', value: 100 },
    ]);
    expect(ops).toContainEqual({ op: 'test', path: '/spec/rules/0/name', value: 'testers' });
    const after = applyJsonPatch(r, ops);
    expect(after.spec.rules?.[1]?.backendRefs).toEqual(pair(0));
    expect(after.spec.rules?.[0]?.matches).toEqual(testers.matches);
  });

  it('moves the weighted rule and the cookie rule in one patch', () => {
    const r = route({ canaryFilters: setCookie, extra: [sticky] });
    const owned = locateShape(r, input({ sessionAffinity: { cookieName: 'canary', rule: 'sticky' } }));
    const after = applyJsonPatch(r, buildShapePatch(r, owned, { canary: 10, affinityRule: 100 }));
    expect(after.spec.rules?.[1]?.backendRefs?.map((b) => b.weight)).toEqual([90, 10]);
    expect(after.spec.rules?.[0]?.backendRefs?.map((b) => b.weight)).toEqual([0, 100]);
    expect(after.spec.rules?.[1]?.backendRefs?.[1]?.filters).toEqual(setCookie);
  });

  it('changes only the mirror filter percent, pinned by test ops', () => {
    const r = route({ mainFilters: mirrorTo(0) });
    const ops = buildShapePatch(r, locateShape(r, input({ mirror: true })), { canary: 0, mirrorPercent: 40 });
    expect(ops).toEqual([
      { op: 'test', path: '/spec/rules/0/filters/0/type', value: 'RequestMirror' },
      { op: 'test', path: '/spec/rules/0/filters/0/requestMirror/backendRef/name', value: 'app-v2' },
      { op: 'test', path: '/spec/rules/0/filters/0/requestMirror/percent', value: 0 },
      { op: 'replace', path: '/spec/rules/0/filters/0/requestMirror/percent', value: 40 },
    ]);
    const unset = route({ mainFilters: mirrorTo() });
    expect(buildShapePatch(unset, locateShape(unset, input({ mirror: true })), { canary: 0, mirrorPercent: 0 }).at(-1)).toEqual({
      op: 'add',
      path: '/spec/rules/0/filters/0/requestMirror/percent',
      value: 0,
    });
    expect(buildShapePatch(r, locateShape(r, input({ mirror: true })), { canary: 0, mirrorPercent: 0 })).toEqual([]);
  });
});

describe('setTraffic', () => {
  const live = () => new AbortController().signal;

  it('writes every part in one patch and checks the stored route', async () => {
    const client = new FakeRouteClient([route({ mainFilters: mirrorTo(0), canaryFilters: setCookie, extra: [sticky] })]);
    const shape = { mirror: true, sessionAffinity: { cookieName: 'canary', rule: 'sticky' } };
    const res = await setTraffic(client, KEY, input(shape), { canary: 20, affinityRule: 100, mirrorPercent: 0 }, live());
    expect(res.after).toMatchObject({ canaryPercent: 20 });
    expect(client.calls.filter((c) => c.verb === 'patch')).toHaveLength(1);
    const stored = client.peek(KEY);
    expect(stored?.spec.rules?.[0]?.backendRefs?.map((b) => b.weight)).toEqual([0, 100]);
  });

  it('refuses a half-applied write: a webhook that undoes the mirror percent is reported, not trusted', async () => {
    const client = new FakeRouteClient([route({ mainFilters: mirrorTo(0) })]);
    client.mutate = (r) => {
      const f = r.spec.rules?.[0]?.filters?.[0] as { requestMirror: { percent: number } };
      f.requestMirror.percent = 0;
      return r;
    };
    await expect(setTraffic(client, KEY, input({ mirror: true }), { canary: 0, mirrorPercent: 100 }, live())).rejects.toMatchObject({
      code: 'WeightNotApplied',
      message: expect.stringMatching(/mirror percent 0, wrote 100/),
    });
  });

  it('writes nothing when the route lacks the shape', async () => {
    const client = new FakeRouteClient([route()]);
    await expect(setTraffic(client, KEY, input({ matchRule: 'testers' }), { canary: 0, matchRule: 100 }, live())).rejects.toMatchObject({ code: 'RuleNotFound' });
    expect(client.calls.some((c) => c.verb === 'patch')).toBe(false);
  });
});
