import { describe, expect, it } from '@jest/globals';
import { labelSelectorString, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { ApiStatusError } from './status.js';

describe('label selectors', () => {
  const labels = { app: 'backend', version: 'v1', tier: 'web' };

  it.each([
    ['', true],
    ['app=backend', true],
    ['app==backend', true],
    ['app!=backend', false],
    ['app!=frontend', true],
    ['missing!=x', true],
    ['version in (v1, v2)', true],
    ['version in (v2,v3)', false],
    ['version notin (v2,v3)', true],
    ['missing notin (a)', true],
    ['tier', true],
    ['missing', false],
    ['!missing', true],
    ['!tier', false],
    ['app=backend,version in (v1),!canary', true],
    ['app=backend,version=v2', false],
  ])('%s → %s', (sel, expected) => {
    expect(parseLabelSelector(sel)(labels)).toBe(expected);
  });

  it('rejects garbage with 400', () => {
    expect(() => parseLabelSelector('a b c')).toThrow(ApiStatusError);
  });

  it('renders a metav1.LabelSelector object', () => {
    expect(
      labelSelectorString({ matchLabels: { app: 'backend' }, matchExpressions: [{ key: 'version', operator: 'In', values: ['v1', 'v2'] }, { key: 'x', operator: 'DoesNotExist' }] }),
    ).toBe('app=backend,version in (v1,v2),!x');
  });
});

describe('field selectors', () => {
  const event = {
    metadata: { name: 'e1', namespace: 'ns' },
    involvedObject: { kind: 'Canary', name: 'backend', namespace: 'ns', uid: 'u-1' },
    reason: 'Progressing',
    type: 'Normal',
    source: { component: 'routeshift' },
  };

  it('matches metadata and event fields kubectl describe uses', () => {
    expect(parseFieldSelector('involvedObject.name=backend,involvedObject.namespace=ns,involvedObject.kind=Canary,involvedObject.uid=u-1', 'Event')(event)).toBe(true);
    expect(parseFieldSelector('involvedObject.uid=u-2', 'Event')(event)).toBe(false);
    expect(parseFieldSelector('reason=Progressing,type!=Warning', 'Event')(event)).toBe(true);
    expect(parseFieldSelector('source=routeshift', 'Event')(event)).toBe(true);
    expect(parseFieldSelector('metadata.name==e1', 'Event')(event)).toBe(true);
    expect(parseFieldSelector('metadata.namespace!=ns', 'Event')(event)).toBe(false);
  });

  it('refuses field labels the kind does not support (400), as the real server does', () => {
    let err: unknown;
    try {
      parseFieldSelector('spec.foo=bar', 'Canary');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiStatusError);
    expect((err as ApiStatusError).status).toBe(400);
    expect((err as ApiStatusError).message).toBe('"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"');
  });
});
